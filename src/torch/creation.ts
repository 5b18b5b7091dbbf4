// Factories: tensor(), zeros(), randn(), … with PyTorch's defaults (float32, CPU).
import { native } from "./native.js";
import { dtypeCode, normalizeDType, type DType } from "./dtype.js";
import { Tensor, checkDevice, type NestedArray } from "./tensor.js";

export interface TensorOptions {
  dtype?: DType | string;
  device?: string;
  requiresGrad?: boolean;
}

type Shape = number[];

function opts(o: TensorOptions | undefined, what: string): [number | null, string | null] {
  const dtype = o?.dtype === undefined ? null : dtypeCode(normalizeDType(o.dtype, `${what}: dtype`));
  const device = o?.device === undefined ? null : checkDevice(o.device, `${what}: device`);
  return [dtype, device];
}

function checkShape(shape: Shape, what: string): Shape {
  if (!Array.isArray(shape) || shape.some((s) => !Number.isInteger(s) || s < 0)) {
    throw new TypeError(`${what}: shape must be an array of non-negative integers, got ${JSON.stringify(shape)}`);
  }
  return shape;
}

function finish(t: Tensor, o: TensorOptions | undefined): Tensor {
  if (o?.requiresGrad) t.requiresGrad_(true);
  return t;
}

type Typed = Float32Array | Float64Array | Int32Array | Int16Array | Int8Array | Uint8Array | BigInt64Array;

function typedDType(a: ArrayBufferView): DType {
  if (a instanceof Float32Array) return "float32";
  if (a instanceof Float64Array) return "float64";
  if (a instanceof Int32Array) return "int32";
  if (a instanceof Int16Array) return "int16";
  if (a instanceof Int8Array) return "int8";
  if (a instanceof Uint8Array) return "uint8";
  if (a instanceof BigInt64Array) return "int64";
  throw new TypeError(`tensor(): unsupported typed array ${a.constructor.name}`);
}

function inferShape(data: NestedArray): Shape {
  const shape: Shape = [];
  let cur: NestedArray = data;
  while (Array.isArray(cur)) {
    shape.push(cur.length);
    if (cur.length === 0) break;
    cur = cur[0];
  }
  return shape;
}

function flatten(data: NestedArray, shape: Shape, depth: number, out: (number | boolean)[]): void {
  if (depth === shape.length) {
    if (Array.isArray(data)) throw new TypeError("tensor(): ragged nested array (sub-arrays of different depths)");
    if (typeof data !== "number" && typeof data !== "boolean") {
      throw new TypeError(`tensor(): expected numbers or booleans, got ${typeof data}`);
    }
    out.push(data);
    return;
  }
  if (!Array.isArray(data) || data.length !== shape[depth]) {
    throw new TypeError(`tensor(): ragged nested array: expected length ${shape[depth]} at depth ${depth}`);
  }
  for (const x of data) flatten(x, shape, depth + 1, out);
}

/**
 * torch.tensor: from a number, a boolean, nested arrays, or a typed array (its dtype is kept;
 * `shape` reshapes it). Nested integers give int64, other numbers float32, booleans bool.
 */
export function tensor(data: NestedArray | Typed, o: TensorOptions & { shape?: Shape } = {}): Tensor {
  let t: Tensor;
  if (ArrayBuffer.isView(data)) {
    const natural = typedDType(data);
    const shape = o.shape ? checkShape(o.shape, "tensor()") : [data.length];
    t = new Tensor(native.fromBytes(data, shape, dtypeCode(natural)));
  } else {
    const shape = inferShape(data);
    const flat: (number | boolean)[] = [];
    flatten(data, shape, 0, flat);
    let natural: DType;
    let arr: Typed;
    if (flat.length > 0 && flat.every((v) => typeof v === "boolean")) {
      natural = "bool";
      arr = Uint8Array.from(flat, (v) => (v ? 1 : 0));
    } else if (flat.some((v) => typeof v === "boolean")) {
      throw new TypeError("tensor(): mixes booleans and numbers");
    } else if (flat.length > 0 && flat.every((v) => Number.isInteger(v))) {
      natural = "int64";
      arr = BigInt64Array.from(flat as number[], (v) => BigInt(v));
    } else {
      // Read as float64 so that `dtype: "float64"` keeps every digit; the default dtype is float32.
      natural = "float64";
      arr = Float64Array.from(flat as number[]);
    }
    t = new Tensor(native.fromBytes(arr, o.shape ? checkShape(o.shape, "tensor()") : shape, dtypeCode(natural)));
    if (natural === "float64" && o.dtype === undefined) o = { ...o, dtype: "float32" };
  }
  const [dtype, device] = opts(o, "tensor()");
  if (dtype !== null || device !== null) {
    const moved = t.to({ dtype: o.dtype, device: o.device ?? undefined });
    if (moved !== t) t.dispose();
    t = moved;
  }
  return finish(t, o);
}

/** A CPU tensor of `dtype` and `shape` holding a copy of raw little-endian bytes (as in a checkpoint file). */
export function fromBytes(bytes: Uint8Array, shape: Shape, dtype: DType): Tensor {
  return new Tensor(native.fromBytes(bytes, checkShape(shape, "fromBytes()"), dtypeCode(dtype)));
}

export function empty(shape: Shape, o?: TensorOptions): Tensor {
  return finish(new Tensor(native.empty(checkShape(shape, "empty()"), ...opts(o, "empty()"))), o);
}
export function zeros(shape: Shape, o?: TensorOptions): Tensor {
  return finish(new Tensor(native.zeros(checkShape(shape, "zeros()"), ...opts(o, "zeros()"))), o);
}
export function ones(shape: Shape, o?: TensorOptions): Tensor {
  return finish(new Tensor(native.ones(checkShape(shape, "ones()"), ...opts(o, "ones()"))), o);
}
export function full(shape: Shape, value: number | boolean, o?: TensorOptions): Tensor {
  return finish(new Tensor(native.full(checkShape(shape, "full()"), value, ...opts(o, "full()"))), o);
}
/** torch.arange(end) or torch.arange(start, end, step); integer arguments give int64 as in Python. */
export function arange(startOrEnd: number, end?: number, step = 1, o?: TensorOptions): Tensor {
  const [s, e] = end === undefined ? [0, startOrEnd] : [startOrEnd, end];
  if (step === 0) throw new RangeError("arange(): step must be nonzero");
  return finish(new Tensor(native.arange(s, e, step, ...opts(o, "arange()"))), o);
}
export function linspace(start: number, end: number, steps: number, o?: TensorOptions): Tensor {
  return finish(new Tensor(native.linspace(start, end, steps, ...opts(o, "linspace()"))), o);
}
export function eye(n: number, o?: TensorOptions): Tensor {
  return finish(new Tensor(native.eye(n, ...opts(o, "eye()"))), o);
}
export function randn(shape: Shape, o?: TensorOptions): Tensor {
  return finish(new Tensor(native.randn(checkShape(shape, "randn()"), ...opts(o, "randn()"))), o);
}
export function rand(shape: Shape, o?: TensorOptions): Tensor {
  return finish(new Tensor(native.rand(checkShape(shape, "rand()"), ...opts(o, "rand()"))), o);
}
/** Integers uniform in [low, high), int64 by default. */
export function randint(low: number, high: number, shape: Shape, o?: TensorOptions): Tensor {
  if (!(high > low)) throw new RangeError(`randint(): high (${high}) must be greater than low (${low})`);
  const [dtype, device] = opts(o, "randint()");
  return finish(new Tensor(native.randint(low, high, checkShape(shape, "randint()"), dtype ?? dtypeCode("int64"), device)), o);
}
export function randperm(n: number, o?: TensorOptions): Tensor {
  const [dtype, device] = opts(o, "randperm()");
  return finish(new Tensor(native.randperm(n, dtype ?? dtypeCode("int64"), device)), o);
}

function likeOpts(t: Tensor, o?: TensorOptions): TensorOptions {
  return { dtype: o?.dtype ?? t.dtype, device: o?.device ?? t.device, requiresGrad: o?.requiresGrad };
}
export const zerosLike = (t: Tensor, o?: TensorOptions): Tensor => zeros(t.shape, likeOpts(t, o));
export const onesLike = (t: Tensor, o?: TensorOptions): Tensor => ones(t.shape, likeOpts(t, o));
export const emptyLike = (t: Tensor, o?: TensorOptions): Tensor => empty(t.shape, likeOpts(t, o));
export const fullLike = (t: Tensor, value: number, o?: TensorOptions): Tensor => full(t.shape, value, likeOpts(t, o));
export const randnLike = (t: Tensor, o?: TensorOptions): Tensor => randn(t.shape, likeOpts(t, o));
export const randLike = (t: Tensor, o?: TensorOptions): Tensor => rand(t.shape, likeOpts(t, o));
