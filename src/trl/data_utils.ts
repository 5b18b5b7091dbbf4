// TRL's pack_dataset (trl/data_utils.py, TRL 1.x): token lists of a dataset packed into rows of at most
// seqLength tokens, by Best Fit Decreasing (sequence boundaries kept, `seq_lengths` recorded so a
// padding-free collator can restart position ids) or by wrapping. As in TRL, packing runs per batch of
// a batched map (1000 rows unless batchSize says otherwise): no packed row mixes two batches.
import { Dataset } from "../datasets/index.js";
import { hashOf } from "../datasets/fingerprint.js";

export type PackingStrategy = "bfd" | "bfd_split" | "wrapped";
const STRATEGIES: PackingStrategy[] = ["bfd", "bfd_split", "wrapped"];

type Columns = Record<string, unknown[][]>;

/** TRL's _check_if_columns_can_be_packed: every column a list per row, all of the same lengths. */
function listColumns(batch: Record<string, unknown[]>): Columns {
  const names = Object.keys(batch);
  if (!names.length) throw new Error("packDataset: the dataset has no columns");
  for (const c of names)
    if (!batch[c].every((v) => Array.isArray(v))) throw new TypeError(`Packing requires all columns to be lists of lists (column '${c}' is not).`);
  const cols = batch as Columns;
  const first = cols[names[0]];
  for (const c of names.slice(1))
    if (cols[c].some((v, i) => v.length !== first[i].length))
      throw new Error(`All columns must have values of the same length (column '${c}' differs from '${names[0]}').`);
  return cols;
}

/**
 * TRL's _SegmentTree: over spaces 1..maxval, the smallest available space that is at least a given
 * length (each node keeps the largest space under it; the search goes left whenever the left half fits).
 */
class SegmentTree {
  readonly size: number;
  readonly tree: Int32Array;
  constructor(readonly maxval: number) {
    this.size = 1 << Math.ceil(Math.log2(Math.max(1, maxval)));
    while (this.size < maxval) this.size <<= 1;
    this.tree = new Int32Array(2 * this.size);
  }
  #set(val: number, to: number): void {
    let i = this.size + val - 1;
    this.tree[i] = to;
    while (i > 1) {
      i >>= 1;
      const l = this.tree[i << 1];
      const r = this.tree[(i << 1) + 1];
      this.tree[i] = l >= r ? l : r;
    }
  }
  add(val: number): void {
    this.#set(val, val);
  }
  remove(val: number): void {
    this.#set(val, 0);
  }
  search(val: number): number {
    let i = 1;
    while (i < this.size) i = this.tree[i << 1] >= val ? i << 1 : (i << 1) + 1;
    return this.tree[i];
  }
}

/** TRL's _pack_bfd over one batch of columns. */
export function packBfd(batch: Record<string, unknown[]>, seqLength: number, onOverflow: "truncate" | "split" = "truncate"): Record<string, unknown[][]> {
  const cols = listColumns(batch);
  const names = Object.keys(cols);
  const first = cols[names[0]];
  // Empty sequences are dropped; long ones cut to seqLength (truncate) or into seqLength pieces (split).
  const rows: number[] = first.map((_, i) => i).filter((i) => first[i].length > 0);
  const pieces: { row: number; start: number; length: number }[] = [];
  for (const r of rows) {
    const n = first[r].length;
    if (onOverflow === "truncate") pieces.push({ row: r, start: 0, length: Math.min(n, seqLength) });
    else for (let s = 0; s < n; s += seqLength) pieces.push({ row: r, start: s, length: Math.min(seqLength, n - s) });
  }
  // Longest first; equal lengths keep their order (Arrow's sort is stable).
  const order = pieces.map((_, i) => i).sort((a, b) => pieces[b].length - pieces[a].length || a - b);
  const tree = new SegmentTree(seqLength);
  tree.add(seqLength);
  const spaceToBins = new Map<number, { ids: number[]; length: number }[]>();
  const bins: { ids: number[]; length: number }[] = [];
  for (const id of order) {
    const length = pieces[id].length;
    let space = tree.search(length);
    let bin: { ids: number[]; length: number };
    if (space < seqLength) bin = spaceToBins.get(space)!.shift()!;
    else {
      bin = { ids: [], length: 0 };
      bins.push(bin);
    }
    bin.ids.push(id);
    bin.length += length;
    if (space < seqLength && !spaceToBins.get(space)!.length) tree.remove(space);
    space -= length;
    if (!spaceToBins.has(space)) spaceToBins.set(space, []);
    spaceToBins.get(space)!.push(bin);
    if (space > 0) tree.add(space);
  }
  const out: Record<string, unknown[][]> = {};
  for (const c of names) out[c] = bins.map((b) => b.ids.flatMap((id) => cols[c][pieces[id].row].slice(pieces[id].start, pieces[id].start + pieces[id].length)));
  out.seq_lengths = bins.map((b) => b.ids.map((id) => pieces[id].length));
  return out;
}

/** TRL's _pack_wrapped over one batch: every column's tokens run together, cut every seqLength. */
export function packWrapped(batch: Record<string, unknown[]>, seqLength: number): Record<string, unknown[][]> {
  const cols = listColumns(batch);
  const out: Record<string, unknown[][]> = {};
  for (const [c, rows] of Object.entries(cols)) {
    const flat = rows.flat();
    out[c] = [];
    for (let s = 0; s < flat.length; s += seqLength) out[c].push(flat.slice(s, s + seqLength));
  }
  return out;
}

/**
 * TRL's pack_dataset(dataset, seq_length, strategy): "bfd" (boundaries kept, long sequences cut),
 * "bfd_split" (long sequences split into pieces that are packed too), or "wrapped" (tokens run
 * together and cut every seqLength). Every column must hold a list per row (input_ids, attention_mask,
 * completion_mask, …); the BFD strategies add `seq_lengths`. The row count changes.
 */
export async function packDataset(dataset: Dataset, seqLength: number, o: { strategy?: PackingStrategy; batchSize?: number } = {}): Promise<Dataset> {
  const strategy = o.strategy ?? "bfd";
  if (!STRATEGIES.includes(strategy)) throw new Error(`Invalid packing strategy '${String(strategy)}', must be one of ('bfd', 'bfd_split', 'wrapped').`);
  if (!Number.isInteger(seqLength) || seqLength <= 0) throw new RangeError(`packDataset: seqLength must be a positive integer, got ${seqLength}`);
  const pack =
    strategy === "wrapped"
      ? (batch: Record<string, unknown[]>) => packWrapped(batch, seqLength)
      : (batch: Record<string, unknown[]>) => packBfd(batch, seqLength, strategy === "bfd" ? "truncate" : "split");
  return dataset.map(pack, {
    batched: true,
    batchSize: o.batchSize ?? 1000,
    removeColumns: dataset.columnNames,
    // The packing depends on seqLength and the strategy, which fn's source does not show.
    newFingerprint: hashOf(dataset.fingerprint, "packDataset", seqLength, strategy, o.batchSize ?? 1000),
    desc: `Packing dataset`,
  });
}
