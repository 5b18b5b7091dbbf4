// The masks of attention, as transformers' masking_utils and modeling_utils: an encoder's padded keys
// blocked (the extended attention mask); a decoder's causal (optionally sliding) mask, padded keys
// blocked, and packed rows — position ids that restart without an attention mask — read as separate
// sequences that never attend to each other.
import * as torch from "../torch/index.js";
import type { DType, Tensor } from "../torch/index.js";
import { finfoMin } from "./modeling_utils.js";
import type { PretrainedConfig } from "./configuration_utils.js";
import { DATA_TYPE, int, type OnnxGraph } from "../onnx/graph.js";

/** How far the positions go: the largest position id + 1 when given (packed rows restart them), else the cache and the new tokens. */
export function positionsReached(positionIds: Tensor | undefined, otherwise: number): number {
  return positionIds ? torch.tidy(() => positionIds.max().item()) + 1 : otherwise;
}

/**
 * transformers 5's find_packed_sequence_indices: for position ids [b, L] that restart (several
 * sequences packed into a row), the index of each token's sequence — a new one wherever a position is
 * not its predecessor + 1. Null when every row is one sequence (HF's None), as HF only looks when the
 * forward has neither an attention mask nor a cache.
 */
export function packedSequenceIds(positionIds: Tensor, b: number, l: number): Tensor | null {
  if (l < 2) return null;
  return torch.tidy(() => {
    const pos = positionIds.expand([b, l]);
    const restarts = pos
      .slice(1, 1, null)
      .sub(pos.slice(1, 0, l - 1))
      .ne(1);
    const sequence = torch
      .cat([torch.zeros([b, 1], { dtype: "bool", device: pos.device }), restarts], 1)
      .to("int64")
      .cumsum(1);
    return sequence
      .select(1, l - 1)
      .ne(0)
      .any()
      .item()
      ? sequence
      : null;
  });
}

/**
 * The additive causal mask [b, 1, L, past + L] (HF's create_causal_mask / create_sliding_window_causal_mask
 * in eager form): a query sees the keys at or before its position, within `window` positions when the
 * layer slides, never a padded key, and — in a packed row (`sequence` from packedSequenceIds) — only
 * keys of its own sequence; the rest is the dtype's minimum (a row with nothing to see softmaxes
 * evenly, as HF's eager path).
 */
export function causalMask(
  attentionMask: Tensor | undefined,
  b: number,
  l: number,
  past: number,
  window: number | null,
  dtype: torch.DType,
  device: string,
  sequence: Tensor | null = null,
): Tensor {
  return torch.tidy(() => {
    const total = past + l;
    const queries = torch.arange(past, total, 1, { device }).unsqueeze(1);
    const keys = torch.arange(0, total, 1, { device }).unsqueeze(0);
    let blocked = keys.gt(queries);
    if (window !== null) blocked = blocked.logicalOr(keys.le(queries.sub(window)));
    let full = blocked.view(1, 1, l, total).expand([b, 1, l, total]);
    if (sequence) full = full.logicalOr(sequence.unsqueeze(2).ne(sequence.unsqueeze(1)).unsqueeze(1));
    if (attentionMask) {
      if (attentionMask.shape[1] !== total)
        throw new RangeError(`attention_mask covers ${attentionMask.shape[1]} positions, the keys are ${total} (${past} cached + ${l} new)`);
      full = full.logicalOr(attentionMask.eq(0).view(b, 1, 1, total));
    }
    return torch.zeros([b, 1, l, total], { dtype, device }).maskedFill(full, finfoMin(dtype));
  });
}

/**
 * The mask a causal LM hands torch's SDPA, as transformers' sdpa_mask makes it from the additive one:
 * boolean, true where a query may attend. The two forms part only at a row with no key to attend (a
 * left-padded query, whose logits still predict the first real token): eager softmaxes it evenly,
 * torch's SDPA gives it 0 from torch 2.5 on, and before 2.5 HF lets it attend every key
 * (allow_torch_fix). Handing torch the additive mask instead would be wrong, not just different: its
 * CPU flash kernel then computes the even forward but a backward of something else. Where libtorch
 * has no SDPA (before 2.1) attention is composed as eager is, and the additive mask stays.
 */
export function sdpaMask(additive: Tensor): Tensor {
  if (!torch.hasSdpa) return additive;
  return torch.tidy(() => {
    const allowed = additive.eq(0);
    // From torch 2.5 SDPA gives such a row 0; before, NaN, so HF lets it attend every key.
    return torch.torchAtLeast(2, 5) ? allowed : allowed.logicalOr(allowed.logicalNot().all(-1, true));
  });
}

/**
 * The mask a model's attention layers get from its additive mask: sdpaMask's where they take torch's
 * SDPA (the config's _attn_implementation is not "eager" and no probabilities are asked for, as the
 * layers themselves decide), the additive mask itself otherwise. The additive mask is freed when replaced.
 */
export function layerMask(additive: Tensor, config: PretrainedConfig, outputAttentions = false): Tensor {
  if (config.get("_attn_implementation") === "eager" || outputAttentions) return additive;
  const mask = sdpaMask(additive);
  if (mask !== additive) additive.dispose();
  return mask;
}

/** HF's extended attention mask: [B, L] of 1/0 → [B, 1, 1, L] of 0 / dtype's minimum. */
export function extendedAttentionMask(mask: Tensor, dtype: DType): Tensor {
  return torch.tidy(() => mask.unsqueeze(1).unsqueeze(1).to(dtype).neg().add(1).mul(finfoMin(dtype)));
}

/** extendedAttentionMask as ONNX nodes (float32). */
export function extendedAttentionMaskOnnx(g: OnnxGraph, mask: string): string {
  const m = g.op("Cast", [g.op("Unsqueeze", [mask, g.int64([1, 2])])], { to: int(DATA_TYPE.float32) });
  return g.op("Mul", [g.op("Sub", [g.float32([1], []), m]), g.float32([finfoMin("float32")], [])]);
}
