// transformers' collators: DataCollatorWithPadding (a list of tokenized examples → one padded batch of
// tensors, with `label`/`label_ids` renamed to `labels`) and DataCollatorForTokenClassification (the
// per-token labels padded with -100 beside the inputs).
import { Callable } from "../tokenizers/callable.js";
import type { PreTrainedTokenizer, PaddingStrategy } from "../tokenizers/index.js";
import * as torch from "../torch/index.js";
import type { Tensor } from "../torch/index.js";

export type Features = Record<string, unknown>;
export type Batch = Record<string, Tensor>;

interface PaddingOptions {
  tokenizer: PreTrainedTokenizer;
  padding?: boolean | PaddingStrategy;
  maxLength?: number | null;
  padToMultipleOf?: number | null;
  returnTensors?: "pt";
}

/** The padding options both collators take, checked and with HF's defaults. */
function paddingOptions(who: string, o: PaddingOptions) {
  if (!o || typeof o.tokenizer?.pad !== "function") throw new TypeError(`${who}: { tokenizer } is required (a PreTrainedTokenizer)`);
  // HF's return_tensors also takes "np" and "tf"; here the batch is always libtorch tensors.
  if (o.returnTensors !== undefined && o.returnTensors !== "pt")
    throw new TypeError(`${who}: returnTensors must be "pt" (libtorch tensors), got ${JSON.stringify(o.returnTensors)}`);
  return {
    tokenizer: o.tokenizer,
    padding: o.padding ?? true,
    maxLength: o.maxLength ?? null,
    padToMultipleOf: o.padToMultipleOf ?? null,
    returnTensors: "pt" as const,
  };
}

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

  constructor(o: PaddingOptions) {
    super();
    ({
      tokenizer: this.tokenizer,
      padding: this.padding,
      maxLength: this.maxLength,
      padToMultipleOf: this.padToMultipleOf,
      returnTensors: this.returnTensors,
    } = paddingOptions("DataCollatorWithPadding", o));
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

export interface DataCollatorForTokenClassification {
  (features: Features[]): Batch;
}

/**
 * transformers' DataCollatorForTokenClassification: the inputs padded by the tokenizer, the labels (one
 * per token, under `labels` or `label`, which keeps its name) padded to the same length with
 * labelPadTokenId (-100, which the loss ignores), on the tokenizer's padding side.
 */
export class DataCollatorForTokenClassification extends Callable {
  readonly tokenizer: PreTrainedTokenizer;
  readonly padding: boolean | PaddingStrategy;
  readonly maxLength: number | null;
  readonly padToMultipleOf: number | null;
  readonly labelPadTokenId: number;
  readonly returnTensors: "pt";

  constructor(o: PaddingOptions & { labelPadTokenId?: number }) {
    super();
    ({
      tokenizer: this.tokenizer,
      padding: this.padding,
      maxLength: this.maxLength,
      padToMultipleOf: this.padToMultipleOf,
      returnTensors: this.returnTensors,
    } = paddingOptions("DataCollatorForTokenClassification", o));
    this.labelPadTokenId = o?.labelPadTokenId ?? -100;
  }

  protected override __call__(features: Features[]): Batch {
    if (!Array.isArray(features) || features.length === 0) throw new TypeError("DataCollatorForTokenClassification: expected a non-empty array of features");
    const labelName = "label" in features[0] ? "label" : "labels";
    const labels = labelName in features[0] ? features.map((f) => f[labelName]) : null;
    const inputs = features.map((f) => Object.fromEntries(Object.entries(f).filter(([k]) => k !== labelName)));
    const batch = this.tokenizer.pad(inputs, {
      padding: this.padding,
      maxLength: this.maxLength,
      padToMultipleOf: this.padToMultipleOf,
      returnTensors: "pt",
    }) as unknown as Batch;
    if (!labels) return batch;
    const length = batch.input_ids.shape[1];
    const right = this.tokenizer.paddingSide === "right";
    const rows = labels.map((l, i) => {
      if (!Array.isArray(l) || !l.every((v) => typeof v === "number")) {
        throw new TypeError(
          `DataCollatorForTokenClassification: feature ${i}'s '${labelName}' must be a list of label ids (one per token), got ${JSON.stringify(l)?.slice(0, 60)}`,
        );
      }
      if (l.length > length) throw new RangeError(`DataCollatorForTokenClassification: feature ${i} has ${l.length} labels for ${length} tokens`);
      const pad = new Array<number>(length - l.length).fill(this.labelPadTokenId);
      return right ? [...(l as number[]), ...pad] : [...pad, ...(l as number[])];
    });
    batch[labelName] = torch.tensor(rows, { dtype: "int64" });
    return batch;
  }
}
