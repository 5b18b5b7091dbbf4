// Metric inputs: arrays, typed arrays or Tensors (anything with dataSync()), flattened to numbers.

export type MetricInput = ArrayLike<number | bigint | boolean> | { dataSync(): ArrayLike<number | bigint> } | number[];

export function numbers(x: unknown, what: string): number[] {
  if (x === null || x === undefined) throw new TypeError(`${what} is missing`);
  if (typeof (x as { dataSync?: unknown }).dataSync === "function") {
    return Array.from((x as { dataSync(): ArrayLike<number | bigint> }).dataSync(), Number);
  }
  if (Array.isArray(x) || ArrayBuffer.isView(x)) {
    const out = Array.from(x as ArrayLike<unknown>, (v) => (typeof v === "boolean" ? Number(v) : Number(v)));
    out.forEach((v, i) => {
      if (Number.isNaN(v)) throw new TypeError(`${what}[${i}] is not a number`);
    });
    return out;
  }
  throw new TypeError(`${what} must be an array, a typed array or a Tensor, got ${typeof x}`);
}

export function pair(predictions: unknown, references: unknown): [number[], number[]] {
  const p = numbers(predictions, "predictions");
  const r = numbers(references, "references");
  if (p.length !== r.length) throw new RangeError(`Mismatch in the number of predictions (${p.length}) and references (${r.length})`);
  return [p, r];
}
