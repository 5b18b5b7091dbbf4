// Explicit tensor lifetimes, as TF.js `tidy` and TorchSharp dispose scopes do it. JavaScript's GC
// does not see native memory, so each step of a training loop runs in a scope that frees every
// tensor made inside it except what the step returns.
import { native, type Handle } from "./native.js";

export interface Disposable {
  dispose(): void;
  readonly isDisposed: boolean;
  /** The scope that will dispose this tensor, or null when none does (then the GC safety net watches it). */
  _scope: Scope | null;
  _handleForRegistry(): Handle;
  /** Gives up the native handle without freeing it (the scope frees many at once). */
  _releaseHandle?(): Handle | null;
}

type Scope = Disposable[];

let live = 0;
const scopes: Scope[] = [];

// The safety net for tensors that no scope owns: one garbage-collected undisposed has its handle
// released here. Tensors inside a scope are not registered (the scope frees them), which keeps
// an op's bookkeeping cheap.
const registry = new FinalizationRegistry<Handle>((h) => {
  live--;
  native.dispose(h);
});

function watch(t: Disposable): void {
  registry.register(t, t._handleForRegistry(), t);
}

export function track(t: Disposable): void {
  live++;
  const top = scopes[scopes.length - 1];
  if (top) {
    t._scope = top;
    top.push(t);
  } else {
    t._scope = null;
    watch(t);
  }
}

export function untrack(t: Disposable): void {
  live--;
  if (t._scope === null) registry.unregister(t);
  t._scope = null;
}

/** The number of tensors alive (made and neither disposed nor collected). Tests use it to prove no leak. */
export function liveTensors(): number {
  return live;
}

/** Takes a tensor out of its scope, so that leaving scopes does not dispose it; the caller owns it. */
export function keep<T extends Disposable>(t: T): T {
  if (t._scope !== null && !t.isDisposed) {
    t._scope = null;
    watch(t);
  }
  return t;
}

function collect(value: unknown, into: Set<Disposable>, depth = 0): void {
  if (value === null || typeof value !== "object" || depth > 4) return;
  if (isDisposable(value)) {
    into.add(value);
    return;
  }
  const items = Array.isArray(value) ? value : value instanceof Map ? [...value.values()] : Object.values(value);
  for (const v of items) collect(v, into, depth + 1);
}

function isDisposable(v: object): v is Disposable {
  return typeof (v as Disposable).dispose === "function" && "isDisposed" in v;
}

function close(scope: Scope, kept: Set<Disposable> | null): void {
  const parent = scopes[scopes.length - 1] ?? null;
  const freed: Handle[] = [];
  for (const t of scope) {
    if (t._scope !== scope || t.isDisposed) continue;
    if (kept?.has(t)) {
      t._scope = parent;
      if (parent) parent.push(t);
      else watch(t);
    } else {
      const h = t._releaseHandle?.();
      if (h) freed.push(h);
      else t.dispose();
    }
  }
  // One call frees the scope's tensors (a layer's scope holds dozens).
  if (freed.length) native.disposeMany(freed);
}

/**
 * Runs fn and disposes every tensor created during it, except the tensors in what fn returns
 * (a tensor, or arrays/objects/Maps holding tensors), which pass to the enclosing scope.
 * fn must be synchronous: an async fn would leave the scope before its tensors are made.
 */
export function tidy<T>(fn: () => T): T {
  const scope: Scope = [];
  scopes.push(scope);
  let result: T;
  try {
    result = fn();
  } catch (e) {
    scopes.pop();
    close(scope, null);
    throw e;
  }
  scopes.pop();
  if (result instanceof Promise) {
    close(scope, null);
    throw new TypeError("tidy(fn): fn returned a Promise; tidy scopes are synchronous (await outside, tidy each step inside)");
  }
  let kept: Set<Disposable> | null = null;
  if (result !== null && typeof result === "object") {
    kept = new Set();
    collect(result, kept);
  }
  close(scope, kept);
  return result;
}

/** Disposes every tensor in a value (a tensor, or arrays/objects holding tensors). */
export function dispose(value: unknown): void {
  const found = new Set<Disposable>();
  collect(value, found);
  for (const t of found) t.dispose();
}
