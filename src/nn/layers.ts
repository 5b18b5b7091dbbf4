// The basic layers, initialised as PyTorch initialises them (same RNG draws in the same order,
// so a seeded model here equals a seeded model in PyTorch).
import * as torch from "../torch/index.js";
import type { Tensor } from "../torch/index.js";
import { Module } from "./module.js";
import * as init from "./init.js";

export class Linear extends Module {
  readonly inFeatures: number;
  readonly outFeatures: number;
  weight: Tensor;
  bias: Tensor | null;

  constructor(inFeatures: number, outFeatures: number, o: { bias?: boolean; device?: string; dtype?: torch.DType } = {}) {
    super();
    positiveInt(inFeatures, "Linear: inFeatures");
    positiveInt(outFeatures, "Linear: outFeatures");
    this.inFeatures = inFeatures;
    this.outFeatures = outFeatures;
    this.weight = this.registerParameter("weight", torch.empty([outFeatures, inFeatures], o));
    this.bias = o.bias === false ? null : this.registerParameter("bias", torch.empty([outFeatures], o));
    this.resetParameters();
  }

  resetParameters(): void {
    init.kaimingUniform_(this.weight, Math.sqrt(5));
    if (this.bias) {
      const bound = 1 / Math.sqrt(this.inFeatures);
      init.uniform_(this.bias, -bound, bound);
    }
  }

  forward(x: Tensor): Tensor {
    return torch.linear(x, this.weight, this.bias);
  }
}

export class Embedding extends Module {
  readonly numEmbeddings: number;
  readonly embeddingDim: number;
  readonly paddingIdx: number | null;
  weight: Tensor;

  constructor(numEmbeddings: number, embeddingDim: number, o: { paddingIdx?: number | null; device?: string; dtype?: torch.DType } = {}) {
    super();
    positiveInt(numEmbeddings, "Embedding: numEmbeddings");
    positiveInt(embeddingDim, "Embedding: embeddingDim");
    let pad = o.paddingIdx ?? null;
    if (pad !== null) {
      if (!Number.isInteger(pad) || pad >= numEmbeddings || pad < -numEmbeddings) {
        throw new RangeError(`Embedding: paddingIdx must be within [-${numEmbeddings}, ${numEmbeddings}), got ${pad}`);
      }
      if (pad < 0) pad += numEmbeddings;
    }
    this.numEmbeddings = numEmbeddings;
    this.embeddingDim = embeddingDim;
    this.paddingIdx = pad;
    this.weight = this.registerParameter("weight", torch.empty([numEmbeddings, embeddingDim], o));
    this.resetParameters();
  }

  resetParameters(): void {
    init.normal_(this.weight);
    this.zeroPaddingRow();
  }

  zeroPaddingRow(): void {
    if (this.paddingIdx === null) return;
    torch.noGrad(() => torch.tidy(() => this.weight.select(0, this.paddingIdx!).zero_()));
  }

  forward(ids: Tensor): Tensor {
    try {
      return torch.embedding(ids, this.weight, this.paddingIdx);
    } catch (e) {
      throw outOfRange(e as Error, ids, this.numEmbeddings) ?? e;
    }
  }
}

/**
 * libtorch says "index out of range in self": name the id, where it is, and the table's size. Only
 * computed after the failure, so a correct batch costs nothing.
 */
function outOfRange(e: Error, ids: Tensor, n: number): Error | null {
  if (!/index out of range/i.test(e.message)) return null;
  const flat = torch.tidy(() => Array.from(ids.detach().cpu().to("int64").contiguous().dataSync() as BigInt64Array, Number));
  const at = flat.findIndex((v) => v >= n || v < -n);
  if (at < 0) return null;
  const width = ids.ndim > 1 ? ids.shape[ids.ndim - 1] : flat.length;
  const where = ids.ndim > 1 ? `row ${Math.floor(at / width)}, position ${at % width}` : `position ${at}`;
  return new RangeError(
    `Embedding: id ${flat[at]} (${where}) is out of range for a table of ${n} rows (ids must be 0..${n - 1}). ` +
      `A token id at or past the model's vocab_size means the tokenizer and the model do not belong together (or the data was tokenized with another tokenizer).`,
  );
}

export class LayerNorm extends Module {
  readonly normalizedShape: number[];
  readonly eps: number;
  weight: Tensor | null;
  bias: Tensor | null;

  constructor(normalizedShape: number | number[], o: { eps?: number; elementwiseAffine?: boolean; bias?: boolean; device?: string; dtype?: torch.DType } = {}) {
    super();
    this.normalizedShape = Array.isArray(normalizedShape) ? normalizedShape : [normalizedShape];
    this.normalizedShape.forEach((s) => positiveInt(s, "LayerNorm: normalizedShape"));
    this.eps = o.eps ?? 1e-5;
    const affine = o.elementwiseAffine ?? true;
    this.weight = affine ? this.registerParameter("weight", torch.ones(this.normalizedShape, o)) : null;
    this.bias = affine && o.bias !== false ? this.registerParameter("bias", torch.zeros(this.normalizedShape, o)) : null;
  }

  forward(x: Tensor): Tensor {
    return torch.layerNorm(x, this.normalizedShape, this.weight, this.bias, this.eps);
  }
}

export class Dropout extends Module {
  readonly p: number;
  constructor(p = 0.5) {
    super();
    if (!(p >= 0 && p <= 1)) throw new RangeError(`Dropout: p must be in [0, 1], got ${p}`);
    this.p = p;
  }
  forward(x: Tensor): Tensor {
    // As F.dropout(training=False): the input itself, no copy.
    if (!this.training || this.p === 0) return x;
    return torch.dropout(x, this.p, true);
  }
}

function positiveInt(v: number, what: string): void {
  if (!Number.isInteger(v) || v <= 0) throw new RangeError(`${what} must be a positive integer, got ${v}`);
}
