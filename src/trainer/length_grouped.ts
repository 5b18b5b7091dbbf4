// HF's LengthGroupedSampler (transformers' trainer_pt_utils.get_length_grouped_indices): a random
// permutation cut into megabatches, each sorted longest first, the megabatch holding the longest row
// moved to the front so that an out-of-memory shows at the first step.
import * as torch from "../torch/index.js";

/**
 * Row indices grouped by length. The permutation is drawn from the global generator, as the Trainer
 * passes none: the same seed and the same draws before it give Python's order.
 */
export function getLengthGroupedIndices(lengths: ArrayLike<number>, batchSize: number, megaBatchMult: number | null = null): Int32Array {
  const n = lengths.length;
  // 50, or the number that gives 4 megabatches, whichever is smaller (at least 1).
  const mult = megaBatchMult ?? (Math.min(Math.floor(n / (batchSize * 4)), 50) || 1);
  const perm = torch.tidy(() => torch.randperm(n).to("int32").dataSync() as Int32Array);
  const size = mult * batchSize;
  const megabatches: number[][] = [];
  // Array.prototype.sort is stable, as Python's sorted(…, reverse=True): equal lengths keep their order.
  for (let s = 0; s < n; s += size) megabatches.push(Array.from(perm.subarray(s, s + size)).sort((a, b) => lengths[b] - lengths[a]));
  if (megabatches.length) {
    // torch.argmax: the first megabatch holding the maximum.
    let maxIdx = 0;
    megabatches.forEach((m, k) => {
      if (lengths[m[0]] > lengths[megabatches[maxIdx][0]]) maxIdx = k;
    });
    [megabatches[0][0], megabatches[maxIdx][0]] = [megabatches[maxIdx][0], megabatches[0][0]];
  }
  return Int32Array.from(megabatches.flat());
}
