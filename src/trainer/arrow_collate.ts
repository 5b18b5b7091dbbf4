// DataCollatorWithPadding read straight from Arrow: for the rows of a batch, each list column's
// values are copied out of the Arrow buffers into one padded typed array, and each field becomes a
// tensor in one native call. No JS object per row, and no decode of the whole dataset, so memory
// does not grow with the dataset. Gives the same tensors as the collator (a test compares them);
// used by the Trainer when the collator is a plain DataCollatorWithPadding.
import * as arrow from "apache-arrow";
import * as torch from "../torch/index.js";
import { ClassLabel, Sequence, Value, type Dataset } from "../datasets/index.js";
import { DataCollatorWithPadding, type Batch } from "./data_collator.js";
import { LABEL_COLUMNS } from "./data_checks.js";

type IntArray = Int8Array | Int16Array | Int32Array | BigInt64Array | Uint8Array | Uint16Array | Uint32Array | BigUint64Array;

/** Where a table row's values are: the chunk holding it, and the row within the chunk. */
class Chunks {
  readonly data: readonly arrow.Data[];
  readonly starts: Int32Array;
  constructor(vector: arrow.Vector) {
    this.data = vector.data;
    this.starts = new Int32Array(this.data.length + 1);
    this.data.forEach((d, i) => (this.starts[i + 1] = this.starts[i] + d.length));
  }
  locate(row: number): [arrow.Data, number] {
    let lo = 0;
    let hi = this.data.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (this.starts[mid] <= row) lo = mid;
      else hi = mid - 1;
    }
    return [this.data[lo], row - this.starts[lo]];
  }
}

const PAD_VALUES: Record<string, (padId: number) => number> = {
  input_ids: (padId) => padId,
  attention_mask: () => 0,
  token_type_ids: () => 0,
  special_tokens_mask: () => 1,
};

interface ListColumn {
  name: string;
  chunks: Chunks;
  pad: number;
}
interface LabelColumn {
  chunks: Chunks;
  float: boolean;
}

export class ArrowPaddingCollator {
  private constructor(
    readonly ds: Dataset,
    readonly lists: ListColumn[],
    readonly label: LabelColumn | null,
    readonly side: "left" | "right",
    readonly multiple: number | null,
  ) {}

  /** A reader for these columns of ds, or null when the collator or a column is not one it handles (the caller then uses the collator). */
  static for(collator: unknown, ds: Dataset, columns: string[]): ArrowPaddingCollator | null {
    if (!(collator instanceof DataCollatorWithPadding) || collator.constructor !== DataCollatorWithPadding) return null;
    if (!(collator.padding === true || collator.padding === "longest") || collator.maxLength !== null) return null;
    if (!columns.includes("input_ids")) return null;
    const lists: ListColumn[] = [];
    let label: LabelColumn | null = null;
    for (const c of columns) {
      const f = ds.features[c];
      if (LABEL_COLUMNS.includes(c)) {
        if (label) return null;
        const isInt = f instanceof ClassLabel || (f instanceof Value && /^u?int/.test(f.dtype));
        const isFloat = f instanceof Value && /^float/.test(f.dtype);
        if (!isInt && !isFloat) return null;
        label = { chunks: new Chunks(ds.arrowColumn(c)), float: isFloat };
        continue;
      }
      if (!(f instanceof Sequence) || !(f.feature instanceof Value) || !/^u?int/.test(f.feature.dtype) || !(c in PAD_VALUES)) return null;
      const padId = collator.tokenizer.padTokenId;
      if (c === "input_ids" && padId === null) return null; // the collator's own error says what is missing
      lists.push({ name: c, chunks: new Chunks(ds.arrowColumn(c)), pad: PAD_VALUES[c](padId ?? 0) });
    }
    // Without an attention_mask column the collator makes one; leave that to it.
    if (!lists.some((l) => l.name === "attention_mask") && collator.tokenizer.modelInputNames.includes("attention_mask")) return null;
    return new ArrowPaddingCollator(ds, lists, label, collator.tokenizer.paddingSide, collator.padToMultipleOf);
  }

  /** The batch for these rows of the dataset, as the collator would give it. */
  collate(rows: Int32Array): Batch {
    const tableRows = this.ds.tableRows(rows);
    const n = tableRows.length;
    // Each row's [values, start, end] in its column's Arrow buffers.
    const spans = this.lists.map((l) =>
      Array.from(tableRows, (r) => {
        const [d, i] = l.chunks.locate(r);
        if (!d.getValid(i)) throw new Error(`row ${r}: column '${l.name}' is missing (null)`);
        // A sliced Data has its offsets (and a flat column its values) already cut at d.offset, and the
        // child's values at the child's offset: index them as Arrow's own getters do, without the offsets.
        const offsets = d.valueOffsets;
        const child = d.children[0];
        return { values: child.values as IntArray, start: offsets[i], end: offsets[i + 1] };
      }),
    );
    const lengths = spans[this.lists.findIndex((l) => l.name === "input_ids")].map((s) => s.end - s.start);
    let width = Math.max(...lengths);
    if (this.multiple && width % this.multiple !== 0) width = (Math.floor(width / this.multiple) + 1) * this.multiple;
    const out: Batch = {};
    this.lists.forEach((l, c) => {
      const buf = new BigInt64Array(n * width).fill(BigInt(l.pad));
      spans[c].forEach((s, k) => {
        const len = s.end - s.start;
        if (len !== lengths[k]) throw new Error(`row ${tableRows[k]}: column '${l.name}' has ${len} values but input_ids has ${lengths[k]}`);
        const at = k * width + (this.side === "right" ? 0 : width - len);
        for (let j = 0; j < len; j++) buf[at + j] = BigInt(s.values[s.start + j]);
      });
      out[l.name] = torch.tensor(buf, { shape: [n, width] });
    });
    if (this.label) {
      const values = Array.from(tableRows, (r) => {
        const [d, i] = this.label!.chunks.locate(r);
        if (!d.getValid(i)) throw new Error(`row ${r}: the label is missing (null)`);
        return Number((d.values as IntArray | Float32Array | Float64Array)[i]);
      });
      out.labels = this.label.float ? torch.tensor(Float32Array.from(values)) : torch.tensor(BigInt64Array.from(values, (v) => BigInt(v)));
    }
    return out;
  }
}
