// Tensor: a JS object owning one libtorch tensor handle. Math and autograd are libtorch's; this
// class checks arguments, names PyTorch's methods in camelCase and manages the handle's lifetime.
import { native, op1, op2, opInplace, type Handle } from "./native.js";
import { dtypeCode, dtypeName, normalizeDType, rawArray, type DType } from "./dtype.js";
import { track, untrack, type Disposable } from "./scope.js";

export type Scalar = number | boolean;
export type TensorOrScalar = Tensor | Scalar;
export type NestedArray = number | boolean | NestedArray[];

const DEVICE_RE = /^(cpu|cuda(:\d+)?|mps(:\d+)?)$/;

export function checkDevice(device: string, what = "device"): string {
  if (typeof device !== "string" || !DEVICE_RE.test(device)) {
    throw new TypeError(`${what}: expected "cpu", "cuda", "cuda:N" or "mps", got ${JSON.stringify(device)}`);
  }
  return device;
}

function h(x: TensorOrScalar): Handle | Scalar {
  return x instanceof Tensor ? x.handle : x;
}

function checkDim(dim: number, what = "dim"): number {
  if (!Number.isInteger(dim)) throw new TypeError(`${what}: expected an integer, got ${dim}`);
  return dim;
}

function dims(d: number | number[] | undefined | null): number[] | null {
  if (d === undefined || d === null) return null;
  return Array.isArray(d) ? d : [d];
}

export class Tensor {
  #h: Handle | null;
  #shape: number[] | undefined;
  #dtype: DType | undefined;
  /** @internal the scope that owns this tensor (see scope.ts). */
  _scope: Disposable[] | null = null;

  /** Wraps a handle from the addon; the Tensor owns it from now on. Not for users: use the factories. */
  constructor(handle: Handle) {
    this.#h = handle;
    track(this);
  }

  /** @internal */
  _handleForRegistry(): Handle {
    return this.handle;
  }

  get handle(): Handle {
    if (this.#h === null) throw new Error("this tensor was disposed");
    return this.#h;
  }

  get isDisposed(): boolean {
    return this.#h === null;
  }

  /** Frees the native tensor now (other tensors sharing its storage keep it alive). Idempotent. */
  dispose(): void {
    if (this.#h === null) return;
    native.dispose(this.#h);
    this.#h = null;
    untrack(this);
  }

  [Symbol.dispose](): void {
    this.dispose();
  }

  /** @internal Gives up the handle without freeing it, for a scope that frees many in one call. */
  _releaseHandle(): Handle | null {
    const h = this.#h;
    if (h === null) return null;
    this.#h = null;
    untrack(this);
    return h;
  }

  // ---- metadata ----
  get shape(): number[] {
    this.#shape ??= native.shape(this.handle);
    return this.#shape.slice();
  }
  get ndim(): number {
    this.#shape ??= native.shape(this.handle);
    return this.#shape.length;
  }
  size(dim?: number): number | number[] {
    if (dim === undefined) return this.shape;
    const s = this.shape;
    const d = dim < 0 ? dim + s.length : dim;
    if (d < 0 || d >= s.length) throw new RangeError(`size(dim): dim ${dim} out of range for a ${s.length}-d tensor`);
    return s[d];
  }
  get dtype(): DType {
    this.#dtype ??= dtypeName(native.dtype(this.handle));
    return this.#dtype;
  }
  get device(): string {
    return native.device(this.handle);
  }
  numel(): number {
    return native.numel(this.handle);
  }
  isContiguous(): boolean {
    return native.isContiguous(this.handle);
  }
  stride(): number[] {
    return native.strides(this.handle);
  }
  toString(): string {
    return `Tensor(shape=[${this.shape.join(", ")}], dtype=${this.dtype}, device=${this.device}${this.requiresGrad ? ", requiresGrad" : ""})`;
  }

  // ---- moves and readback ----
  /** `.to("cuda")`, `.to("float16")`, `.to({ device, dtype, copy })`: returns a new Tensor (sharing storage when nothing changes). */
  to(target: string | { device?: string; dtype?: DType | string; copy?: boolean }): Tensor {
    let device: string | undefined;
    let dtype: DType | undefined;
    let copy = false;
    if (typeof target === "string") {
      if (DEVICE_RE.test(target)) device = target;
      else dtype = normalizeDType(target, "to()");
    } else {
      if (target.device !== undefined) device = checkDevice(target.device, "to({device})");
      if (target.dtype !== undefined) dtype = normalizeDType(target.dtype, "to({dtype})");
      copy = target.copy ?? false;
    }
    return new Tensor(native.to(this.handle, device, dtype === undefined ? undefined : dtypeCode(dtype), copy));
  }
  cpu(): Tensor {
    return this.to("cpu");
  }
  cuda(index = 0): Tensor {
    return this.to(`cuda:${index}`);
  }
  float(): Tensor {
    return this.to("float32");
  }
  half(): Tensor {
    return this.to("float16");
  }
  bfloat16(): Tensor {
    return this.to("bfloat16");
  }
  long(): Tensor {
    return this.to("int64");
  }
  int(): Tensor {
    return this.to("int32");
  }
  bool(): Tensor {
    return this.to("bool");
  }
  double(): Tensor {
    return this.to("float64");
  }
  clone(): Tensor {
    return new Tensor(native.clone(this.handle));
  }
  contiguous(): Tensor {
    return new Tensor(native.contiguous(this.handle));
  }

  /**
   * The elements in a typed array of the dtype's JS type: Float32Array, Float64Array, Int32Array,
   * BigInt64Array (int64), Uint8Array (uint8, bool), …; float16 and bfloat16 come back as Float32Array.
   */
  dataSync(): Float32Array | Float64Array | Int32Array | Int16Array | Int8Array | Uint8Array | BigInt64Array {
    if (this.dtype === "float16" || this.dtype === "bfloat16") {
      const f = this.to("float32");
      try {
        return f.dataSync();
      } finally {
        f.dispose();
      }
    }
    return rawArray(this.dtype, native.toBytes(this.handle)) as ReturnType<Tensor["dataSync"]>;
  }

  /** The raw bytes of the elements (C order), as safetensors stores them. */
  bytes(): Uint8Array {
    return new Uint8Array(native.toBytes(this.handle));
  }

  /** Nested JS arrays of numbers (booleans for bool tensors), like `tensor.tolist()`. */
  toArray(): NestedArray {
    const flat = this.dataSync();
    const isBool = this.dtype === "bool";
    const values: (number | boolean)[] = Array.from(flat as ArrayLike<number | bigint>, (v) =>
      isBool ? v !== 0 : Number(v),
    );
    const shape = this.shape;
    if (shape.length === 0) return values[0];
    let pos = 0;
    const build = (d: number): NestedArray[] => {
      const out: NestedArray[] = [];
      for (let i = 0; i < shape[d]; i++) out.push(d === shape.length - 1 ? values[pos++] : build(d + 1));
      return out;
    };
    return build(0);
  }

  /** The value of a one-element tensor. */
  item(): number {
    if (this.numel() !== 1) throw new Error(`item(): the tensor has ${this.numel()} elements, not 1`);
    return Number(native.item(this.handle));
  }

  // ---- autograd ----
  get requiresGrad(): boolean {
    return native.requiresGrad(this.handle);
  }
  set requiresGrad(v: boolean) {
    native.setRequiresGrad(this.handle, v);
  }
  requiresGrad_(v = true): this {
    native.setRequiresGrad(this.handle, v);
    return this;
  }
  /** The accumulated gradient, as a new Tensor sharing its storage (dispose it when done), or null. */
  get grad(): Tensor | null {
    const g = native.grad(this.handle);
    return g === null ? null : new Tensor(g);
  }
  set grad(g: Tensor | null) {
    native.setGrad(this.handle, g === null ? null : g.handle);
  }
  get isLeaf(): boolean {
    return native.isLeaf(this.handle);
  }
  retainGrad(): this {
    native.retainGrad(this.handle);
    return this;
  }
  backward(gradient?: Tensor, opts: { retainGraph?: boolean } = {}): void {
    native.backward(this.handle, gradient?.handle, opts.retainGraph ?? false);
  }
  /** Replaces this tensor's data with src's (PyTorch's `param.data = src`), keeping its identity and grad flag. */
  setData(src: Tensor): this {
    native.setData(this.handle, src.handle);
    this.#shape = undefined;
    this.#dtype = undefined;
    return this;
  }
  detach(): Tensor {
    return new Tensor(native.detach(this.handle));
  }

  // ---- elementwise ----
  neg(): Tensor { return new Tensor(op1("neg", this.handle)); }
  abs(): Tensor { return new Tensor(op1("abs", this.handle)); }
  exp(): Tensor { return new Tensor(op1("exp", this.handle)); }
  log(): Tensor { return new Tensor(op1("log", this.handle)); }
  log1p(): Tensor { return new Tensor(op1("log1p", this.handle)); }
  expm1(): Tensor { return new Tensor(op1("expm1", this.handle)); }
  sqrt(): Tensor { return new Tensor(op1("sqrt", this.handle)); }
  rsqrt(): Tensor { return new Tensor(op1("rsqrt", this.handle)); }
  tanh(): Tensor { return new Tensor(op1("tanh", this.handle)); }
  sigmoid(): Tensor { return new Tensor(op1("sigmoid", this.handle)); }
  relu(): Tensor { return new Tensor(op1("relu", this.handle)); }
  erf(): Tensor { return new Tensor(op1("erf", this.handle)); }
  sin(): Tensor { return new Tensor(op1("sin", this.handle)); }
  cos(): Tensor { return new Tensor(op1("cos", this.handle)); }
  floor(): Tensor { return new Tensor(op1("floor", this.handle)); }
  ceil(): Tensor { return new Tensor(op1("ceil", this.handle)); }
  round(): Tensor { return new Tensor(op1("round", this.handle)); }
  sign(): Tensor { return new Tensor(op1("sign", this.handle)); }
  reciprocal(): Tensor { return new Tensor(op1("reciprocal", this.handle)); }
  square(): Tensor { return new Tensor(op1("square", this.handle)); }
  logicalNot(): Tensor { return new Tensor(op1("logicalNot", this.handle)); }
  isnan(): Tensor { return new Tensor(op1("isnan", this.handle)); }
  isinf(): Tensor { return new Tensor(op1("isinf", this.handle)); }
  isfinite(): Tensor { return new Tensor(op1("isfinite", this.handle)); }

  add(other: TensorOrScalar, alpha?: number): Tensor { return new Tensor(native.add(this.handle, h(other), alpha)); }
  sub(other: TensorOrScalar, alpha?: number): Tensor { return new Tensor(native.sub(this.handle, h(other), alpha)); }
  mul(other: TensorOrScalar): Tensor { return new Tensor(op2("mul", this.handle, h(other))); }
  div(other: TensorOrScalar): Tensor { return new Tensor(op2("div", this.handle, h(other))); }
  pow(exponent: TensorOrScalar): Tensor { return new Tensor(op2("pow", this.handle, h(exponent))); }
  /** `base ** this`. */
  rpow(base: number): Tensor { return new Tensor(op2("rpow", this.handle, base)); }
  remainder(other: TensorOrScalar): Tensor { return new Tensor(op2("remainder", this.handle, h(other))); }
  fmod(other: TensorOrScalar): Tensor { return new Tensor(op2("fmod", this.handle, h(other))); }
  eq(other: TensorOrScalar): Tensor { return new Tensor(op2("eq", this.handle, h(other))); }
  ne(other: TensorOrScalar): Tensor { return new Tensor(op2("ne", this.handle, h(other))); }
  lt(other: TensorOrScalar): Tensor { return new Tensor(op2("lt", this.handle, h(other))); }
  le(other: TensorOrScalar): Tensor { return new Tensor(op2("le", this.handle, h(other))); }
  gt(other: TensorOrScalar): Tensor { return new Tensor(op2("gt", this.handle, h(other))); }
  ge(other: TensorOrScalar): Tensor { return new Tensor(op2("ge", this.handle, h(other))); }
  maximum(other: Tensor): Tensor { return new Tensor(op2("maximum", this.handle, other.handle)); }
  minimum(other: Tensor): Tensor { return new Tensor(op2("minimum", this.handle, other.handle)); }
  logicalAnd(other: Tensor): Tensor { return new Tensor(op2("logicalAnd", this.handle, other.handle)); }
  logicalOr(other: Tensor): Tensor { return new Tensor(op2("logicalOr", this.handle, other.handle)); }
  maskedFill(mask: Tensor, value: TensorOrScalar): Tensor {
    return new Tensor(native.maskedFill(this.handle, mask.handle, h(value)));
  }
  clamp(min?: number | null, max?: number | null): Tensor {
    if ((min === undefined || min === null) && (max === undefined || max === null)) {
      throw new TypeError("clamp(min, max): at least one of min and max is needed");
    }
    return new Tensor(native.clamp(this.handle, min, max));
  }
  lerp(end: Tensor, weight: TensorOrScalar): Tensor { return new Tensor(native.lerp(this.handle, end.handle, h(weight))); }
  equal(other: Tensor): boolean { return native.equal(this.handle, other.handle); }
  allclose(other: Tensor, rtol = 1e-5, atol = 1e-8): boolean { return native.allclose(this.handle, other.handle, rtol, atol); }

  // ---- views and indexing ----
  reshape(...shape: number[] | [number[]]): Tensor { return new Tensor(native.reshape(this.handle, flatShape(shape))); }
  view(...shape: number[] | [number[]]): Tensor { return new Tensor(native.view(this.handle, flatShape(shape))); }
  permute(...order: number[] | [number[]]): Tensor { return new Tensor(native.permute(this.handle, flatShape(order))); }
  transpose(dim0: number, dim1: number): Tensor { return new Tensor(native.transpose(this.handle, dim0, dim1)); }
  /** Matrix transpose of a 2-d tensor (torch's `.T`/`.t()`). */
  t(): Tensor {
    if (this.ndim !== 2) throw new Error(`t() expects a 2-d tensor, got ${this.ndim}-d`);
    return this.transpose(0, 1);
  }
  squeeze(dim?: number): Tensor { return new Tensor(native.squeeze(this.handle, dim)); }
  unsqueeze(dim: number): Tensor { return new Tensor(native.unsqueeze(this.handle, checkDim(dim))); }
  expand(...shape: number[] | [number[]]): Tensor { return new Tensor(native.expand(this.handle, flatShape(shape))); }
  expandAs(other: Tensor): Tensor { return this.expand(other.shape); }
  narrow(dim: number, start: number, length: number): Tensor { return new Tensor(native.narrow(this.handle, dim, start, length)); }
  select(dim: number, index: number): Tensor { return new Tensor(native.select(this.handle, dim, index)); }
  /** Python's `t[:, start:end:step]` along one dim (start/end may be negative or omitted). */
  slice(dim: number, start?: number | null, end?: number | null, step = 1): Tensor {
    return new Tensor(native.slice(this.handle, dim, start, end, step));
  }
  /** A view with explicit sizes, strides and storage offset (torch.as_strided). */
  asStrided(size: number[], stride: number[], storageOffset = 0): Tensor {
    return new Tensor(native.asStrided(this.handle, size, stride, storageOffset));
  }
  flatten(startDim = 0, endDim = -1): Tensor { return new Tensor(native.flatten(this.handle, startDim, endDim)); }
  indexSelect(dim: number, index: Tensor): Tensor { return new Tensor(native.indexSelect(this.handle, dim, index.handle)); }
  gather(dim: number, index: Tensor): Tensor { return new Tensor(native.gather(this.handle, dim, index.handle)); }
  scatter(dim: number, index: Tensor, src: TensorOrScalar): Tensor {
    return new Tensor(native.scatter(this.handle, dim, index.handle, h(src)));
  }
  scatterAdd(dim: number, index: Tensor, src: Tensor): Tensor {
    return new Tensor(native.scatterAdd(this.handle, dim, index.handle, src.handle));
  }
  split(sizeOrSizes: number | number[], dim = 0): Tensor[] {
    return native.split(this.handle, sizeOrSizes, dim).map((x) => new Tensor(x));
  }
  chunk(chunks: number, dim = 0): Tensor[] { return native.chunk(this.handle, chunks, dim).map((x) => new Tensor(x)); }
  tril(diagonal = 0): Tensor { return new Tensor(native.tril(this.handle, diagonal)); }
  triu(diagonal = 0): Tensor { return new Tensor(native.triu(this.handle, diagonal)); }
  repeat(...sizes: number[] | [number[]]): Tensor { return new Tensor(native.repeat(this.handle, flatShape(sizes))); }
  flip(dims: number[]): Tensor { return new Tensor(native.flip(this.handle, dims)); }
  maskedSelect(mask: Tensor): Tensor { return new Tensor(native.maskedSelect(this.handle, mask.handle)); }
  nonzero(): Tensor { return new Tensor(native.nonzero(this.handle)); }

  // ---- reductions ----
  sum(dim?: number | number[] | null, keepdim = false, dtype?: DType): Tensor {
    return new Tensor(native.sum(this.handle, dims(dim), keepdim, dtype === undefined ? null : dtypeCode(dtype)));
  }
  mean(dim?: number | number[] | null, keepdim = false, dtype?: DType): Tensor {
    return new Tensor(native.mean(this.handle, dims(dim), keepdim, dtype === undefined ? null : dtypeCode(dtype)));
  }
  prod(dim?: number, keepdim = false): Tensor { return new Tensor(native.prod(this.handle, dim, keepdim)); }
  all(dim?: number, keepdim = false): Tensor { return new Tensor(native.all(this.handle, dim, keepdim)); }
  any(dim?: number, keepdim = false): Tensor { return new Tensor(native.any(this.handle, dim, keepdim)); }
  /** The largest element, or with a dim `{ values, indices }` as torch.max(t, dim). */
  max(): Tensor;
  max(dim: number, keepdim?: boolean): { values: Tensor; indices: Tensor };
  max(dim?: number, keepdim = false): Tensor | { values: Tensor; indices: Tensor } {
    return minmax(native.max(this.handle, dim, keepdim));
  }
  min(): Tensor;
  min(dim: number, keepdim?: boolean): { values: Tensor; indices: Tensor };
  min(dim?: number, keepdim = false): Tensor | { values: Tensor; indices: Tensor } {
    return minmax(native.min(this.handle, dim, keepdim));
  }
  argmax(dim?: number, keepdim = false): Tensor { return new Tensor(native.argmax(this.handle, dim, keepdim)); }
  argmin(dim?: number, keepdim = false): Tensor { return new Tensor(native.argmin(this.handle, dim, keepdim)); }
  /** The p-norm over all elements or the given dims (torch.linalg.vector_norm). */
  norm(p = 2, dim?: number | number[] | null, keepdim = false): Tensor {
    return new Tensor(native.norm(this.handle, p, dims(dim), keepdim));
  }
  var(dim?: number | number[] | null, opts: { unbiased?: boolean; keepdim?: boolean } = {}): Tensor {
    return new Tensor(native.var(this.handle, dims(dim), opts.unbiased ?? true, opts.keepdim ?? false));
  }
  std(dim?: number | number[] | null, opts: { unbiased?: boolean; keepdim?: boolean } = {}): Tensor {
    return new Tensor(native.std(this.handle, dims(dim), opts.unbiased ?? true, opts.keepdim ?? false));
  }
  logsumexp(dim: number | number[], keepdim = false): Tensor { return new Tensor(native.logsumexp(this.handle, dims(dim)!, keepdim)); }
  cumsum(dim: number): Tensor { return new Tensor(native.cumsum(this.handle, dim)); }
  sort(dim = -1, descending = false): { values: Tensor; indices: Tensor } {
    const [v, i] = native.sort(this.handle, dim, descending);
    return { values: new Tensor(v), indices: new Tensor(i) };
  }
  topk(k: number, dim = -1, largest = true): { values: Tensor; indices: Tensor } {
    const [v, i] = native.topk(this.handle, k, dim, largest);
    return { values: new Tensor(v), indices: new Tensor(i) };
  }

  // ---- products and nn ----
  matmul(other: Tensor): Tensor { return new Tensor(op2("matmul", this.handle, other.handle)); }
  mm(other: Tensor): Tensor { return new Tensor(op2("mm", this.handle, other.handle)); }
  bmm(other: Tensor): Tensor { return new Tensor(op2("bmm", this.handle, other.handle)); }
  softmax(dim: number, dtype?: DType): Tensor {
    return new Tensor(native.softmax(this.handle, dim, dtype === undefined ? null : dtypeCode(dtype)));
  }
  logSoftmax(dim: number, dtype?: DType): Tensor {
    return new Tensor(native.logSoftmax(this.handle, dim, dtype === undefined ? null : dtypeCode(dtype)));
  }

  // ---- in place (what optimizers and initialisers need); each returns this ----
  add_(other: TensorOrScalar, alpha?: number): this { native.add_(this.handle, h(other), alpha); return this; }
  sub_(other: TensorOrScalar, alpha?: number): this { native.sub_(this.handle, h(other), alpha); return this; }
  mul_(other: TensorOrScalar): this { opInplace("mul_", this.handle, h(other)); return this; }
  div_(other: TensorOrScalar): this { opInplace("div_", this.handle, h(other)); return this; }
  pow_(other: TensorOrScalar): this { opInplace("pow_", this.handle, h(other)); return this; }
  fill_(value: TensorOrScalar): this { opInplace("fill_", this.handle, h(value)); return this; }
  zero_(): this { opInplace("zero_", this.handle); return this; }
  sqrt_(): this { opInplace("sqrt_", this.handle); return this; }
  neg_(): this { opInplace("neg_", this.handle); return this; }
  relu_(): this { opInplace("relu_", this.handle); return this; }
  copy_(src: Tensor): this { native.copy_(this.handle, src.handle); return this; }
  addcmul_(t1: Tensor, t2: Tensor, value = 1): this { native.addcmul_(this.handle, t1.handle, t2.handle, value); return this; }
  addcdiv_(t1: Tensor, t2: Tensor, value = 1): this { native.addcdiv_(this.handle, t1.handle, t2.handle, value); return this; }
  lerp_(end: Tensor, weight: TensorOrScalar): this { native.lerp_(this.handle, end.handle, h(weight)); return this; }
  clamp_(min?: number | null, max?: number | null): this { native.clamp_(this.handle, min, max); return this; }
  maskedFill_(mask: Tensor, value: Scalar): this { native.maskedFill_(this.handle, mask.handle, value); return this; }
  normal_(mean = 0, std = 1): this { native.normal_(this.handle, mean, std); return this; }
  uniform_(from = 0, to = 1): this { native.uniform_(this.handle, from, to); return this; }
}

function flatShape(args: number[] | [number[]]): number[] {
  const shape = args.length === 1 && Array.isArray(args[0]) ? (args[0] as number[]) : (args as number[]);
  for (const s of shape) {
    if (!Number.isInteger(s)) throw new TypeError(`shape: expected integers, got [${shape.join(", ")}]`);
  }
  return shape;
}

function minmax(r: Handle | [Handle, Handle]): Tensor | { values: Tensor; indices: Tensor } {
  if (Array.isArray(r)) return { values: new Tensor(r[0]), indices: new Tensor(r[1]) };
  return new Tensor(r);
}
