// pipeline("text-classification"): transformers' TextClassificationPipeline for a fine-tuned model —
// text (or a { text, textPair } pair, or a batch of either) in, [{ label, score }] out, labels from the
// model's id2label, softmax over the classes (sigmoid for multi-label or a single output), topK.
import type { PreTrainedTokenizer } from "../tokenizers/index.js";
import { Callable } from "../tokenizers/callable.js";
import type { PreTrainedModel } from "../models/index.js";
import { inference, modelInputs } from "./model_inputs.js";

export interface TextPair {
  text: string;
  textPair?: string;
}
export type TextClassificationInput = string | TextPair;
export interface LabelScore {
  label: string;
  score: number;
}
export interface TextClassificationOptions {
  /** How many labels per input: 1 (default) gives the best; null gives every label, best first. */
  topK?: number | null;
  /** HF's function_to_apply: "softmax", "sigmoid" or "none"; by default from the model's problem type. */
  functionToApply?: "softmax" | "sigmoid" | "none";
  /** Inputs per forward pass (default 8). */
  batchSize?: number;
}

/** Callable as in Python: `classifier("text")`, `classifier([{ text, textPair }], { topK: null })`. */
export interface TextClassificationPipeline {
  (inputs: TextClassificationInput, o?: TextClassificationOptions): LabelScore[];
  (inputs: TextClassificationInput[], o?: TextClassificationOptions): LabelScore[][];
}

export class TextClassificationPipeline extends Callable {
  readonly model: PreTrainedModel;
  readonly tokenizer: PreTrainedTokenizer;

  constructor(model: PreTrainedModel, tokenizer: PreTrainedTokenizer) {
    super();
    this.model = model;
    this.tokenizer = tokenizer;
  }

  protected override __call__(inputs: TextClassificationInput | TextClassificationInput[], o?: TextClassificationOptions): LabelScore[] | LabelScore[][] {
    return this.#classify(inputs, o);
  }

  /** One input gives its labels (a list, as HF's); a batch gives one list per input. */
  run(inputs: TextClassificationInput, o?: TextClassificationOptions): LabelScore[];
  run(inputs: TextClassificationInput[], o?: TextClassificationOptions): LabelScore[][];
  run(inputs: TextClassificationInput | TextClassificationInput[], o?: TextClassificationOptions): LabelScore[] | LabelScore[][] {
    return this.#classify(inputs, o);
  }

  #classify(inputs: TextClassificationInput | TextClassificationInput[], o: TextClassificationOptions = {}): LabelScore[] | LabelScore[][] {
    const batch = Array.isArray(inputs);
    const list = (batch ? inputs : [inputs]).map((x, i) => {
      if (typeof x === "string") return { text: x, textPair: undefined };
      if (x && typeof x === "object" && typeof x.text === "string" && (x.textPair === undefined || typeof x.textPair === "string")) return x;
      throw new TypeError(`text-classification: input ${i} must be a string or { text, textPair } of strings, got ${JSON.stringify(x)}`);
    });
    const pairs = list.some((x) => x.textPair !== undefined);
    if (pairs && list.some((x) => x.textPair === undefined)) throw new TypeError("text-classification: give every input a textPair, or none");
    const size = o.batchSize ?? 8;
    const scores: number[][] = [];
    const config = this.model.config;
    const fn =
      o.functionToApply ??
      (config.problemType === "multi_label_classification" || config.numLabels === 1 ? "sigmoid" : config.problemType === "regression" ? "none" : "softmax");
    for (let s = 0; s < list.length; s += size) {
      const part = list.slice(s, s + size);
      const rows = inference(this.model, () => {
        const enc = this.tokenizer(
          part.map((x) => x.text),
          pairs ? part.map((x) => x.textPair!) : null,
          { truncation: true, padding: true },
        );
        const logits = this.model.forward(modelInputs(this.tokenizer, enc, false)).logits!.float();
        const out = fn === "softmax" ? logits.softmax(-1) : fn === "sigmoid" ? logits.sigmoid() : logits;
        return out.toArray() as number[][];
      });
      scores.push(...rows);
    }
    const id2label = config.id2label ?? {};
    const topK = o.topK === undefined ? 1 : o.topK;
    const results = scores.map((row) => {
      const ranked = row.map((score, i) => ({ label: id2label[String(i)] ?? `LABEL_${i}`, score })).sort((a, b) => b.score - a.score);
      return topK === null ? ranked : ranked.slice(0, topK);
    });
    return batch ? results : results[0];
  }
}
