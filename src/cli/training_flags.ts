// What the training commands share: every TrainingArguments field as a flag (--kebab-case, or HF's
// --snake_case), HF's string_to_bool, the resume command printed after Ctrl-C, and training then
// saving the final model.
import { existsSync } from "node:fs";
import { Command, Option } from "commander";
import type { PreTrainedModel } from "../index.js";
import { Trainer, TrainingArguments, type TrainOutput } from "../trainer/index.js";

export const kebab = (k: string) =>
  k
    .replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)
    .replace(/bf-16/, "bf16")
    .replace(/fp-16/, "fp16");
const BOOLEAN = new Set([
  "overwriteOutputDir",
  "evalOnStart",
  "loggingFirstStep",
  "loggingNanInfFilter",
  "saveOnlyModel",
  "useCpu",
  "bf16",
  "fp16",
  "tf32",
  "dataloaderDropLast",
  "dataloaderPinMemory",
  "disableTqdm",
  "removeUnusedColumns",
  "loadBestModelAtEnd",
  "greaterIsBetter",
  "groupByLength",
  "gradientCheckpointing",
  "pushToHub",
  "hubPrivateRepo",
  "predictionLossOnly",
  "includeNumInputTokensSeen",
  "restoreCallbackStatesFromCheckpoint",
]);
const STRING = new Set([
  "optim",
  "outputDir",
  "evalStrategy",
  "lrSchedulerType",
  "loggingDir",
  "loggingStrategy",
  "saveStrategy",
  "runName",
  "metricForBestModel",
  "lengthColumnName",
  "hubModelId",
  "hubToken",
  "resumeFromCheckpoint",
]);
const LIST = new Set(["labelNames", "reportTo"]);
const HELP: Record<string, string> = {
  outputDir: "where checkpoints, logs and the final model go",
  overwriteOutputDir: "write into an output dir that already has content",
  evalStrategy: "when to evaluate: no | steps | epoch (default no)",
  evalSteps: "evaluate every N steps with --eval-strategy steps (default: logging steps)",
  evalDelay: "epochs or steps to wait before the first evaluation",
  evalOnStart: "evaluate once before training (a sanity check)",
  perDeviceTrainBatchSize: "training batch size (default 8)",
  perDeviceEvalBatchSize: "evaluation batch size (default 8)",
  gradientAccumulationSteps: "micro-batches per optimizer step (default 1)",
  evalAccumulationSteps: "accepted for compatibility; predictions are gathered on the CPU",
  learningRate: "peak learning rate of AdamW (default 5e-5)",
  weightDecay: "AdamW weight decay, not applied to biases and LayerNorm (default 0)",
  adamBeta1: "AdamW beta1 (default 0.9)",
  adamBeta2: "AdamW beta2 (default 0.999)",
  adamEpsilon: "AdamW epsilon (default 1e-8)",
  maxGradNorm: "clip gradients to this total norm; 0 turns clipping off (default 1.0)",
  numTrainEpochs: "epochs to train (default 3)",
  maxSteps: "optimizer steps to train; overrides epochs when > 0",
  lrSchedulerType: "linear | cosine | cosine_with_restarts | polynomial | constant | constant_with_warmup | inverse_sqrt",
  lrSchedulerKwargs: "extra schedule options as JSON, e.g. '{\"num_cycles\": 2}'",
  warmupRatio: "fraction of the steps spent warming up the learning rate",
  warmupSteps: "warmup steps (overrides --warmup-ratio)",
  loggingDir: "TensorBoard folder (default <output-dir>/runs)",
  loggingStrategy: "when to log the training loss: no | steps | epoch (default steps)",
  loggingFirstStep: "also log the first step",
  loggingSteps: "log every N steps (default 500; < 1 is a fraction of the steps)",
  loggingNanInfFilter: "replace nan/inf step losses by the running mean in the logs (default true)",
  saveStrategy: "when to save a checkpoint: no | steps | epoch | best (default steps)",
  saveSteps: "save every N steps (default 500)",
  saveTotalLimit: "keep at most N checkpoints (never deleting the best)",
  saveOnlyModel: "save weights only, no optimizer/scheduler/RNG state (no exact resume)",
  useCpu: "train on the CPU even when a GPU is there",
  seed: "seed for initialisation, dropout and shuffling (default 42)",
  dataSeed: "seed for the data order only (default: --seed)",
  bf16: "bfloat16 autocast (fast on CPUs with AMX/AVX512-BF16, and on recent GPUs)",
  fp16: "float16 autocast with loss scaling (GPU only)",
  tf32: "TF32 float32 matmuls on Ampere or newer GPUs (faster, 10-bit mantissa); unset leaves PyTorch's default (off)",
  dataloaderDropLast: "drop the last incomplete batch",
  dataloaderPinMemory: "on a GPU, copy batches from page-locked memory without waiting (default on)",
  runName: "a name for the run in the logs",
  logLevel: "passive | debug | info | warning | error | critical (default info: the training block and loading notes, as HF's run_glue)",
  disableTqdm: "no progress bar",
  removeUnusedColumns: "drop dataset columns the model does not take (default true)",
  labelNames: "the input names that hold labels (default: labels)",
  loadBestModelAtEnd: "load the best checkpoint's weights when training ends",
  metricForBestModel: "metric that picks the best checkpoint (default loss)",
  greaterIsBetter: "whether a larger metric is better (default: unless the name ends in loss)",
  labelSmoothingFactor: "label smoothing of the cross-entropy (default 0)",
  groupByLength: "batch examples of similar length together (less padding)",
  gradientCheckpointing: "recompute each layer in backward instead of keeping its activations (less memory, one more forward)",
  lengthColumnName: "column with precomputed lengths for --group-by-length",
  reportTo: "tensorboard, jsonl, all or none (default none)",
  pushToHub: "upload the output folder to the hub after saving",
  hubModelId: "repository to push to (default: the output folder's name)",
  hubToken: "token for the hub (default HF_TOKEN)",
  hubPrivateRepo: "create the hub repository as private",
  resumeFromCheckpoint: "a checkpoint folder, or 'true' for the latest in the output dir",
  predictionLossOnly: "evaluate the loss only, no predictions",
  includeNumInputTokensSeen: "count the input tokens seen in the trainer state",
  optim: "adamw_torch (torch's AdamW, same rounding) or adamw_torch_fused (one pass per tensor: faster on CPU)",
  restoreCallbackStatesFromCheckpoint: "on resume, restore stateful callbacks (early stopping's patience) from the checkpoint",
  torchThreads: "ATen threads on CPU (default: measured best for the precision)",
  blasThreads: "OpenBLAS threads on CPU (default: measured best for the precision)",
};

export function trainingFlags(cmd: Command): Command {
  // HF's older name, still in scripts and docs.
  cmd.addOption(new Option("--evaluation-strategy <value>", "HF's older name for --eval-strategy").hideHelp());
  for (const f of TrainingArguments.fields) {
    const flag = `--${kebab(f)}`;
    const desc = `${HELP[f] ?? f} (also --${TrainingArguments.snakeName(f)})`;
    if (BOOLEAN.has(f))
      cmd.addOption(new Option(`${flag} [bool]`, `${desc}; a value may follow: true/false, yes/no, 1/0`).argParser((v) => stringToBool(v, flag)));
    else if (STRING.has(f)) cmd.addOption(new Option(`${flag} <value>`, desc));
    else if (LIST.has(f)) cmd.addOption(new Option(`${flag} <a,b>`, desc).argParser((v) => v.split(",")));
    else if (f === "lrSchedulerKwargs") cmd.addOption(new Option(`${flag} <json>`, desc).argParser((v) => JSON.parse(v)));
    else {
      cmd.addOption(
        new Option(`${flag} <n>`, desc).argParser((v) => {
          const n = Number(v);
          if (Number.isNaN(n)) throw new Error(`${flag} expects a number, got '${v}'`);
          return n;
        }),
      );
    }
  }
  return cmd;
}

/** HF's string_to_bool for a flag's value: yes/no, true/false, t/f, y/n, 1/0 in any case; anything else is an error. */
export function stringToBool(v: string, flag: string): boolean {
  const l = v.toLowerCase();
  if (["yes", "true", "t", "y", "1"].includes(l)) return true;
  if (["no", "false", "f", "n", "0"].includes(l)) return false;
  throw new Error(`${flag}: truthy value expected: got '${v}' but expected one of yes/no, true/false, t/f, y/n, 1/0 (case insensitive).`);
}

/** An argument as a POSIX shell reads it back. */
export function shellQuote(a: string): string {
  return /^[\w@%+=:,./-]+$/.test(a) ? a : `'${a.replace(/'/g, "'\\''")}'`;
}

/** This command line again, resuming from `checkpoint` (any resume flag given is replaced). */
export function resumeCommand(argv: string[], checkpoint: string): string {
  const args: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (/^--resume[-_]from[-_]checkpoint$/.test(a)) {
      i++;
      continue;
    }
    if (/^--resume[-_]from[-_]checkpoint=/.test(a)) continue;
    args.push(a);
  }
  // Under `finetune launch` the resume runs the same way: the launcher's own options come first.
  const launch = process.env.FINETUNE_LAUNCH_OPTIONS ? `launch ${process.env.FINETUNE_LAUNCH_OPTIONS} -- ` : "";
  return `finetune ${launch}${[...args, "--resume-from-checkpoint", checkpoint].map(shellQuote).join(" ")}`;
}

/** The TrainingArguments fields among a command's parsed options (what fromDict takes). */
export function trainingInit(opts: Record<string, unknown>): Record<string, unknown> {
  const init: Record<string, unknown> = {};
  for (const f of TrainingArguments.fields) if (opts[f] !== undefined) init[f] = opts[f];
  if (opts.evaluationStrategy !== undefined && init.evalStrategy === undefined) init.evalStrategy = opts.evaluationStrategy;
  // A checkpoint folder, or a bool read as every other flag's (True, yes, 1: the latest; false, no, 0: none).
  const resume = init.resumeFromCheckpoint;
  if (typeof resume === "string" && !existsSync(resume)) {
    let b: boolean | null = null;
    try {
      b = stringToBool(resume, "--resume-from-checkpoint");
    } catch {
      // not a bool: a checkpoint path (the Trainer says when it does not exist)
    }
    if (b !== null) init.resumeFromCheckpoint = b ? true : null;
  }
  // As HF's run_glue, which sets transformers' verbosity to info on the main process.
  init.logLevel ??= "info";
  return init;
}

export function trainingArgs(opts: Record<string, unknown>): TrainingArguments {
  return TrainingArguments.fromDict(trainingInit(opts));
}

/**
 * Trains with the resume hint of this command line and saves the final model; null (exit code 130)
 * when Ctrl-C stopped it — the half-trained model is not the result: the checkpoint is kept, no final
 * model is written — and an error when the weights diverged.
 */
export async function trainAndSave(trainer: Trainer<PreTrainedModel>): Promise<TrainOutput | null> {
  trainer.resumeHint = (checkpoint) => `Resume with:\n  ${resumeCommand(process.argv.slice(2), checkpoint)}`;
  const out = await trainer.train();
  if (out.interrupted) {
    process.exitCode = 130;
    return null;
  }
  if (!trainer.weightsAreFinite()) {
    throw new Error(
      `training diverged: the weights hold nan/inf after step ${out.globalStep}, so no final model was written to ${trainer.args.outputDir} (checkpoints, if any, are kept). Lower --learning-rate, or use --bf16 instead of --fp16.`,
    );
  }
  trainer.saveModel();
  return out;
}
