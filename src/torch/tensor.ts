// Tensor: a JS object owning one libtorch tensor handle. Math and autograd are libtorch's; this
// class checks arguments, names PyTorch's methods in camelCase and manages the handle's lifetime.
import { native, type Handle } from "./native.js";
import { TensorOps } from "./ops_gen.js";
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

function checkDim(dim: number, what = "dim"): number {
  if (!Number.isInteger(dim)) throw new TypeError(`${what}: expected an integer, got ${dim}`);
  return dim;
}

function dims(d: number | number[] | undefined | null): number[] | null {
  if (d === undefined || d === null) return null;
  return Array.isArray(d) ? d : [d];
}

/**
 * The ops of native/ops.yaml arrive as generated methods of TensorOps (neg, add, matmul, mul_, …);
 * this class adds what needs more than the table: lifetime, metadata, moves, readback, autograd,
 * and the methods whose arguments take other shapes (varargs shapes, option objects, overloads).
 */
export class Tensor extends TensorOps<Tensor> {
  #h: Handle | null;
  #shape: number[] | undefined;
  #dtype: DType | undefined;
  /** @internal the scope that owns this tensor (see scope.ts). */
  _scope: Disposable[] | null = null;

  /** Wraps a handle from the addon; the Tensor owns it from now on. Not for users: use the factories. */
  constructor(handle: Handle) {
    super();
    this.#h = handle;
    track(this);
  }

  protected override _wrap(h: Handle): Tensor {
    return new Tensor(h);
  }

  /** @internal */
  _handleForRegistry(): Handle {
    return this.handle;
  }

  override get handle(): Handle {
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
  override toString(): string {
    return `Tensor(shape=[${this.shape.join(", ")}], dtype=${this.dtype}, device=${this.device}${this.requiresGrad ? ", requiresGrad" : ""})`;
  }

  // ---- moves and readback ----
  /**
   * `.to("cuda")`, `.to("float16")`, `.to({ device, dtype, copy, nonBlocking })`: returns a new Tensor
   * (sharing storage when nothing changes). nonBlocking, as torch's non_blocking: a copy from pinned
   * memory (pinMemory()) to a GPU is queued without the host waiting for it.
   */
  to(target: string | { device?: string; dtype?: DType | string; copy?: boolean; nonBlocking?: boolean }): Tensor {
    let device: string | undefined;
    let dtype: DType | undefined;
    let copy = false;
    let nonBlocking = false;
    if (typeof target === "string") {
      if (DEVICE_RE.test(target)) device = target;
      else dtype = normalizeDType(target, "to()");
    } else {
      if (target.device !== undefined) device = checkDevice(target.device, "to({device})");
      if (target.dtype !== undefined) dtype = normalizeDType(target.dtype, "to({dtype})");
      copy = target.copy ?? false;
      nonBlocking = target.nonBlocking ?? false;
    }
    return new Tensor(native.to(this.handle, device, dtype === undefined ? undefined : dtypeCode(dtype), copy, nonBlocking));
  }
  /** A copy in page-locked host memory (torch's pin_memory(); needs a libtorch with CUDA). */
  pinMemory(): Tensor {
    return new Tensor(native.pinMemory(this.handle));
  }
  isPinned(): boolean {
    return native.isPinned(this.handle);
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
    const values: (number | boolean)[] = Array.from(flat as ArrayLike<number | bigint>, (v) => (isBool ? v !== 0 : Number(v)));
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

  clamp(min?: number | null, max?: number | null): Tensor {
    if ((min === undefined || min === null) && (max === undefined || max === null)) {
      throw new TypeError("clamp(min, max): at least one of min and max is needed");
    }
    return new Tensor(native.clamp(this.handle, min, max));
  }

  // ---- views and indexing ----
  reshape(...shape: number[] | [number[]]): Tensor {
    return new Tensor(native.reshape(this.handle, flatShape(shape)));
  }
  view(...shape: number[] | [number[]]): Tensor {
    return new Tensor(native.view(this.handle, flatShape(shape)));
  }
  permute(...order: number[] | [number[]]): Tensor {
    return new Tensor(native.permute(this.handle, flatShape(order)));
  }
  /** Matrix transpose of a 2-d tensor (torch's `.T`/`.t()`). */
  t(): Tensor {
    if (this.ndim !== 2) throw new Error(`t() expects a 2-d tensor, got ${this.ndim}-d`);
    return this.transpose(0, 1);
  }
  unsqueeze(dim: number): Tensor {
    return new Tensor(native.unsqueeze(this.handle, checkDim(dim)));
  }
  expand(...shape: number[] | [number[]]): Tensor {
    return new Tensor(native.expand(this.handle, flatShape(shape)));
  }
  expandAs(other: Tensor): Tensor {
    return this.expand(other.shape);
  }
  split(sizeOrSizes: number | number[], dim = 0): Tensor[] {
    return native.split(this.handle, sizeOrSizes, dim).map((x) => new Tensor(x));
  }
  repeat(...sizes: number[] | [number[]]): Tensor {
    return new Tensor(native.repeat(this.handle, flatShape(sizes)));
  }

  // ---- reductions ----
  sum(dim?: number | number[] | null, keepdim = false, dtype?: DType): Tensor {
    return new Tensor(native.sum(this.handle, dims(dim), keepdim, dtype === undefined ? null : dtypeCode(dtype)));
  }
  mean(dim?: number | number[] | null, keepdim = false, dtype?: DType): Tensor {
    return new Tensor(native.mean(this.handle, dims(dim), keepdim, dtype === undefined ? null : dtypeCode(dtype)));
  }
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
  logsumexp(dim: number | number[], keepdim = false): Tensor {
    return new Tensor(native.logsumexp(this.handle, dims(dim)!, keepdim));
  }
  sort(dim = -1, descending = false): { values: Tensor; indices: Tensor } {
    const [v, i] = native.sort(this.handle, dim, descending);
    return { values: new Tensor(v), indices: new Tensor(i) };
  }
  topk(k: number, dim = -1, largest = true): { values: Tensor; indices: Tensor } {
    const [v, i] = native.topk(this.handle, k, dim, largest);
    return { values: new Tensor(v), indices: new Tensor(i) };
  }

  // ---- products and nn ----

  // ---- in place (what optimizers and initialisers need); each returns this ----
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
