// DataCollatorWithPadding: a list of tokenized examples → one padded batch of tensors, with
// `label`/`label_ids` renamed to `labels`, as transformers' collator does for the Trainer.
import { Callable } from "../tokenizers/callable.js";
import type { PreTrainedTokenizer, PaddingStrategy } from "../tokenizers/index.js";
import type { Tensor } from "../torch/index.js";

export type Features = Record<string, unknown>;
export type Batch = Record<string, Tensor>;

export interface DataCollatorWithPadding {
  (features: Features[]): Batch;
}

export class DataCollatorWithPadding extends Callable {
  readonly tokenizer: PreTrainedTokenizer;
  readonly padding: boolean | PaddingStrategy;
  readonly maxLength: number | null;
  readonly padToMultipleOf: number | null;

  constructor(o: { tokenizer: PreTrainedTokenizer; padding?: boolean | PaddingStrategy; maxLength?: number | null; padToMultipleOf?: number | null }) {
    super();
    if (!o || typeof o.tokenizer?.pad !== "function") throw new TypeError("DataCollatorWithPadding: { tokenizer } is required (a PreTrainedTokenizer)");
    this.tokenizer = o.tokenizer;
    this.padding = o.padding ?? true;
    this.maxLength = o.maxLength ?? null;
    this.padToMultipleOf = o.padToMultipleOf ?? null;
  }

  protected override __call__(features: Features[]): Batch {
    if (!Array.isArray(features) || features.length === 0) throw new TypeError("DataCollatorWithPadding: expected a non-empty array of features");
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
