// Explicit tensor lifetimes, as TF.js `tidy` and TorchSharp dispose scopes do it. JavaScript's GC
// does not see native memory, so each step of a training loop runs in a scope that frees every
// tensor made inside it except what the step returns.

import { native, type Handle } from "./native.js";

export interface Disposable {
  dispose(): void;
  readonly isDisposed: boolean;
}

let live = 0;
const scopes: Set<Disposable>[] = [];

// The safety net: a tensor garbage-collected undisposed has its handle released here.
const registry = new FinalizationRegistry<Handle>((h) => {
  live--;
  native.dispose(h);
});

export function track(t: Disposable, h: Handle): void {
  live++;
  registry.register(t, h, t);
  const top = scopes[scopes.length - 1];
  if (top) top.add(t);
}

export function untrack(t: Disposable): void {
  live--;
  registry.unregister(t);
  const top = scopes[scopes.length - 1];
  if (top) top.delete(t);
}

/** The number of tensors alive (made and neither disposed nor collected). Tests use it to prove no leak. */
export function liveTensors(): number {
  return live;
}

/** Removes a tensor from every open scope, so that leaving them does not dispose it. */
export function keep<T extends Disposable>(t: T): T {
  for (const s of scopes) s.delete(t);
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

/**
 * Runs fn and disposes every tensor created during it, except the tensors in what fn returns
 * (a tensor, or arrays/objects/Maps holding tensors), which pass to the enclosing scope.
 * fn must be synchronous: an async fn would leave the scope before its tensors are made.
 */
export function tidy<T>(fn: () => T): T {
  const scope = new Set<Disposable>();
  scopes.push(scope);
  let result: T;
  try {
    result = fn();
  } catch (e) {
    scopes.pop();
    for (const t of scope) t.dispose();
    throw e;
  }
  scopes.pop();
  if (result instanceof Promise) {
    for (const t of scope) t.dispose();
    throw new TypeError("tidy(fn): fn returned a Promise; tidy scopes are synchronous (await outside, tidy each step inside)");
  }
  const kept = new Set<Disposable>();
  collect(result, kept);
  const parent = scopes[scopes.length - 1];
  for (const t of scope) {
    if (kept.has(t)) parent?.add(t);
    else t.dispose();
  }
  return result;
}

/** Disposes every tensor in a value (a tensor, or arrays/objects holding tensors). */
export function dispose(value: unknown): void {
  const found = new Set<Disposable>();
  collect(value, found);
  for (const t of found) t.dispose();
}
