// TRL's SFTTrainer (trl/trainer/sft_trainer.py, TRL 1.x): the Trainer for supervised fine-tuning of a
// causal LM. It prepares the dataset (sft_dataset.ts), wraps the model in a LoRA adapter when given a
// peftConfig, collates with TRL's collator (padding-free when packing with bfd), and logs TRL's
// token metrics — entropy, num_tokens and mean_token_accuracy — beside the loss.
import { existsSync, readFileSync } from "node:fs";
import { basename } from "node:path";
import * as torch from "../torch/index.js";
import type { Tensor } from "../torch/index.js";
import type { Dataset, Example } from "../datasets/index.js";
import type { ModelInputs, ModelOutput, PreTrainedModel } from "../models/index.js";
import { logger } from "../models/logging.js";
import type { PreTrainedTokenizer } from "../tokenizers/index.js";
import { Trainer, type LogEntry, type TrainOutput, type TrainerInit } from "../trainer/index.js";
import { LoraConfig, PeftModel, getPeftModel } from "../peft/index.js";
import { DataCollatorForLanguageModeling } from "./collator.js";
import { SFTConfig } from "./sft_config.js";
import { isConversational, prepareSftDataset } from "./sft_dataset.js";

/** TRL's has_generation_markers: whether the template marks assistant output with {% generation %}. */
export function hasGenerationMarkers(chatTemplate: string): boolean {
  return /\{%-?\s*generation\s*-?%\}/.test(chatTemplate);
}

export interface SFTTrainerInit extends Omit<TrainerInit<PreTrainedModel>, "args" | "model" | "modelInit" | "processingClass" | "tokenizer"> {
  model: PreTrainedModel;
  /** SFTConfig (default: TRL's, writing to "<model name>-SFT"). */
  args?: SFTConfig;
  trainDataset: Dataset;
  /** The tokenizer: it renders chat templates and tokenizes the examples. */
  processingClass: PreTrainedTokenizer;
  /** Makes the text of an example (a `text` column) before tokenization. */
  formattingFunc?: (example: Example) => string;
  /** Wraps the model in a new LoRA adapter (getPeftModel) before training. */
  peftConfig?: LoraConfig;
}

type Mode = "train" | "eval";

export class SFTTrainer extends Trainer<PreTrainedModel> {
  declare readonly args: SFTConfig;
  readonly paddingFree: boolean;
  readonly completionOnlyLoss: boolean;
  readonly formattingFunc: ((example: Example) => string) | null;
  /** The template rendered instead of the tokenizer's (from chatTemplatePath), or null. */
  readonly chatTemplate: string | null;
  #eosToken: string;
  #prepared = new WeakSet<Dataset>();
  #metrics: Record<Mode, Map<string, number[]>> = { train: new Map(), eval: new Map() };
  #totalTrainTokens = 0;
  // The mode of the latest forward: HF's log() reads model.training, which its evaluation leaves off
  // until the next training step; here the evaluation loop restores the mode, so the forward says.
  #mode: Mode = "train";

  constructor(o: SFTTrainerInit) {
    if (!o || !o.model) throw new TypeError("SFTTrainer: model is required (a causal LM, e.g. from AutoModelForCausalLM)");
    const args = o.args ?? new SFTConfig({ outputDir: `${basename(o.model.nameOrPath || "model")}-SFT` });
    if (!(args instanceof SFTConfig)) throw new TypeError("SFTTrainer: args must be an SFTConfig");
    const tokenizer = o.processingClass;
    if (!tokenizer) throw new TypeError("SFTTrainer: processingClass (the tokenizer) is required");
    if (!o.trainDataset) throw new TypeError("SFTTrainer: trainDataset is required");

    const vocab = tokenizer.getVocab();
    const eosToken = args.eosToken ?? tokenizer.eosToken;
    if (eosToken === null) throw new Error("SFTTrainer: the tokenizer has no eos_token; set SFTConfig.eosToken");
    if (!vocab.has(eosToken)) {
      throw new Error(
        `The specified \`eos_token\` ('${eosToken}') is not found in the vocabulary of the given \`processing_class\` (${tokenizer.constructor.name}). Ensure that the \`eos_token\` exists in the vocabulary before using it as an EOS token.`,
      );
    }

    let chatTemplate: string | null = null;
    if (args.chatTemplatePath !== null) {
      if (!/\.(jinja|j2)$/.test(args.chatTemplatePath) || !existsSync(args.chatTemplatePath))
        throw new Error(
          `chat_template_path: expected a .jinja or .j2 file, got ${args.chatTemplatePath} (cloning another tokenizer's template is not supported)`,
        );
      chatTemplate = readFileSync(args.chatTemplatePath, "utf8");
    }

    let model: PreTrainedModel = o.model;
    if (o.peftConfig !== undefined) {
      if (!(o.peftConfig instanceof LoraConfig)) throw new TypeError("`peft_config` must be a `peft.PeftConfig` instance (e.g. `peft.LoraConfig`).");
      if (model instanceof PeftModel) {
        throw new Error(
          "You passed a `PeftModel` instance together with a `peft_config` to the trainer. Please first merge and unload the existing adapter, save the resulting base model, and then pass that base model along with the new `peft_config` to the trainer.",
        );
      }
      model = getPeftModel(model, o.peftConfig);
    }

    const paddingFree = args.paddingFree || (args.packing && (args.packingStrategy === "bfd" || args.packingStrategy === "bfd_split"));
    if (paddingFree) {
      if (o.dataCollator) throw new Error("Passing a custom data collator is not supported when using padding-free.");
      if (args.packing && args.packingStrategy === "wrapped")
        logger.warning(
          "You are passing `padding_free=True` with the 'wrapped' packing strategy, which is not recommended. Please refer to the documentation to understand why this is not recommended.",
        );
      if (args.perDeviceTrainBatchSize === 1 && !args.packing)
        logger.warning(
          "You are using a per_device_train_batch_size of 1 with padding-free training. Using a batch size of 1 annihilate the benefits of padding-free training. Please consider increasing the batch size to at least 2.",
        );
    }

    const sample = o.trainDataset.numRows ? o.trainDataset.at(0) : {};
    const completionOnlyLoss = args.completionOnlyLoss ?? ("prompt" in sample && "completion" in sample);

    let dataCollator = o.dataCollator;
    if (!dataCollator) {
      const padToken = tokenizer.padToken ?? eosToken;
      if (!vocab.has(padToken))
        throw new Error(`The specified \`pad_token\` ('${padToken}') is not found in the vocabulary of the given \`processing_class\`.`);
      tokenizer.padToken = padToken;
      dataCollator = new DataCollatorForLanguageModeling({ padTokenId: vocab.get(padToken)!, paddingFree, padToMultipleOf: args.padToMultipleOf });
    }

    if (args.assistantOnlyLoss && !isConversational(sample)) {
      throw new Error("You set `assistant_only_loss=True`, but the dataset is not conversational. This option is only supported for conversational datasets.");
    }
    if (args.assistantOnlyLoss) {
      const template = chatTemplate ?? tokenizer.chatTemplate;
      const text = typeof template === "string" ? template : template ? (template.default ?? "") : "";
      if (!hasGenerationMarkers(text)) {
        throw new Error(
          "The chat template is not training-compatible (missing prefix-preservation or `{% generation %}` markers) and patching is not supported for this template. Please manually modify the chat template for training (SFTConfig.chatTemplatePath: a template with {% generation %} around the assistant's output).",
        );
      }
    }
    if (paddingFree && !args.packing && args.maxLength !== null) {
      throw new Error(
        "When `padding_free=True` without packing, `max_length` is not enforced. Either enable packing (e.g., `packing=True, packing_strategy='bfd'`), provide already truncated inputs, or set `max_length=None`.",
      );
    }
    const skipPrepare = args.datasetKwargs?.skipPrepareDataset ?? false;
    if (!skipPrepare && completionOnlyLoss && o.formattingFunc) {
      throw new Error(
        "A formatting function was provided while `completion_only_loss=True`, which is incompatible. Using a formatter converts the dataset to a language modeling type, conflicting with completion-only loss. To resolve this, apply your formatting function before passing the dataset, or disable `completion_only_loss` in `SFTConfig`.",
      );
    }

    super({ ...o, model, args, dataCollator, processingClass: tokenizer });
    this.paddingFree = paddingFree;
    this.completionOnlyLoss = completionOnlyLoss;
    this.formattingFunc = o.formattingFunc ?? null;
    this.chatTemplate = chatTemplate;
    this.#eosToken = eosToken;
    if (skipPrepare) {
      if (this.trainDataset) this.#prepared.add(this.trainDataset);
      if (this.evalDataset) this.#prepared.add(this.evalDataset);
    }
  }

  /**
   * Tokenizes (and packs) the train and eval datasets as TRL's SFTTrainer does in its constructor;
   * train() and evaluate() call it, so that only a caller who wants to look at the prepared rows first
   * needs to.
   */
  async prepareDatasets(): Promise<void> {
    if (this.trainDataset && !this.#prepared.has(this.trainDataset)) this.trainDataset = await this.#prepare(this.trainDataset, this.args.packing, "train");
    if (this.evalDataset && !this.#prepared.has(this.evalDataset))
      this.evalDataset = await this.#prepare(this.evalDataset, this.args.evalPacking ?? this.args.packing, "eval");
  }

  async #prepare(ds: Dataset, packing: boolean, name: string): Promise<Dataset> {
    const out = await prepareSftDataset(ds, {
      tokenizer: this.processingClass!,
      args: this.args,
      packing,
      completionOnlyLoss: this.completionOnlyLoss,
      formattingFunc: this.formattingFunc,
      chatTemplate: this.chatTemplate,
      eosToken: this.#eosToken,
      datasetName: name,
    });
    this.#prepared.add(out);
    return out;
  }

  override async train(o: { resumeFromCheckpoint?: string | boolean | null } = {}): Promise<TrainOutput> {
    await this.prepareDatasets();
    return super.train(o);
  }

  override async evaluate(o: { evalDataset?: Dataset; metricKeyPrefix?: string } = {}): Promise<Record<string, number>> {
    await this.prepareDatasets();
    const evalDataset =
      o.evalDataset && !this.#prepared.has(o.evalDataset)
        ? await this.#prepare(o.evalDataset, this.args.evalPacking ?? this.args.packing, "eval")
        : o.evalDataset;
    return super.evaluate({ ...o, evalDataset });
  }

  /** The prepared columns the collator reads (TRL's _signature_columns). */
  protected override signatureColumnNames(): string[] {
    return ["input_ids", "labels", "seq_lengths"];
  }

  #record(mode: Mode, key: string, value: number): void {
    const m = this.#metrics[mode];
    if (!m.has(key)) m.set(key, []);
    m.get(key)!.push(value);
  }

  /** The forward, then TRL's token metrics from the logits: entropy and accuracy over the labelled next tokens, tokens seen. */
  protected override computeLoss(batch: ModelInputs, o: { numItemsInBatch?: number } = {}): ModelOutput {
    const out = super.computeLoss(batch, o);
    const mode: Mode = this.model.training ? "train" : "eval";
    this.#mode = mode;
    let accuracy: number | null = null;
    if (out.logits && batch.labels) {
      const logits = out.logits;
      const labels = batch.labels;
      const [entropySum, correct, total] = torch.noGrad(() => tokenStats(logits, labels));
      const n = this.overRanks(total, "sum");
      this.#record(mode, "entropy", n > 0 ? this.overRanks(entropySum, "sum") / n : 0);
      accuracy = n > 0 ? this.overRanks(correct, "sum") / n : 0;
      if (this.args.lossType === "nll") this.#record(mode, "mean_token_accuracy", accuracy);
    }
    if (mode === "train") {
      // Padding-free rows have no attention mask: their length is the token count.
      const tokens = batch.attention_mask ? torch.tidy(() => batch.attention_mask!.sum().item()) : batch.position_ids ? batch.position_ids.shape[1] : null;
      if (tokens === null) throw new Error("Expected 'attention_mask' or 'position_ids' in inputs.");
      this.#totalTrainTokens += this.overRanks(tokens, "sum");
    }
    this.#metrics[mode].set("num_tokens", [this.#totalTrainTokens]);
    if (accuracy !== null && this.args.lossType === "chunked_nll") this.#record(mode, "mean_token_accuracy", accuracy);
    return out;
  }

  /** TRL's log: the token metrics since the last log, averaged, join the logs (eval_-prefixed after an evaluation). */
  override log(logs: LogEntry): void {
    const mode = this.#mode;
    for (const [k, values] of this.#metrics[mode]) {
      if (values.length) logs[mode === "eval" ? `eval_${k}` : k] = values.reduce((a, b) => a + b, 0) / values.length;
    }
    this.#metrics[mode].clear();
    super.log(logs);
  }
}

/**
 * Over the positions whose next token is labelled (labels shifted by one, -100 ignored): the summed
 * entropy of the predicted distribution (TRL's entropy_from_logits, in chunks of 128 rows), the
 * count of argmax predictions equal to the label, and the count of such positions.
 */
export function tokenStats(logits: Tensor, labels: Tensor): [number, number, number] {
  return torch.tidy(() => {
    const l = logits.shape[1];
    const v = logits.shape[logits.ndim - 1];
    const shiftLogits = logits.narrow(1, 0, l - 1).reshape([-1, v]);
    const shiftLabels = labels.narrow(1, 1, l - 1).reshape([-1]);
    const mask = shiftLabels.ne(-100);
    // Each row's entropy from its chunk's log-softmax (a chunk's worth of memory at a time), then
    // TRL's sums over the labelled rows, read once.
    const rows = shiftLogits.shape[0];
    const perRow: Tensor[] = [];
    for (let s = 0; s < rows; s += 128) {
      const n = Math.min(128, rows - s);
      perRow.push(
        torch.tidy(() => {
          const logps = shiftLogits.narrow(0, s, n).logSoftmax(-1);
          return logps.exp().mul(logps).sum(-1).neg();
        }),
      );
    }
    const entropy = torch.cat(perRow, 0).mul(mask).sum().item();
    const correct = shiftLogits.argmax(-1).eq(shiftLabels).logicalAnd(mask).sum().item();
    const total = mask.sum().item();
    return [entropy, correct, total];
  });
}
