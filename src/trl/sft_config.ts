// TRL's SFTConfig (trl/trainer/sft_config.py and base_config.py, TRL 1.x): TrainingArguments with the
// fields of supervised fine-tuning, and TRL's own defaults where they differ from the Trainer's —
// learning rate 2e-5, a log every 10 steps, gradient checkpointing on, bf16 unless fp16.
import { TrainingArguments, type TrainingArgumentsInit } from "../trainer/index.js";
import { FIELDS, toCamel, toSnake } from "../trainer/training_args.js";
import { logger } from "../models/logging.js";
import type { PackingStrategy } from "./data_utils.js";

export interface SFTConfigInit extends TrainingArgumentsInit {
  /** The column of plain text (language-modeling datasets). */
  datasetTextField?: string;
  /** { skipPrepareDataset: true } trains on a dataset that is already tokenized (input_ids and labels), as it is. */
  datasetKwargs?: { skipPrepareDataset?: boolean } | null;
  /** The token that ends a sequence or turn (null: the tokenizer's eos_token). */
  eosToken?: string | null;
  /** Longest tokenized sequence (null: no truncation); with packing, the packed rows' length. */
  maxLength?: number | null;
  /** "keep_start" cuts the end of long sequences ("keep_end", deprecated in TRL, cuts the start). */
  truncationMode?: "keep_start" | "keep_end";
  shuffleDataset?: boolean;
  /** Pack sequences into rows of maxLength tokens. */
  packing?: boolean;
  packingStrategy?: PackingStrategy;
  /** Batches as one row of concatenated sequences, position ids restarting at each (on with bfd packing). */
  paddingFree?: boolean;
  padToMultipleOf?: number | null;
  /** Pack the eval dataset (null: as packing). */
  evalPacking?: boolean | null;
  /** Loss on the completion only (null: yes for prompt–completion datasets). */
  completionOnlyLoss?: boolean | null;
  /** Loss on the assistant's tokens only, from the chat template's {% generation %} blocks. */
  assistantOnlyLoss?: boolean;
  /**
   * "nll", or TRL's default "chunked_nll": the same loss, which TRL computes on the labelled tokens
   * in chunks to save memory; here both run the model's own cross-entropy.
   */
  lossType?: "nll" | "chunked_nll";
  /** A Jinja chat template file (.jinja/.j2) to use instead of the tokenizer's. */
  chatTemplatePath?: string | null;
}

type SftOwnFields = Omit<SFTConfigInit, keyof TrainingArgumentsInit>;

const SFT_DEFAULTS: Required<SftOwnFields> = {
  datasetTextField: "text",
  datasetKwargs: null,
  eosToken: null,
  maxLength: 1024,
  truncationMode: "keep_start",
  shuffleDataset: false,
  packing: false,
  packingStrategy: "bfd",
  paddingFree: false,
  padToMultipleOf: null,
  evalPacking: null,
  completionOnlyLoss: null,
  assistantOnlyLoss: false,
  lossType: "chunked_nll",
  chatTemplatePath: null,
};
const SFT_FIELDS = Object.keys(SFT_DEFAULTS) as (keyof SftOwnFields)[];
const NULLABLE: (keyof SftOwnFields)[] = ["datasetKwargs", "eosToken", "maxLength", "padToMultipleOf", "evalPacking", "completionOnlyLoss", "chatTemplatePath"];

export class SFTConfig extends TrainingArguments {
  /** The fields SFTConfig adds to TrainingArguments (camelCase), in TRL's order. */
  static readonly sftFields: readonly (keyof SftOwnFields)[] = SFT_FIELDS;
  readonly datasetTextField!: string;
  readonly datasetKwargs!: { skipPrepareDataset?: boolean } | null;
  readonly eosToken!: string | null;
  readonly maxLength!: number | null;
  readonly truncationMode!: "keep_start" | "keep_end";
  readonly shuffleDataset!: boolean;
  readonly packing!: boolean;
  readonly packingStrategy!: PackingStrategy;
  readonly paddingFree!: boolean;
  readonly padToMultipleOf!: number | null;
  readonly evalPacking!: boolean | null;
  readonly completionOnlyLoss!: boolean | null;
  readonly assistantOnlyLoss!: boolean;
  readonly lossType!: "nll" | "chunked_nll";
  readonly chatTemplatePath!: string | null;

  constructor(init: SFTConfigInit) {
    if (!init || typeof init !== "object") throw new TypeError("SFTConfig: expected an object of fields");
    const own: Record<string, unknown> = {};
    const training: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(init)) {
      if (v === undefined) continue;
      if ((SFT_FIELDS as string[]).includes(k)) own[k] = v;
      else training[k] = v;
    }
    // TRL's defaults that differ from TrainingArguments' (base_config.py), unless given.
    const trl = { learningRate: 2e-5, loggingSteps: 10, gradientCheckpointing: true, bf16: !(init.fp16 ?? false) };
    super({ ...trl, ...training } as TrainingArgumentsInit);
    Object.assign(this, SFT_DEFAULTS, own);
    this.#validate();
  }

  #validate(): void {
    const self = this as Record<string, unknown>;
    if (this.maxLength !== null && !(Number.isInteger(this.maxLength) && this.maxLength > 0))
      throw new RangeError(`max_length must be a positive integer or null, got ${this.maxLength}`);
    if (this.padToMultipleOf !== null && !(Number.isInteger(this.padToMultipleOf) && this.padToMultipleOf > 0))
      throw new RangeError(`pad_to_multiple_of must be a positive integer or null, got ${this.padToMultipleOf}`);
    if (this.truncationMode !== "keep_start" && this.truncationMode !== "keep_end")
      throw new TypeError(`Unsupported truncation mode: ${String(this.truncationMode)}, expected 'keep_start' or 'keep_end'`);
    if (this.truncationMode === "keep_end")
      logger.warning("The `'keep_end'` truncation mode is deprecated and will be removed in v2.0.0. Use `truncation_mode='keep_start'` (the default) instead.");
    if ((this.packingStrategy as string) === "bfd-requeue") {
      logger.warning(
        "The `bfd-requeue` packing strategy has been renamed to `bfd_split`. Please update your configuration accordingly. The `bfd-requeue` strategy is deprecated and will be removed in v2.0.0.",
      );
      self.packingStrategy = "bfd_split";
    }
    if (!["bfd", "bfd_split", "wrapped"].includes(this.packingStrategy))
      throw new TypeError(`packing_strategy must be 'bfd', 'bfd_split' or 'wrapped', got '${String(this.packingStrategy)}'`);
    if (this.lossType !== "nll" && this.lossType !== "chunked_nll")
      throw new TypeError(
        `Invalid \`loss_type\` ${String(this.lossType)} passed. Supported values are 'nll' and 'chunked_nll' ('dft' is not implemented here).`,
      );
    if (typeof this.datasetTextField !== "string" || !this.datasetTextField) throw new TypeError("dataset_text_field must be a non-empty string");
  }

  override toJSON(): Record<string, unknown> {
    const out = super.toJSON();
    for (const k of SFT_FIELDS) out[toSnake(k)] = k === "datasetKwargs" && this.datasetKwargs ? snakeKeys(this.datasetKwargs) : this[k];
    return out;
  }

  /** From untyped fields, camelCase or TRL's snake_case names (a parsed config, the CLI's options). */
  static override fromDict(d: Record<string, unknown>): SFTConfig {
    if (!d || typeof d !== "object" || Array.isArray(d)) throw new TypeError("SFTConfig.fromDict: expected an object of fields");
    const own: Record<string, unknown> = {};
    const training: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(d)) {
      const camel = toCamel(k) as keyof SftOwnFields;
      if (!SFT_FIELDS.includes(camel)) {
        training[k] = v;
        continue;
      }
      const want = NULLABLE.includes(camel) ? [typeof SFT_DEFAULTS[camel], "object"] : [typeof SFT_DEFAULTS[camel]];
      if (camel === "maxLength" || camel === "padToMultipleOf") want.push("number");
      if (camel === "evalPacking" || camel === "completionOnlyLoss") want.push("boolean");
      if (camel === "eosToken" || camel === "chatTemplatePath") want.push("string");
      if (v !== undefined && v !== null && !want.includes(typeof v))
        throw new TypeError(`SFTConfig: ${k} must be ${want.filter((w) => w !== "object").join(" or ")}, got ${JSON.stringify(v)}`);
      if (v === null && !NULLABLE.includes(camel)) throw new TypeError(`SFTConfig: ${k} cannot be null`);
      own[camel] = camel === "datasetKwargs" && v ? camelKeys(v as Record<string, unknown>) : v;
    }
    const base = TrainingArguments.fromDict(training);
    const given = Object.fromEntries(FIELDS.filter((f) => hasField(training, f)).map((f) => [f, base[f]]));
    return new SFTConfig({ outputDir: base.outputDir, ...given, ...own } as SFTConfigInit);
  }

  /** A copy with some fields changed. */
  override with(changes: Partial<SFTConfigInit>): SFTConfig {
    const current = Object.fromEntries([...FIELDS, ...SFT_FIELDS].map((k) => [k, this[k]]));
    return new SFTConfig({ ...current, ...changes } as SFTConfigInit);
  }
}

function hasField(d: Record<string, unknown>, field: string): boolean {
  const renamed: Record<string, string> = { evaluationStrategy: "evalStrategy", noCuda: "useCpu" };
  return Object.keys(d).some((k) => (renamed[toCamel(k)] ?? toCamel(k)) === field);
}
const snakeKeys = (o: Record<string, unknown>) => Object.fromEntries(Object.entries(o).map(([k, v]) => [toSnake(k), v]));
const camelKeys = (o: Record<string, unknown>) => Object.fromEntries(Object.entries(o).map(([k, v]) => [toCamel(k), v]));
