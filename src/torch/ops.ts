// Free functions over tensors (torch.cat, torch.where, F.softmax, F.cross_entropy, …).
import { native } from "./native.js";
import { type DType } from "./dtype.js";
import { Tensor, type Scalar, type TensorOrScalar } from "./tensor.js";
import { full, ones } from "./creation.js";
import { tidy } from "./scope.js";

export type Reduction = "none" | "mean" | "sum";
const REDUCTION: Record<Reduction, number> = { none: 0, mean: 1, sum: 2 };

function reduction(r: Reduction | undefined, what: string): number {
  const code = REDUCTION[r ?? "mean"];
  if (code === undefined) throw new TypeError(`${what}: reduction must be 'none', 'mean' or 'sum', got '${r}'`);
  return code;
}

function nonEmptyList(ts: Tensor[], what: string): void {
  if (!Array.isArray(ts) || ts.length === 0) throw new TypeError(`${what}: expected a non-empty array of tensors`);
}

export function cat(tensors: Tensor[], dim = 0): Tensor {
  nonEmptyList(tensors, "cat()");
  return new Tensor(
    native.cat(
      tensors.map((t) => t.handle),
      dim,
    ),
  );
}
export function stack(tensors: Tensor[], dim = 0): Tensor {
  nonEmptyList(tensors, "stack()");
  return new Tensor(
    native.stack(
      tensors.map((t) => t.handle),
      dim,
    ),
  );
}
export function where(condition: Tensor, input: TensorOrScalar, other: TensorOrScalar): Tensor {
  // A scalar takes the tensor operand's dtype, as Python's torch.where does from 2.0 (1.13 refuses mixed dtypes).
  return tidy(() => {
    const like = input instanceof Tensor ? input : other instanceof Tensor ? other : null;
    const asTensor = (x: TensorOrScalar) => (x instanceof Tensor || !like ? x : fullScalar(x, like));
    const hv = (x: TensorOrScalar) => (x instanceof Tensor ? x.handle : x);
    return new Tensor(native.where(condition.handle, hv(asTensor(input)), hv(asTensor(other))));
  });
}
export const matmul = (a: Tensor, b: Tensor): Tensor => a.matmul(b);
export const bmm = (a: Tensor, b: Tensor): Tensor => a.bmm(b);
export const outer = (a: Tensor, b: Tensor): Tensor => new Tensor(native.outer(a.handle, b.handle));
/** y = x Wᵀ + b, as torch.nn.functional.linear. */
export function linear(input: Tensor, weight: Tensor, bias?: Tensor | null): Tensor {
  return new Tensor(native.linear(input.handle, weight.handle, bias?.handle));
}
/** Zeros [rows, h] with row index[i] set to x[i] (x [n, h], index int64 [n]): unpadded rows in their padded layout, one call. */
export function scatterRows(x: Tensor, index: Tensor, rows: number): Tensor {
  return new Tensor(native.scatterRows(x.handle, index.handle, rows));
}
/**
 * Dropout of the rows x [n, h] of a [rows, h] tensor (row index[i] is x[i]) exactly as torch's
 * dropout of that whole tensor draws it: the noise for all rows, index's rows applied.
 */
export function dropoutRows(x: Tensor, index: Tensor, rows: number, p: number): Tensor {
  if (!(p >= 0 && p <= 1)) throw new RangeError(`dropoutRows: p must be in [0, 1], got ${p}`);
  return new Tensor(native.dropoutRows(x.handle, index.handle, rows, p));
}
export function addmm(input: Tensor, m1: Tensor, m2: Tensor, opts: { beta?: number; alpha?: number } = {}): Tensor {
  return new Tensor(native.addmm(input.handle, m1.handle, m2.handle, opts.beta ?? 1, opts.alpha ?? 1));
}
export function baddbmm(input: Tensor, b1: Tensor, b2: Tensor, opts: { beta?: number; alpha?: number } = {}): Tensor {
  return new Tensor(native.baddbmm(input.handle, b1.handle, b2.handle, opts.beta ?? 1, opts.alpha ?? 1));
}
export const softmax = (x: Tensor, dim: number, dtype?: DType): Tensor => x.softmax(dim, dtype);
export const logSoftmax = (x: Tensor, dim: number, dtype?: DType): Tensor => x.logSoftmax(dim, dtype);
export const relu = (x: Tensor): Tensor => x.relu();
export const tanh = (x: Tensor): Tensor => x.tanh();
export const sigmoid = (x: Tensor): Tensor => x.sigmoid();
export const exp = (x: Tensor): Tensor => x.exp();
export const log = (x: Tensor): Tensor => x.log();
export const sqrt = (x: Tensor): Tensor => x.sqrt();
export const rsqrt = (x: Tensor): Tensor => x.rsqrt();
export const erf = (x: Tensor): Tensor => x.erf();
export const pow = (x: Tensor, e: TensorOrScalar): Tensor => x.pow(e);
export const clamp = (x: Tensor, min?: number | null, max?: number | null): Tensor => x.clamp(min, max);
export const maximum = (a: Tensor, b: Tensor): Tensor => a.maximum(b);
export const minimum = (a: Tensor, b: Tensor): Tensor => a.minimum(b);
export const silu = (x: Tensor): Tensor => new Tensor(native.silu(x.handle));

export function layerNorm(x: Tensor, normalizedShape: number[], weight?: Tensor | null, bias?: Tensor | null, eps = 1e-5): Tensor {
  return new Tensor(native.layerNorm(x.handle, normalizedShape, weight?.handle, bias?.handle, eps));
}
/** GELU: exact (erf) by default, `approximate: "tanh"` for the tanh form (HF's gelu_new). */
export function gelu(x: Tensor, approximate: "none" | "tanh" = "none"): Tensor {
  if (approximate !== "none" && approximate !== "tanh") throw new TypeError(`gelu(): approximate must be 'none' or 'tanh', got '${approximate}'`);
  return new Tensor(native.gelu(x.handle, approximate));
}
export function dropout(x: Tensor, p = 0.5, training = true): Tensor {
  if (!(p >= 0 && p <= 1)) throw new RangeError(`dropout(): p must be in [0, 1], got ${p}`);
  return new Tensor(native.dropout(x.handle, p, training));
}
/** Rows of `weight` picked by integer `indices`; the paddingIdx row gets no gradient. */
export function embedding(indices: Tensor, weight: Tensor, paddingIdx: number | null = null): Tensor {
  return new Tensor(native.embedding(weight.handle, indices.handle, paddingIdx ?? -1, false));
}

export interface CrossEntropyOptions {
  weight?: Tensor | null;
  ignoreIndex?: number;
  reduction?: Reduction;
  labelSmoothing?: number;
}
/** torch.nn.functional.cross_entropy: logits [N, C] (or [N, C, …]) and class indices; ignoreIndex -100. */
export function crossEntropy(input: Tensor, target: Tensor, o: CrossEntropyOptions = {}): Tensor {
  const ls = o.labelSmoothing ?? 0;
  if (!(ls >= 0 && ls <= 1)) throw new RangeError(`crossEntropy(): labelSmoothing must be in [0, 1], got ${ls}`);
  return new Tensor(native.crossEntropy(input.handle, target.handle, o.weight?.handle, reduction(o.reduction, "crossEntropy()"), o.ignoreIndex ?? -100, ls));
}
export function nllLoss(input: Tensor, target: Tensor, o: { weight?: Tensor; ignoreIndex?: number; reduction?: Reduction } = {}): Tensor {
  return new Tensor(native.nllLoss(input.handle, target.handle, o.weight?.handle, reduction(o.reduction, "nllLoss()"), o.ignoreIndex ?? -100));
}
export function mseLoss(input: Tensor, target: Tensor, o: { reduction?: Reduction } = {}): Tensor {
  return new Tensor(native.mseLoss(input.handle, target.handle, reduction(o.reduction, "mseLoss()")));
}
export function binaryCrossEntropyWithLogits(input: Tensor, target: Tensor, o: { weight?: Tensor; posWeight?: Tensor; reduction?: Reduction } = {}): Tensor {
  return new Tensor(
    native.bceWithLogits(input.handle, target.handle, o.weight?.handle, o.posWeight?.handle, reduction(o.reduction, "binaryCrossEntropyWithLogits()")),
  );
}

export interface SdpaOptions {
  /** Boolean (true = attend) or additive float mask, broadcastable to [..., L, S]. */
  attnMask?: Tensor | null;
  dropoutP?: number;
  isCausal?: boolean;
  scale?: number | null;
  /** Force the composed (eager) path even where libtorch has a fused kernel. */
  composed?: boolean;
}

/**
 * softmax(q kᵀ · scale + mask) v, as torch.nn.functional.scaled_dot_product_attention: libtorch's
 * kernel where the linked libtorch has one (>= 2.1), otherwise composed from matmul and softmax.
 */
export function scaledDotProductAttention(q: Tensor, k: Tensor, v: Tensor, o: SdpaOptions = {}): Tensor {
  const p = o.dropoutP ?? 0;
  if (!(p >= 0 && p <= 1)) throw new RangeError(`scaledDotProductAttention(): dropoutP must be in [0, 1], got ${p}`);
  if (o.isCausal && o.attnMask) throw new TypeError("scaledDotProductAttention(): give attnMask or isCausal, not both");
  if (native.hasSdpa && !o.composed) {
    return new Tensor(native.scaledDotProductAttention(q.handle, k.handle, v.handle, o.attnMask?.handle, p, o.isCausal ?? false, o.scale));
  }
  return tidy(() => {
    const [L, E] = q.shape.slice(-2);
    const S = k.shape[k.ndim - 2];
    const scale = o.scale ?? 1 / Math.sqrt(E);
    let scores = q.matmul(k.transpose(-2, -1)).mul(scale);
    let mask = o.attnMask ?? null;
    if (o.isCausal) mask = ones([L, S], { dtype: "bool", device: q.device }).tril();
    if (mask) {
      scores = mask.dtype === "bool" ? scores.maskedFill(mask.logicalNot(), -Infinity) : scores.add(mask);
    }
    let attn = scores.softmax(-1);
    if (p > 0) attn = dropout(attn, p, true);
    return attn.matmul(v);
  });
}

export function sum(x: Tensor, dim?: number | number[], keepdim = false): Tensor {
  return x.sum(dim, keepdim);
}
export function mean(x: Tensor, dim?: number | number[], keepdim = false): Tensor {
  return x.mean(dim, keepdim);
}
export function fullScalar(value: Scalar, like: Tensor): Tensor {
  return full([], value, { dtype: like.dtype, device: like.device });
}
