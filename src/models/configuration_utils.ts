// PretrainedConfig: a model's config.json, with the fields every Hugging Face config shares
// (id2label/label2id, num_labels, problem_type, …) and each architecture's own defaults.
import { resolveFile, type HubOptions } from "../hub/index.js";
import { readJsonObject } from "../util/files.js";

export type Json = Record<string, unknown>;
export type ProblemType = "regression" | "single_label_classification" | "multi_label_classification";

/** The version written into saved configs: the transformers release whose format we follow. */
export const TRANSFORMERS_VERSION = "4.46.0";

export class PretrainedConfig {
  /** Overridden by each architecture: HF's model_type. */
  static readonly modelType: string = "";
  /** Each architecture's defaults, by HF's config.json names. */
  static readonly defaults: Json = {};

  readonly values: Json;

  constructor(values: Json = {}) {
    const cls = this.constructor as typeof PretrainedConfig;
    const v: Json = { ...cls.defaults, ...values };
    v.model_type = cls.modelType || v.model_type;
    // num_labels → id2label/label2id as HF does; given labels win.
    let id2label = v.id2label as Record<string, string> | undefined;
    if (!id2label) {
      const n = (v.num_labels as number | undefined) ?? 2;
      if (!Number.isInteger(n) || n < 1) throw new RangeError(`num_labels must be a positive integer, got ${n}`);
      id2label = Object.fromEntries(Array.from({ length: n }, (_, i) => [String(i), `LABEL_${i}`]));
    }
    v.id2label = Object.fromEntries(Object.entries(id2label).map(([k, l]) => [String(Number(k)), l]));
    v.label2id = v.label2id ?? Object.fromEntries(Object.entries(v.id2label as Record<string, string>).map(([k, l]) => [l, Number(k)]));
    delete v.num_labels;
    if (
      v.problem_type !== undefined &&
      v.problem_type !== null &&
      !["regression", "single_label_classification", "multi_label_classification"].includes(v.problem_type as string)
    ) {
      throw new TypeError(
        `The config parameter \`problem_type\` was not understood: received ${v.problem_type} but only 'regression', 'single_label_classification' and 'multi_label_classification' are valid.`,
      );
    }
    this.values = v;
  }

  get<T = unknown>(key: string): T {
    return this.values[key] as T;
  }
  /** A required field; a checkpoint without it gets an error naming the key. */
  need<T = unknown>(key: string): T {
    const v = this.values[key];
    if (v === undefined || v === null) throw new Error(`config.json of this ${(this.constructor as typeof PretrainedConfig).modelType} model has no '${key}'`);
    return v as T;
  }

  get modelType(): string {
    return this.values.model_type as string;
  }
  get numLabels(): number {
    return Object.keys(this.id2label).length;
  }
  get id2label(): Record<string, string> {
    return this.values.id2label as Record<string, string>;
  }
  get label2id(): Record<string, number> {
    return this.values.label2id as Record<string, number>;
  }
  get problemType(): ProblemType | null {
    return (this.values.problem_type as ProblemType | undefined) ?? null;
  }
  set problemType(p: ProblemType | null) {
    this.values.problem_type = p;
  }
  get classifierDropout(): number | null {
    return (this.values.classifier_dropout as number | null | undefined) ?? null;
  }

  /** config.json as HF writes it: sorted keys, indent 2, trailing newline. */
  toJsonString(extra: Json = {}): string {
    const v: Json = { ...this.values, ...extra, transformers_version: TRANSFORMERS_VERSION };
    const sorted = Object.fromEntries(
      Object.keys(v)
        .sort()
        .map((k) => [k, v[k]]),
    );
    return JSON.stringify(sorted, null, 2) + "\n";
  }

  toString(): string {
    return `${this.constructor.name} ${this.toJsonString()}`;
  }
}

export function readConfigJson(path: string): Json {
  return readJsonObject(path);
}

export async function loadConfigJson(nameOrPath: string, o: HubOptions = {}): Promise<{ json: Json; path: string }> {
  const path = (await resolveFile(nameOrPath, "config.json", o))!;
  return { json: readConfigJson(path), path };
}
