// Computing only the real tokens of a dynamically padded batch, as ModernBERT's unpadded path does:
// an encoder's dense layers (projections, feed-forward, LayerNorm, dropout) act on each token alone,
// so they run on the [real tokens, hidden] rows gathered once after the embeddings, and only
// attention, which mixes tokens, sees the padded layout again (its padded keys are masked out). A
// real token's numbers are the padded batch's: dropout draws its noise for every padded row, as
// torch's dropout does on the padded tensor, and keeps the real rows'. Padded positions come back
// as zeros (the padded batch computes values there that nothing real reads).
import * as torch from "../torch/index.js";
import type { Tensor } from "../torch/index.js";

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
   * the heads: no padded position, or a row whose first token (the one a pooler reads) is padding.
   */
  static of(mask: Tensor): Unpadded | null {
    const [b, l] = mask.shape;
    const usable = torch.tidy(() => mask.eq(0).any().item() && mask.select(1, 0).ne(0).all().item());
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
