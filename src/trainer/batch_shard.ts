// accelerate's BatchSamplerShard (split_batches=False, even_batches=True), which HF's Trainer uses
// under DDP: every rank walks the same batches of the same seeded order and takes batch i when
// i % worldSize is its rank. So that every rank makes the same number of full batches (a rank with a
// batch less would leave the others waiting in the all-reduce), the last round is completed from the
// first batches' rows, as accelerate does; with dropLast it is dropped instead.

/** This rank's batches out of `batches` (all of size `batchSize` except possibly the last). */
export function shardBatches(batches: Int32Array[], batchSize: number, worldSize: number, rank: number, dropLast: boolean): Int32Array[] {
  if (worldSize === 1) return batches;
  const out: Int32Array[] = [];
  let initial: number[] = [];
  let toYield: Int32Array | null = null;
  let idx = -1;
  let last: number[] = [];
  for (const batch of batches) {
    idx++;
    last = Array.from(batch);
    // The first round's rows, to complete the last round with.
    if (!dropLast && idx < worldSize) initial.push(...batch);
    if (idx % worldSize === rank) toYield = batch;
    if (idx % worldSize === worldSize - 1 && batch.length === batchSize) {
      out.push(toYield!);
      toYield = null;
    }
  }
  if (dropLast || !initial.length) return out;
  // A full batch of ours in an unfinished round is ours to yield.
  if (toYield && toYield.length === batchSize) out.push(toYield);
  // A dataset smaller than one round is repeated until it fills one.
  while (initial.length < worldSize * batchSize) initial = initial.concat(initial);
  let pending = last;
  // The last batch, when full, was handed out above: the completion starts after it.
  if (pending.length === batchSize) {
    pending = [];
    idx++;
  }
  let cycle = 0;
  while (idx % worldSize !== 0 || pending.length > 0) {
    const end = cycle + batchSize - pending.length;
    const batch = pending.concat(initial.slice(cycle, end));
    if (idx % worldSize === rank) out.push(Int32Array.from(batch));
    cycle = end;
    pending = [];
    idx++;
  }
  return out;
}

/** Rows the completion added in total over all ranks: what accelerate's gather_for_metrics drops. */
export function shardPadding(numRows: number, batchSize: number, worldSize: number): number {
  const total = batchSize * worldSize;
  const rem = numRows % total;
  return rem === 0 ? 0 : total - rem;
}
