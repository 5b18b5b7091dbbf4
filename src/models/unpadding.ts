// Computing only the real tokens of a dynamically padded batch, as ModernBERT's unpadded path does:
// an encoder's dense layers (projections, feed-forward, LayerNorm, dropout) act on each token alone,
// so they run on the [real tokens, hidden] rows gathered once after the embeddings, and only
// attention, which mixes tokens, sees the padded layout again (its padded keys are masked out). A
// real token's numbers are the padded batch's: dropout draws its noise for every padded row, as
// torch's dropout does on the padded tensor, and keeps the real rows'. Padded positions come back
// as zeros (the padded batch computes values there that nothing real reads).
import * as torch from "../torch/index.js";
import type { Tensor } from "../torch/index.js";
import { Dropout, type Module } from "../nn/index.js";

/**
 * A layer inside a model that draws noise for each row of its own input (PEFT's LoRA dropout). Given
 * fewer rows than the padded batch, it would draw less noise than the padded computation and leave
 * the generator elsewhere; so while one draws, the model computes the padded batch.
 */
export interface DrawsRowNoise {
  drawsRowNoise(): boolean;
}

function drawsNoise(m: Module): boolean {
  return "drawsRowNoise" in m && typeof m.drawsRowNoise === "function" && m.drawsRowNoise() === true;
}

/**
 * Whether the computation on fewer rows is the padded batch's for model on device: no layer inside
 * draws noise per row (LoRA dropout), and off the CPU no dropout draws at all. libtorch's CPU dropout
 * is bernoulli_(1 − p) then ÷ (1 − p), which dropoutRows reproduces for all rows; CUDA's is a fused
 * kernel with draws of its own, so there a training step with dropout keeps the padded batch.
 */
export function rowsExact(model: Module, device: string): boolean {
  return !anyDraws(model, device !== "cpu");
}

/** Whether a layer in m draws noise per row, or (with dropout) any dropout draws at all. */
function anyDraws(m: Module, dropout: boolean): boolean {
  if (drawsNoise(m) || (dropout && m instanceof Dropout && m.training && m.p > 0)) return true;
  for (const [, child] of m.children()) if (anyDraws(child, dropout)) return true;
  return false;
}

/**
 * The unpadding a decoder's forward runs on, or null for the padded batch: its switch on, a 2-D
 * attention mask with padding, no KV cache (generation fills it position by position), no hidden
 * states or attentions asked for, and the rows exact (rowsExact). Positions are the padded layout's,
 * so left-padded rows qualify.
 */
export function decoderUnpadding(
  decoder: Module & { unpadTokens: boolean },
  inputs: { attention_mask?: Tensor; pastKeyValues?: unknown },
  o: { outputHiddenStates?: boolean; outputAttentions?: boolean },
): Unpadded | null {
  const mask = inputs.attention_mask;
  if (!decoder.unpadTokens || !mask || mask.ndim !== 2 || inputs.pastKeyValues || o.outputHiddenStates || o.outputAttentions) return null;
  return rowsExact(decoder, mask.device) ? Unpadded.of(mask, { leftPadding: true }) : null;
}

export class Unpadded {
  /**
   * @param index the flat positions (in b·l) of the real tokens, int64 [n]
   */
  constructor(
    readonly index: Tensor,
    readonly batch: number,
    readonly length: number,
  ) {}

  /**
   * The unpadding of an attention mask [b, l], or null where it gains nothing or is not exact for
   * the heads: no padded position, or (unless leftPadding is allowed, as a decoder's positions are
   * the padded layout's) a row whose first token, the one a pooler reads, is padding.
   */
  static of(mask: Tensor, o: { leftPadding?: boolean } = {}): Unpadded | null {
    const [b, l] = mask.shape;
    const usable = torch.tidy(() => mask.eq(0).any().item() && (o.leftPadding === true || mask.select(1, 0).ne(0).all().item()));
    if (!usable) return null;
    return new Unpadded(
      mask
        .reshape([b * l])
        .nonzero()
        .squeeze(1),
      b,
      l,
    );
  }

  /** The same unpadding with another handle on its index (a checkpointed layer's recompute gets its own). */
  withIndex(index: Tensor): Unpadded {
    return new Unpadded(index, this.batch, this.length);
  }

  /** [b, l, h] → the real tokens' rows [n, h]. */
  gather(x: Tensor): Tensor {
    const h = x.shape[2];
    return x.reshape([this.batch * this.length, h]).indexSelect(0, this.index);
  }

  /** [n, h] → [b, l, h], zeros at the padded positions. */
  scatter(x: Tensor): Tensor {
    return torch.scatterRows(x, this.index, this.batch * this.length).view(this.batch, this.length, x.shape[1]);
  }

  /**
   * torch's dropout of the padded tensor, on its real rows: the noise drawn for all b·l rows as
   * at::dropout draws it (bernoulli_(1 − p) on a tensor of the input's dtype, then ÷ (1 − p)), and
   * the real rows' noise applied.
   */
  dropout(x: Tensor, p: number, training: boolean): Tensor {
    if (!training || p === 0) return x;
    return torch.dropoutRows(x, this.index, this.batch * this.length, p);
  }
}

/**
 * The last layer for the one row per sequence that a sequence classifier reads. Its logits read the
 * last layer's first token, and that token's output there depends on every position's keys and
 * values but on no other position's query, attention output or feed-forward: the last layer projects
 * keys and values for every token and computes the rest for the first tokens alone ([b, hidden]).
 * Dropout draws its noise for every position, as the full layer's does, and keeps the first tokens'
 * rows, so the logits, the loss, every gradient and the generator are the full layer's.
 */
export class FirstTokens {
  /**
   * @param rows where each sequence's first token is among the rows x has: in the unpadded rows,
   *   int64 [b]; null when x is the padded [b, l, h]
   */
  constructor(
    readonly rows: Tensor | null,
    readonly batch: number,
    readonly length: number,
  ) {}

  /** For a batch with attention mask [b, l], the unpadding its layers run on or null. */
  static of(mask: Tensor, unpad: Unpadded | null): FirstTokens {
    const [b, l] = mask.shape;
    if (!unpad) return new FirstTokens(null, b, l);
    // Unpadded rows run sequence by sequence and each starts with its first token (Unpadded.of
    // requires it real), so the first tokens sit at the exclusive prefix sums of the lengths.
    const rows = torch.tidy(() => {
      const lengths = mask.ne(0).sum(1);
      return lengths.cumsum(0).sub(lengths);
    });
    return new FirstTokens(rows, b, l);
  }

  /** The same rows through another handle (a checkpointed layer's recompute gets its own). */
  withRows(rows: Tensor | null): FirstTokens {
    return new FirstTokens(rows, this.batch, this.length);
  }

  /** The first tokens' rows [b, h] of x: the unpadded rows [n, h] or the padded [b, l, h]. */
  take(x: Tensor): Tensor {
    return this.rows ? x.indexSelect(0, this.rows) : x.select(1, 0);
  }

  /** torch's dropout of the [b, l, h] tensor, on the first tokens' rows [b, h]. */
  dropout(x: Tensor, p: number, training: boolean): Tensor {
    if (!training || p === 0) return x;
    return torch.dropoutRows(x, torch.arange(0, this.batch * this.length, this.length, { dtype: "int64", device: x.device }), this.batch * this.length, p);
  }

  /** torch's dropout of the attention probabilities [b, heads, l, l], on the first queries' [b, heads, 1, l]. */
  probsDropout(probs: Tensor, p: number, training: boolean): Tensor {
    if (!training || p === 0) return probs;
    const [b, heads, , l] = probs.shape;
    const rows = b * heads;
    return torch
      .dropoutRows(probs.reshape([rows, l]), torch.arange(0, rows * l, l, { dtype: "int64", device: probs.device }), rows * l, p)
      .view(b, heads, 1, l);
  }
}
