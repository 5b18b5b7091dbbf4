// A base whose instances are functions, so that they can be called like Python objects with
// __call__: `tokenizer(text)`, `collator(features)`. A derived class's fields land on the function
// super() returns; calling it runs the instance's __call__.
export abstract class Callable {
  constructor() {
    const fn = function (...args: unknown[]): unknown {
      return (fn as unknown as Callable).__call__(...args);
    };
    // A function's own `name` and `length` would hide getters of those names on the prototype.
    delete (fn as { name?: string }).name;
    delete (fn as { length?: number }).length;
    Object.setPrototypeOf(fn, new.target.prototype);
    return fn as unknown as Callable;
  }

  protected abstract __call__(...args: unknown[]): unknown;
}
