// A causal LM's head, as transformers' …ForCausalLM.forward and ForCausalLMLoss: the decoder, the
// vocabulary projection and the shifted cross-entropy; and, for a decoder that can run on the real
// tokens' rows of a padded batch (unpadding.ts), the rule for when the head may let it.
import * as torch from "../torch/index.js";
import type { Tensor } from "../torch/index.js";
import { F } from "../nn/index.js";
import type { BaseModelOutput, ForwardOptions, LogitsOutput, ModelInputs } from "./modeling_utils.js";
import type { Unpadded } from "./unpadding.js";

/**
 * A decoder that can run on the real tokens' rows of a padded batch (unpadding.ts): `unpadding` says
 * whether it would for these inputs, `decode` runs it (given an unpadding, lastHiddenState is then
 * the rows [n, hidden]; given null, the padded batch's, whatever its switch says).
 */
export interface RowDecoder<I extends ModelInputs> {
  unpadding(inputs: I, o: ForwardOptions): Unpadded | null;
  decode(inputs: I, o: ForwardOptions, unpad: Unpadded | null): BaseModelOutput;
}

/** A row decoder's own forward: with its switch on, the rows computed and scattered back (zeros at padding). */
export function rowDecoderForward<I extends ModelInputs>(decoder: RowDecoder<I>, inputs: I, o: ForwardOptions): BaseModelOutput {
  const unpad = decoder.unpadding(inputs, o);
  const out = decoder.decode(inputs, o, unpad);
  return unpad ? { lastHiddenState: unpad.scatter(out.lastHiddenState) } : out;
}

/**
 * A causal LM's forward (HF's …ForCausalLM.forward): the decoder, logits of the last `logitsToKeep`
 * positions (every position with 0, HF's default) through lmHead, and the loss when labels are given.
 * Where the loss reads no padded position's logits (every label a padded position would predict is
 * ignored) the decoder and lmHead run on the real tokens alone: the same loss and gradients, and the
 * logits of the padded positions come back as zeros.
 */
export function causalLmForward<I extends ModelInputs>(
  decoder: RowDecoder<I>,
  lmHead: { forward(x: Tensor): Tensor },
  inputs: I,
  o: ForwardOptions & { logitsToKeep?: number },
): LogitsOutput {
  const { labels, attention_mask: mask } = inputs;
  const keep = o.logitsToKeep ?? 0;
  const unpad = keep === 0 && labels && mask ? decoder.unpadding(inputs, o) : null;
  if (unpad && labels && mask && !predictsFromPadding(labels, mask)) {
    const logits = lmHead.forward(decoder.decode(inputs, o, unpad).lastHiddenState);
    const loss = causalLmLoss(logits, labels, { numItemsInBatch: o.numItemsInBatch, rows: unpad.index });
    return { loss, logits: unpad.scatter(logits) };
  }
  const out = decoder.decode(inputs, o, null);
  const h = keep > 0 ? out.lastHiddenState.narrow(1, out.lastHiddenState.shape[1] - keep, keep) : out.lastHiddenState;
  const logits = lmHead.forward(h);
  const loss = labels ? causalLmLoss(logits, labels, { numItemsInBatch: o.numItemsInBatch }) : undefined;
  return { loss, logits, hiddenStates: out.hiddenStates, attentions: out.attentions };
}

/** Whether a padded position (mask 0) predicts a label that counts: the next position's label is not ignoreIndex. */
function predictsFromPadding(labels: Tensor, mask: Tensor, ignoreIndex = -100): boolean {
  return Boolean(torch.tidy(() => shiftLabels(labels, ignoreIndex).ne(ignoreIndex).logicalAnd(mask.eq(0)).any().item()));
}

/** The labels shifted left: each position's target is the next token's label, the last position's ignoreIndex. */
function shiftLabels(labels: Tensor, ignoreIndex: number): Tensor {
  const length = labels.shape[labels.ndim - 1];
  return torch.cat(
    [labels.narrow(-1, 1, length - 1), torch.full([...labels.shape.slice(0, -1), 1], ignoreIndex, { dtype: labels.dtype, device: labels.device })],
    -1,
  );
}

/**
 * transformers 5's ForCausalLMLoss: the logits in float32, the labels shifted left (each position
 * predicts the next token; the last predicts nothing), cross-entropy over the labels that are not
 * ignoreIndex — averaged, or with numItemsInBatch summed and divided by it (fixed_cross_entropy).
 * Given rows (the flat positions of the real tokens), logits are those rows' [n, vocab].
 */
export function causalLmLoss(logits: Tensor, labels: Tensor, o: { numItemsInBatch?: number | Tensor; ignoreIndex?: number; rows?: Tensor } = {}): Tensor {
  return torch.tidy(() => {
    const ignore = o.ignoreIndex ?? -100;
    const vocab = logits.shape[logits.ndim - 1];
    const flatLogits = logits.float().reshape([-1, vocab]);
    const shifted = shiftLabels(labels, ignore).reshape([-1]);
    const flatLabels = o.rows ? shifted.indexSelect(0, o.rows) : shifted;
    if (o.numItemsInBatch === undefined) return F.crossEntropy(flatLogits, flatLabels, { ignoreIndex: ignore });
    const sum = F.crossEntropy(flatLogits, flatLabels, { ignoreIndex: ignore, reduction: "sum" });
    return typeof o.numItemsInBatch === "number" ? sum.div(o.numItemsInBatch) : sum.div(o.numItemsInBatch.to(sum.device));
  });
}
