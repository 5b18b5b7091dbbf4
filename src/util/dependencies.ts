// What a dataset transform's function uses that its source does not show: a tokenizer's
// vocabulary and settings, say. Objects that know their own content record a key when they are
// called inside a recording (map() records while it runs), and the keys join the cache fingerprint,
// so a map that calls another tokenizer is never served the first one's cached result.
import { AsyncLocalStorage } from "node:async_hooks";

const current = new AsyncLocalStorage<Set<string>>();

/** Called by a dependency when it is used: adds `key` to the recording in progress, if any. */
export function recordDependency(key: string): void {
  current.getStore()?.add(key);
}

/** Runs fn (sync or async) recording into `keys` the dependencies it calls, across its awaits. */
export function recordDependencies<T>(keys: Set<string>, fn: () => T): T {
  return current.run(keys, fn);
}
