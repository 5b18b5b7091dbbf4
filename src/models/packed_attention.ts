// Attention over a packed row, one sequence at a time: what flash-attention's variable-length kernel
// does for transformers' padding-free batches (TRL packing). A row of several sequences masked so
// that none sees another (masking_utils.ts) computes the whole row's scores — L² for a row of L
// tokens — and throws most of them away; taking each sequence's queries against its own keys
// computes only the Σ len² that count. Each query sees exactly the keys it sees under the mask, so
// the results equal the masked row's up to the order of float sums (the blocked keys add zeros).
import * as torch from "../torch/index.js";
import type { Tensor } from "../torch/index.js";
import { F } from "../nn/index.js";
import { causalMask } from "./masking_utils.js";

/** One sequence of a packed row: its first token and its length. */
export interface Segment {
  start: number;
  length: number;
}

/**
 * The sequences of a single packed row from its sequence ids (packedSequenceIds' [1, L]), or null
 * when the batch has several rows (each row would need its own segments; the mask serves them).
 */
export function packedSegments(sequence: Tensor | null): Segment[] | null {
  if (!sequence || sequence.shape[0] !== 1) return null;
  const ids = sequence.view(-1).toArray() as number[];
  const segments: Segment[] = [];
  for (let i = 0; i < ids.length; i++) {
    if (i === 0 || ids[i] !== ids[i - 1]) segments.push({ start: i, length: 0 });
    segments[segments.length - 1].length++;
  }
  return segments;
}

/**
 * Causal attention of q, k, v [1, heads, L, d] (k and v with their groups repeated) within each
 * segment, sliding when `window` is set: the context [1, heads, L, d]. No dropout: a caller with
 * attention dropout in training uses the masked row, whose draws it must reproduce.
 */
export function segmentedAttention(q: Tensor, k: Tensor, v: Tensor, segments: Segment[], window: number | null, scale: number, eager: boolean): Tensor {
  const masks = new Map<number, Tensor>();
  const parts = segments.map(({ start, length }) => {
    const [qs, ks, vs] = [q, k, v].map((t) => t.narrow(2, start, length));
    if (!masks.has(length)) masks.set(length, causalMask(undefined, 1, length, 0, window, q.dtype, q.device));
    const mask = masks.get(length)!;
    if (!eager) return F.scaledDotProductAttention(qs, ks, vs, { attnMask: mask, dropoutP: 0, scale });
    const probs = qs.matmul(ks.transpose(2, 3)).mul(scale).add(mask).softmax(-1, "float32").to(q.dtype);
    return probs.matmul(vs);
  });
  return parts.length === 1 ? parts[0] : torch.cat(parts, 2);
}
