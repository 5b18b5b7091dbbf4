// finetune sft: TRL's `trl sft` — supervised fine-tuning of a causal LM on text, prompt–completion or
// chat data, optionally with a LoRA adapter and packing, through SFTTrainer. Every SFTConfig and
// TrainingArguments field is a flag.
import { existsSync, readFileSync, statSync } from "node:fs";
import { Command, Option } from "commander";
import * as torch from "../torch/index.js";
import { loadDataset, type Dataset, type DatasetDict } from "../datasets/index.js";
import { AutoModelForCausalLM, AutoTokenizer, setVerbosity, type PreTrainedModel } from "../index.js";
import { LoraConfig, PeftModel } from "../peft/index.js";
import { SFTConfig, SFTTrainer } from "../trl/index.js";
import { kebab, stringToBool, trainAndSave, trainingFlags, trainingInit } from "./training_flags.js";

const SFT_HELP: Record<string, string> = {
  datasetTextField: "column of plain text for language-modeling data (default text)",
  maxLength: "longest tokenized example; longer ones are cut (default 1024); with --packing, the packed rows' length",
  truncationMode: "keep_start (cut the end, default) or keep_end",
  shuffleDataset: "shuffle the prepared dataset",
  packing: "pack examples into rows of --max-length tokens (padding-free batches)",
  packingStrategy: "bfd (best-fit decreasing, default), bfd_split or wrapped",
  paddingFree: "one row per batch, sequences concatenated (needs --packing or --max-length none)",
  padToMultipleOf: "pad batches to a multiple of N tokens",
  evalPacking: "pack the eval dataset too (default: as --packing)",
  completionOnlyLoss: "loss on completions only (default: yes for prompt–completion data)",
  assistantOnlyLoss: "loss on the assistant's turns only (a chat template with {% generation %})",
  lossType: "nll, or chunked_nll (TRL's default name; the same loss)",
  chatTemplatePath: "a .jinja chat template to use instead of the tokenizer's",
  eosToken: "token ending each example (default: the tokenizer's eos_token)",
};
const SFT_BOOLEAN = new Set(["shuffleDataset", "packing", "paddingFree", "evalPacking", "completionOnlyLoss", "assistantOnlyLoss"]);
const SFT_NUMBER = new Set(["maxLength", "padToMultipleOf"]);

function sftFlags(cmd: Command): Command {
  for (const f of SFTConfig.sftFields) {
    if (f === "datasetKwargs") continue;
    const flag = `--${kebab(f)}`;
    const desc = SFT_HELP[f] ?? f;
    if (SFT_BOOLEAN.has(f)) cmd.addOption(new Option(`${flag} [bool]`, `${desc}; a value may follow: true/false`).argParser((v) => stringToBool(v, flag)));
    else if (SFT_NUMBER.has(f))
      cmd.addOption(
        new Option(`${flag} <n>`, `${desc} ('none' for no limit)`).argParser((v) => {
          if (v === "none" || v === "None") return null;
          const n = Number(v);
          if (!Number.isInteger(n)) throw new Error(`${flag} expects an integer or 'none', got '${v}'`);
          return n;
        }),
      );
    else cmd.addOption(new Option(`${flag} <value>`, desc));
  }
  return cmd;
}

interface SftOptions {
  model?: string;
  modelConfig?: string;
  tokenizer?: string;
  dataset?: string;
  datasetConfig?: string;
  trainFile?: string;
  validationFile?: string;
  split: string;
  promptFormat?: string;
  completionColumn?: string;
  loraR?: number;
  loraAlpha?: number;
  loraDropout?: number;
  targetModules?: string;
  useRslora?: boolean;
}

/** The training (and validation) data: a .json/.jsonl/.parquet/.csv file, a folder, or a hub dataset. */
async function sftData(o: SftOptions): Promise<{ train: Dataset; validation?: Dataset }> {
  const files: Record<string, string> = {};
  const path = o.trainFile ?? (o.dataset && existsSync(o.dataset) && statSync(o.dataset).isFile() ? o.dataset : undefined);
  if (path) {
    files.train = path;
    if (o.validationFile) files.validation = o.validationFile;
    const builder = path.toLowerCase().endsWith(".parquet") ? "parquet" : path.toLowerCase().endsWith(".csv") ? "csv" : "json";
    const dd = (await loadDataset(builder, { dataFiles: files })) as DatasetDict;
    return { train: dd.get("train"), validation: dd.splits.includes("validation") ? dd.get("validation") : undefined };
  }
  if (!o.dataset) throw new Error("give --dataset (a .json/.jsonl file, a folder or a hub dataset) or --train-file");
  const dd = (await loadDataset(o.dataset, o.datasetConfig)) as DatasetDict;
  if (!dd.splits.includes(o.split)) throw new Error(`--split ${o.split}: the dataset has ${dd.splits.join(", ")}`);
  return { train: dd.get(o.split), validation: dd.splits.includes("validation") && o.split !== "validation" ? dd.get("validation") : undefined };
}

/**
 * --prompt-format "Question: {question}\nAnswer: " --completion-column answer: instruction data
 * (Alpaca's instruction/input/output, GSM8K's question/answer) as TRL's prompt–completion pairs.
 */
export async function toPromptCompletion(ds: Dataset, format: string, completionColumn: string): Promise<Dataset> {
  const fields = [...format.matchAll(/\{(\w+)\}/g)].map((m) => m[1]);
  for (const c of [...fields, completionColumn])
    if (!ds.columnNames.includes(c))
      throw new Error(`column '${c}' (from --prompt-format/--completion-column) is not in the dataset (columns: ${ds.columnNames.join(", ")})`);
  const text = format.replace(/\\n/g, "\n");
  return ds.map(
    (ex) => ({
      prompt: text.replace(/\{(\w+)\}/g, (_, c: string) => String(ex[c] ?? "")),
      completion: String(ex[completionColumn]),
    }),
    { removeColumns: ds.columnNames.filter((c) => c !== "prompt" && c !== "completion"), fnKwargs: { text, completionColumn } },
  );
}

export function sftCommand(prog: Command): void {
  const cmd = prog
    .command("sft")
    .description("supervised fine-tuning of a causal LM (TRL's SFTTrainer): text, prompt–completion or chat data, optionally LoRA and packing")
    .option("--model <name|path>", "causal LM checkpoint to start from (hub name or folder)")
    .option("--model-config <config.json>", "start from this config with random weights instead of a checkpoint (needs --tokenizer)")
    .option("--tokenizer <name|path>", "tokenizer, if not the model's")
    .option("--dataset <file|name>", "a .json/.jsonl/.parquet file, a folder, or a hub dataset")
    .option("--dataset-config <name>", "the hub dataset's config")
    .option("--train-file <path>", "training data file")
    .option("--validation-file <path>", "validation data file")
    .option("--split <name>", "the split to train on", "train")
    .option("--prompt-format <template>", 'make prompts from columns, e.g. "Question: {question}\\nAnswer:\\n" (with --completion-column)')
    .option("--completion-column <name>", "the column of completions for --prompt-format")
    .option("--lora-r <n>", "train a LoRA adapter of this rank instead of the whole model", Number)
    .option("--lora-alpha <n>", "LoRA scaling numerator (default: PEFT's 8)", Number)
    .option("--lora-dropout <p>", "dropout on the adapter's input (default 0)", Number)
    .option("--target-modules <list>", "all-linear (default), or module names: q_proj,v_proj")
    .option("--use-rslora", "scale by alpha/√r (rank-stabilized LoRA)")
    .addHelpText(
      "after",
      `
Data formats (as TRL): {"text"}, {"prompt","completion"} (strings or messages), {"messages":[{"role","content"}…]};
ShareGPT {"conversations":[{"from","value"}…]} is converted to messages.
TRL's defaults apply where they differ from \`finetune train\`'s: --learning-rate 2e-5, --logging-steps 10,
--gradient-checkpointing true, --bf16 true (turn it off with --bf16 false on CPUs without fast bfloat16).

Examples:
  finetune sft --model ./SmolLM2-135M-Instruct --dataset chats.jsonl --output-dir out/sft --lora-r 16 --lora-alpha 32 --packing
  finetune sft --model ./gpt2 --dataset gsm8k/train.jsonl --prompt-format "Question: {question}\\nAnswer:\\n" --completion-column answer --output-dir out/gsm8k`,
    );
  sftFlags(trainingFlags(cmd)).action(async (opts: Record<string, unknown>) => {
    const o = opts as unknown as SftOptions;
    if (!o.model && !o.modelConfig) throw new Error("give --model (a checkpoint) or --model-config (random weights)");
    if (o.modelConfig && !o.tokenizer) throw new Error("--model-config needs --tokenizer");
    const init = trainingInit(opts);
    for (const f of SFTConfig.sftFields) if (opts[f] !== undefined) init[f] = opts[f];
    const args = SFTConfig.fromDict(init);
    if (args.logLevel !== "passive") setVerbosity(args.logLevel);
    const tokenizer = await AutoTokenizer.fromPretrained(o.tokenizer ?? o.model!);
    let model: PreTrainedModel;
    if (o.modelConfig) {
      const config = JSON.parse(readFileSync(o.modelConfig, "utf8")) as Record<string, unknown>;
      // As HF's example scripts: set_seed(training_args.seed) before the model is made.
      torch.manualSeed(args.seed);
      model = AutoModelForCausalLM.fromConfig(config);
    } else model = await AutoModelForCausalLM.fromPretrained(o.model!);
    let { train, validation } = await sftData(o);
    if (o.promptFormat || o.completionColumn) {
      if (!o.promptFormat || !o.completionColumn) throw new Error("--prompt-format and --completion-column go together");
      train = await toPromptCompletion(train, o.promptFormat, o.completionColumn);
      if (validation) validation = await toPromptCompletion(validation, o.promptFormat, o.completionColumn);
    }
    const targets = o.targetModules ?? "all-linear";
    const peftConfig =
      o.loraR !== undefined
        ? new LoraConfig({
            r: o.loraR,
            loraAlpha: o.loraAlpha,
            loraDropout: o.loraDropout,
            targetModules: targets === "all-linear" ? "all-linear" : targets.split(","),
            useRslora: o.useRslora ?? false,
            taskType: "CAUSAL_LM",
          })
        : undefined;
    if (o.loraR === undefined && (o.loraAlpha !== undefined || o.loraDropout !== undefined || o.targetModules !== undefined))
      throw new Error("--lora-alpha, --lora-dropout and --target-modules configure a LoRA adapter: give --lora-r too");
    const trainer = new SFTTrainer({
      model,
      args,
      trainDataset: train,
      evalDataset: args.evalStrategy !== "no" ? validation : undefined,
      processingClass: tokenizer,
      peftConfig,
    });
    if (trainer.model instanceof PeftModel) trainer.model.printTrainableParameters();
    const out = await trainAndSave(trainer);
    if (!out) return;
    if (trainer.processIndex === 0) console.log(JSON.stringify({ global_step: out.globalStep, ...out.metrics }));
  });
}
