// Rotary position embeddings as transformers' modeling_rope_utils.py computes them: the inverse
// frequencies of each RoPE type (default, linear, dynamic NTK, llama3) from a config's
// rope_parameters (transformers 5) or its older rope_theta + rope_scaling, the attention scaling,
// and the rotary module with dynamic NTK's state (the frequencies grow with the longest sequence
// seen, and reset below the original length). Every float op follows torch's order on float32, so the
// frequencies equal Python's bit for bit.
import * as torch from "../torch/index.js";
import type { Tensor } from "../torch/index.js";
import type { PretrainedConfig } from "./configuration_utils.js";

export const ROPE_TYPES = ["default", "linear", "dynamic", "llama3"] as const;
export type RopeType = (typeof ROPE_TYPES)[number];

export interface RopeParameters {
  rope_type: RopeType;
  rope_theta: number;
  factor?: number;
  low_freq_factor?: number;
  high_freq_factor?: number;
  original_max_position_embeddings?: number;
  partial_rotary_factor?: number;
}

/**
 * HF's standardized rope_parameters: transformers 5's dict as it is, or the older rope_theta and
 * rope_scaling ({ type | rope_type, factor, … }) folded into one; an unknown type is an error naming
 * the supported ones.
 */
export function ropeParameters(c: PretrainedConfig): RopeParameters {
  const given = c.get<Record<string, unknown> | null>("rope_parameters");
  const scaling = c.get<Record<string, unknown> | null>("rope_scaling");
  const p: Record<string, unknown> = { ...(scaling ?? {}), ...(given ?? {}) };
  const type = (p.rope_type ?? p.type ?? "default") as string;
  if (!(ROPE_TYPES as readonly string[]).includes(type)) {
    throw new Error(`Unrecognized RoPE type '${type}' in the config's rope_parameters: supported are ${ROPE_TYPES.join(", ")}`);
  }
  const theta = (p.rope_theta as number | undefined) ?? c.get<number>("rope_theta") ?? 10000;
  const out: RopeParameters = { ...(p as object), rope_type: type as RopeType, rope_theta: theta };
  for (const key of type === "linear" || type === "dynamic"
    ? ["factor"]
    : type === "llama3"
      ? ["factor", "low_freq_factor", "high_freq_factor", "original_max_position_embeddings"]
      : []) {
    if (typeof (out as unknown as Record<string, unknown>)[key] !== "number")
      throw new Error(`RoPE type '${type}' needs '${key}' in rope_parameters (rope_scaling)`);
  }
  return out;
}

/** 1 / base^(2i/d) as torch computes `1.0 / (base ** (torch.arange(0, dim, 2, dtype=torch.int64).float() / dim))`. */
function defaultInverseFrequencies(base: number | Tensor, dim: number): Tensor {
  const exponents = torch.arange(0, dim, 2, { dtype: "int64" }).to("float32").div(dim);
  const b = typeof base === "number" ? torch.full([exponents.shape[0]], base, { dtype: "float32" }) : base;
  return b.pow(exponents).reciprocal();
}

/**
 * The inverse frequencies and attention scaling of a RoPE type (HF's ROPE_INIT_FUNCTIONS); `seqLen`
 * is dynamic NTK's current length.
 */
export function inverseFrequencies(c: PretrainedConfig, p: RopeParameters, headDim: number, seqLen?: number): { invFreq: Tensor; attentionScaling: number } {
  return torch.tidy(() => {
    const dim = Math.trunc(headDim * (p.partial_rotary_factor ?? 1));
    const maxPositions = c.need<number>("max_position_embeddings");
    switch (p.rope_type) {
      case "default":
        return { invFreq: defaultInverseFrequencies(p.rope_theta, dim), attentionScaling: 1 };
      case "linear":
        return { invFreq: defaultInverseFrequencies(p.rope_theta, dim).div(p.factor!), attentionScaling: 1 };
      case "dynamic": {
        const factor = p.factor!;
        if (seqLen === undefined) {
          // At init HF computes the base in Python floats (it equals rope_theta).
          const base = p.rope_theta * ((factor * maxPositions) / maxPositions - (factor - 1)) ** (dim / (dim - 2));
          return { invFreq: defaultInverseFrequencies(base, dim), attentionScaling: 1 };
        }
        // In forward seq_len is a 0-dim int64 tensor: the base is computed in float32 tensors.
        const len = torch.tensor(Math.max(seqLen, maxPositions), { dtype: "int64" });
        const base = len
          .mul(factor)
          .div(maxPositions)
          .sub(factor - 1)
          .pow(dim / (dim - 2))
          .mul(p.rope_theta);
        return { invFreq: defaultInverseFrequencies(base, dim), attentionScaling: 1 };
      }
      case "llama3": {
        const invFreq = defaultInverseFrequencies(p.rope_theta, dim);
        const factor = p.factor!;
        const low = p.low_freq_factor!;
        const high = p.high_freq_factor!;
        const oldContext = p.original_max_position_embeddings!;
        const lowFreqWavelen = oldContext / low;
        const highFreqWavelen = oldContext / high;
        // Python's `2 * math.pi / inv_freq` is inv_freq.reciprocal() * (2π) in torch (Tensor.__rtruediv__).
        const wavelen = invFreq.reciprocal().mul(2 * Math.PI);
        let llama = torch.where(wavelen.gt(lowFreqWavelen), invFreq.div(factor), invFreq);
        const smooth = wavelen
          .reciprocal()
          .mul(oldContext)
          .sub(low)
          .div(high - low);
        const smoothed = smooth.neg().add(1).mul(llama).div(factor).add(smooth.mul(llama));
        const medium = wavelen.lt(highFreqWavelen).logicalNot().logicalAnd(wavelen.gt(lowFreqWavelen).logicalNot());
        llama = torch.where(medium, smoothed, llama);
        return { invFreq: llama, attentionScaling: 1 };
      }
    }
  });
}

/**
 * HF's rotary embedding module: cos and sin ([b, L, head_dim], in the activations' dtype) for position
 * ids [b, L]. Dynamic NTK keeps HF's state: past the original length the frequencies follow the longest
 * sequence seen so far, and go back to the original ones for a sequence below it.
 */
export class RotaryEmbedding {
  readonly params: RopeParameters;
  #invFreq: Tensor;
  #originalInvFreq: Tensor;
  readonly attentionScaling: number;
  #maxSeqLenCached: number;
  readonly #originalMaxSeqLen: number;

  constructor(
    readonly config: PretrainedConfig,
    readonly headDim: number,
  ) {
    this.params = ropeParameters(config);
    const { invFreq, attentionScaling } = inverseFrequencies(config, this.params, headDim);
    this.#invFreq = torch.keep(invFreq);
    this.#originalInvFreq = this.#invFreq;
    this.attentionScaling = attentionScaling;
    this.#originalMaxSeqLen = config.need<number>("max_position_embeddings");
    this.#maxSeqLenCached = this.#originalMaxSeqLen;
  }

  /** HF's dynamic_rope_update, before each forward. */
  #update(positionIds: Tensor): void {
    if (this.params.rope_type !== "dynamic") return;
    const seqLen = positionIds.max().item() + 1;
    if (seqLen > this.#maxSeqLenCached) {
      const { invFreq } = inverseFrequencies(this.config, this.params, this.headDim, seqLen);
      if (this.#invFreq !== this.#originalInvFreq) this.#invFreq.dispose();
      this.#invFreq = torch.keep(invFreq);
      this.#maxSeqLenCached = seqLen;
    }
    if (seqLen < this.#originalMaxSeqLen && this.#maxSeqLenCached > this.#originalMaxSeqLen) {
      if (this.#invFreq !== this.#originalInvFreq) this.#invFreq.dispose();
      this.#invFreq = this.#originalInvFreq;
      this.#maxSeqLenCached = this.#originalMaxSeqLen;
    }
  }

  forward(x: Tensor, positionIds: Tensor): [Tensor, Tensor] {
    this.#update(positionIds);
    return torch.tidy(() => {
      // [b, L, 1] × [d/2]: each element a single product, as HF's (inv_freq ⊗ positions) matmul.
      const freqs = positionIds.to("float32").unsqueeze(-1).mul(this.#invFreq.to(positionIds.device));
      const emb = torch.cat([freqs, freqs], -1);
      let cos = emb.cos();
      let sin = emb.sin();
      if (this.attentionScaling !== 1) {
        cos = cos.mul(this.attentionScaling);
        sin = sin.mul(this.attentionScaling);
      }
      return [cos.to(x.dtype), sin.to(x.dtype)] as [Tensor, Tensor];
    });
  }
}

export function rotateHalf(x: Tensor): Tensor {
  const half = x.shape[x.ndim - 1] / 2;
  return torch.cat([x.narrow(-1, half, half).neg(), x.narrow(-1, 0, half)], -1);
}

/** HF's apply_rotary_pos_emb with cos/sin of [b, L, d] on q/k of [b, heads, L, d]. */
export function applyRotaryPosEmb(q: Tensor, k: Tensor, cos: Tensor, sin: Tensor): [Tensor, Tensor] {
  const c = cos.unsqueeze(1);
  const s = sin.unsqueeze(1);
  return [q.mul(c).add(rotateHalf(q).mul(s)), k.mul(c).add(rotateHalf(k).mul(s))];
}
