// DataCollatorWithPadding: a list of tokenized examples → one padded batch of tensors, with
// `label`/`label_ids` renamed to `labels`, as transformers' collator does for the Trainer.
import { Callable } from "../tokenizers/callable.js";
import type { PreTrainedTokenizer, PaddingStrategy } from "../tokenizers/index.js";
import type { Tensor } from "../torch/index.js";

export type Features = Record<string, unknown>;
export type Batch = Record<string, Tensor>;

export interface DataCollatorWithPadding {
  /** A list of examples (rows), or a batch of columns (`ds.slice(0, 8)`), as tokenizer.pad takes. */
  (features: Features[] | Record<string, unknown[]>): Batch;
}

export class DataCollatorWithPadding extends Callable {
  readonly tokenizer: PreTrainedTokenizer;
  readonly padding: boolean | PaddingStrategy;
  readonly maxLength: number | null;
  readonly padToMultipleOf: number | null;

  readonly returnTensors: "pt";

  constructor(o: { tokenizer: PreTrainedTokenizer; padding?: boolean | PaddingStrategy; maxLength?: number | null; padToMultipleOf?: number | null; returnTensors?: "pt" }) {
    super();
    if (!o || typeof o.tokenizer?.pad !== "function") throw new TypeError("DataCollatorWithPadding: { tokenizer } is required (a PreTrainedTokenizer)");
    // HF's return_tensors also takes "np" and "tf"; here the batch is always libtorch tensors.
    if (o.returnTensors !== undefined && o.returnTensors !== "pt") throw new TypeError(`DataCollatorWithPadding: returnTensors must be "pt" (libtorch tensors), got ${JSON.stringify(o.returnTensors)}`);
    this.returnTensors = "pt";
    this.tokenizer = o.tokenizer;
    this.padding = o.padding ?? true;
    this.maxLength = o.maxLength ?? null;
    this.padToMultipleOf = o.padToMultipleOf ?? null;
  }

  protected override __call__(input: Features[] | Record<string, unknown[]>): Batch {
    const features = Array.isArray(input) ? input : rowsOf(input);
    if (features.length === 0) throw new TypeError("DataCollatorWithPadding: expected a non-empty array of features or batch of columns");
    const renamed = features.map((f, i) => {
      if (f === null || typeof f !== "object") throw new TypeError(`DataCollatorWithPadding: feature ${i} is not an object`);
      const out = { ...f };
      for (const k of ["label", "label_ids"]) {
        if (k in out) {
          out.labels = out[k];
          delete out[k];
        }
      }
      return out;
    });
    return this.tokenizer.pad(renamed, {
      padding: this.padding,
      maxLength: this.maxLength,
      padToMultipleOf: this.padToMultipleOf,
      returnTensors: "pt",
    }) as unknown as Batch;
  }
}

/** A batch of columns ({ input_ids: [...], labels: [...] }) as rows; every column must be as long. */
function rowsOf(columns: Record<string, unknown[]>): Features[] {
  if (columns === null || typeof columns !== "object") throw new TypeError("DataCollatorWithPadding: expected a non-empty array of features or batch of columns");
  const entries = Object.entries(columns);
  for (const [k, v] of entries) {
    if (!Array.isArray(v)) throw new TypeError(`DataCollatorWithPadding: column '${k}' of the batch is not an array`);
    if (v.length !== entries[0][1].length) throw new RangeError(`DataCollatorWithPadding: column '${k}' has ${v.length} values, '${entries[0][0]}' has ${entries[0][1].length}`);
  }
  const n = entries.length ? entries[0][1].length : 0;
  return Array.from({ length: n }, (_, i) => Object.fromEntries(entries.map(([k, v]) => [k, v[i]])));
}
