// What the Trainer checks of a dataset before the first step, so that a bad value fails with the
// column, the row and the value named instead of deep in a loss or an embedding: labels a classifier
// cannot take, and token ids past the model's vocabulary.
import * as arrow from "apache-arrow";
import type { Dataset } from "../datasets/index.js";
import type { PreTrainedModel } from "../models/index.js";
import { pyFloat } from "../util/py_float.js";

/** The columns the Trainer reads labels from (HF's default collator and label_names). */
export const LABEL_COLUMNS = ["label", "labels", "label_ids"];

/** Labels outside 0..num_labels-1 (other than -100, the ignore index) fail naming the column, the value and the row. */
export function checkLabels(model: PreTrainedModel, ds: Dataset, columns: string[], what: string): void {
  const config = model.config;
  const { size: n, name } = model.labelSpace();
  const problem = config.problemType;
  if (name === "num_labels" && (problem === "regression" || problem === "multi_label_classification" || (problem === null && n === 1))) return;
  for (const col of columns.filter((c) => LABEL_COLUMNS.includes(c))) {
    // The common case in one pass over the Arrow buffers; rows are decoded only to name an offender.
    if (buffersHoldLabels(ds.arrowColumn(col), n)) continue;
    const values = ds.column(col) as unknown[];
    for (let r = 0; r < values.length; r++) {
      const row = values[r];
      for (const v of Array.isArray(row) ? (row.flat(4) as unknown[]) : [row]) {
        if (v === -100) continue; // ignore_index, as the loss ignores it
        if (v === null || v === undefined) {
          // A hole (a word-level label list shorter than the words, say) would otherwise be read as 0.
          throw new Error(`${what}: column '${col}' holds a missing value (null) at row ${r}: every label must be set (-100 to ignore a token)`);
        }
        if (typeof v !== "number" || !Number.isInteger(v) || v < 0 || v >= n) {
          throw new Error(
            `${what}: column '${col}' holds ${typeof v === "number" ? pyFloat(v).replace(/\.0$/, "") : JSON.stringify(v)} at row ${r}, but the model has ${name}=${n}, so labels must be integers 0..${n - 1} (or -100 to ignore). ${name === "num_labels" ? "Set numLabels when loading the model, or fix the data." : "Fix the data (a tokenizer of another model?)."}`,
          );
        }
      }
    }
  }
}

/**
 * Whether every value in a label column's Arrow buffers (a flat column or a list column's child; every
 * row of the table, selected or not) is an integer in [0, n) or -100, with no nulls anywhere. False
 * sends the caller to the row-by-row check, which names the row (or finds the bad value unselected).
 */
const arrowIsInt = (t: arrow.DataType) => arrow.DataType.isInt(t);

function buffersHoldLabels(column: arrow.Vector, n: number): boolean {
  for (const d of column.data) {
    const leaf = d.children.length ? d.children[0] : d;
    // Only integer buffers are read as they are (bools are bit-packed, float16 stored as raw bits).
    if (d.nullCount > 0 || leaf.nullCount > 0 || leaf.children.length || !arrowIsInt(leaf.type)) return false;
    const values = leaf.values as ArrayLike<number | bigint> | undefined;
    if (!values) return false;
    for (let i = 0; i < values.length; i++) {
      const v = Number(values[i]);
      if (v !== -100 && !(Number.isInteger(v) && v >= 0 && v < n)) return false;
    }
  }
  return true;
}

/** The largest value of a list column's Arrow buffers (every row of the table, selected or not), without decoding rows. */
function bufferMax(column: arrow.Vector): number {
  let max = -Infinity;
  for (const d of column.data) {
    const child = d.children[0];
    const values = child?.values as ArrayLike<number | bigint> | undefined;
    if (!values) continue;
    for (let i = 0; i < values.length; i++) {
      const v = Number(values[i]);
      if (v > max) max = v;
    }
  }
  return max;
}

/**
 * Token ids at or past the model's vocab_size fail naming the id, the row, the column and the two
 * names that do not belong together (PyTorch only says "index out of range in self" from the embedding).
 */
export function checkTokenIds(model: PreTrainedModel, ds: Dataset, columns: string[], what: string, tokenizerName: string | null): void {
  const vocab = model.config.get<number>("vocab_size");
  if (typeof vocab !== "number" || !columns.includes("input_ids")) return;
  const column = ds.arrowColumn("input_ids");
  if (bufferMax(column) < vocab) return; // the common case: one pass over the buffers
  const rows = ds.column("input_ids") as number[][];
  for (let r = 0; r < rows.length; r++) {
    const at = rows[r].findIndex((id) => id >= vocab || id < 0);
    if (at < 0) continue;
    throw new RangeError(
      `${what}: column 'input_ids' holds token id ${rows[r][at]} at row ${r} (position ${at}), but the model (${model.nameOrPath || model.constructor.name}) has vocab_size=${vocab}: ` +
        `ids must be 0..${vocab - 1}. The data was tokenized with a tokenizer${tokenizerName ? ` (${tokenizerName})` : ""} whose vocabulary does not match this model's; tokenize with the model's own tokenizer.`,
    );
  }
}
