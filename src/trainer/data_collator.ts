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

  constructor(o: {
    tokenizer: PreTrainedTokenizer;
    padding?: boolean | PaddingStrategy;
    maxLength?: number | null;
    padToMultipleOf?: number | null;
    returnTensors?: "pt";
  }) {
    super();
    if (!o || typeof o.tokenizer?.pad !== "function") throw new TypeError("DataCollatorWithPadding: { tokenizer } is required (a PreTrainedTokenizer)");
    // HF's return_tensors also takes "np" and "tf"; here the batch is always libtorch tensors.
    if (o.returnTensors !== undefined && o.returnTensors !== "pt")
      throw new TypeError(`DataCollatorWithPadding: returnTensors must be "pt" (libtorch tensors), got ${JSON.stringify(o.returnTensors)}`);
    this.returnTensors = "pt";
    this.tokenizer = o.tokenizer;
    this.padding = o.padding ?? true;
    this.maxLength = o.maxLength ?? null;
    this.padToMultipleOf = o.padToMultipleOf ?? null;
  }

  protected override __call__(input: Features[] | Record<string, unknown[]>): Batch {
    if (input === null || typeof input !== "object" || (Array.isArray(input) && input.length === 0)) {
      throw new TypeError("DataCollatorWithPadding: expected a non-empty array of features or batch of columns");
    }
    // A row and a batch of columns name their label the same way; tokenizer.pad takes either.
    const features = Array.isArray(input)
      ? input.map((f, i) => {
          if (f === null || typeof f !== "object") throw new TypeError(`DataCollatorWithPadding: feature ${i} is not an object`);
          return withLabels(f);
        })
      : withLabels(input);
    return this.tokenizer.pad(features, {
      padding: this.padding,
      maxLength: this.maxLength,
      padToMultipleOf: this.padToMultipleOf,
      returnTensors: "pt",
    }) as unknown as Batch;
  }
}

/** `label`/`label_ids` renamed `labels`, as transformers' collator does for the Trainer. */
function withLabels<T extends Record<string, unknown>>(f: T): T {
  const out: Record<string, unknown> = { ...f };
  for (const k of ["label", "label_ids"]) {
    if (k in out) {
      out.labels = out[k];
      delete out[k];
    }
  }
  return out as T;
}
