#!/usr/bin/env node
// finetune: the course's workflow from the command line — train, evaluate, predict — through the
// public API only. Every TrainingArguments field is a flag, as --kebab-case or HF's --snake_case.
import { realpathSync, writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { Command, Option } from "commander";
import { ClassLabel, Value, loadDataset, type Dataset, type DatasetDict } from "../datasets/index.js";
import { AutoTokenizer, AutoModelForSequenceClassification, AutoModelForCausalLM, setVerbosity, type PreTrainedTokenizer } from "../index.js";
import { fromPretrainedArchitecture } from "../models/index.js";
import { launch, watchLauncher } from "../distributed/index.js";
import { exportOnnx, isOnnxDtype, ONNX_DTYPES, DEFAULT_OPSET, MAX_OPSET, MIN_OPSET } from "../export/index.js";
import { Trainer, TrainingArguments, type EvalPrediction } from "../trainer/index.js";
import * as evaluate from "../evaluate/index.js";
import { shellQuote, trainAndSave, trainingArgs, trainingFlags } from "./training_flags.js";
import { sftCommand } from "./sft_command.js";

export { stringToBool } from "./training_flags.js";

/**
 * The classification head's size for the training labels: the ClassLabel's names; 1 (regression) when
 * the label column's dtype is float32/float64, as run_glue decides; else the largest label + 1.
 */
export function numLabelsFor(ds: Dataset, column: string): number {
  const feature = ds.features.label;
  if (feature instanceof ClassLabel) return feature.names.length;
  const values = ds.column("label") as unknown[];
  const float = feature instanceof Value && (feature.dtype === "float16" || feature.dtype === "float32" || feature.dtype === "float64");
  let max = -1;
  let real = false;
  values.forEach((v, row) => {
    if (typeof v !== "number" || !Number.isFinite(v)) {
      const shown = typeof v === "number" ? String(v).replace("Infinity", "inf").replace("NaN", "nan") : v === null ? "a missing value" : JSON.stringify(v);
      throw new Error(
        `label column '${column}' holds ${shown} at row ${row}: labels must be class numbers 0, 1, … (or real numbers for regression)${typeof v === "string" ? "; encode string labels as numbers first" : ""}`,
      );
    }
    if (float) return;
    if (!Number.isInteger(v)) real = true;
    else if (v < 0) throw new Error(`label column '${column}' holds ${v} at row ${row}: class labels must be 0 or more`);
    max = Math.max(max, v);
  });
  return float || real ? 1 : Math.max(2, max + 1);
}

interface DataOptions {
  dataset?: string;
  datasetConfig?: string;
  trainFile?: string;
  validationFile?: string;
  testFile?: string;
  delimiter?: string;
  textColumns: string;
  labelColumn: string;
}

function dataOptions(cmd: Command): Command {
  return cmd
    .option("--dataset <name>", "a hub dataset (e.g. glue) or a builder (csv, json, parquet)")
    .option("--dataset-config <name>", "the dataset's config (e.g. mrpc)")
    .option("--train-file <path>", "training data file (csv/tsv/json/jsonl/parquet)")
    .option("--validation-file <path>", "validation data file")
    .option("--test-file <path>", "test data file")
    .option("--delimiter <c>", "csv delimiter (tsv files default to tab)")
    .option("--no-quoting", "split csv lines on the delimiter only (GLUE's TSVs need this)")
    .option("--text-columns <a,b>", "one or two text columns to tokenize as a pair", "sentence1,sentence2")
    .option("--label-column <name>", "the label column", "label");
}

async function loadData(o: DataOptions): Promise<DatasetDict> {
  if (o.trainFile || o.validationFile || o.testFile) {
    const dataFiles: Record<string, string> = {};
    if (o.trainFile) dataFiles.train = o.trainFile;
    if (o.validationFile) dataFiles.validation = o.validationFile;
    if (o.testFile) dataFiles.test = o.testFile;
    const first = Object.values(dataFiles)[0].toLowerCase();
    const builder = o.dataset ?? (first.endsWith(".parquet") ? "parquet" : first.match(/\.jsonl?$/) ? "json" : first.endsWith(".txt") ? "text" : "csv");
    return (await loadDataset(builder, { dataFiles, delimiter: o.delimiter, quoting: (o as { quoting?: boolean }).quoting })) as DatasetDict;
  }
  if (!o.dataset) throw new Error("give --dataset (and --dataset-config) or --train-file/--validation-file");
  return (await loadDataset(o.dataset, o.datasetConfig)) as DatasetDict;
}

async function prepare(o: DataOptions & { model: string; tokenizer?: string }) {
  const raw = await loadData(o);
  const tokenizer = await AutoTokenizer.fromPretrained(o.tokenizer ?? o.model);
  const [a, b] = o.textColumns.split(",");
  for (const split of raw.splits) {
    for (const c of [a, b].filter(Boolean)) {
      const columns = raw.get(split).columnNames;
      if (!columns.includes(c)) throw new Error(`text column '${c}' is not in the dataset (columns: ${columns.join(", ")})`);
    }
  }
  // The text columns are the map's input columns, so they are part of its cache key (with the tokenizer's hash).
  const tokenized = await raw.map(
    (ex) => {
      const e = ex as Record<string, string[]>;
      return tokenizer(e[a], b ? e[b] : null, { truncation: true });
    },
    { batched: true, inputColumns: [a, b].filter(Boolean) },
  );
  const renamed = o.labelColumn !== "label" ? tokenized.renameColumn(o.labelColumn, "label") : tokenized;
  return { raw, tokenizer, tokenized: renamed };
}

async function metricsFor(o: { dataset?: string; datasetConfig?: string; metric?: string }) {
  const metric = o.metric
    ? await evaluate.load(o.metric)
    : o.dataset === "glue" && o.datasetConfig
      ? await evaluate.load("glue", o.datasetConfig)
      : await evaluate.load("accuracy");
  // The CLI trains sequence classifiers: a metric over tag sequences does not apply.
  if (metric instanceof evaluate.Seqeval || metric instanceof evaluate.Squad)
    throw new Error(
      `--metric ${metric.name} scores ${metric.name === "squad" ? "extractive answers (question answering)" : "tag sequences (token classification)"}; finetune train fine-tunes a sequence classifier: use accuracy, f1, …`,
    );
  return ({ predictions, labelIds }: EvalPrediction) =>
    metric.compute({ predictions: predictions.shape[1] === 1 ? predictions.squeeze(-1) : predictions.argmax(-1), references: labelIds! });
}

function splitOf(dd: DatasetDict, name: string): Dataset {
  return dd.get(name);
}

export function program(): Command {
  const prog = new Command("finetune")
    .description(
      "Fine-tune Hugging Face transformer models from the command line: the course's workflow (datasets → tokenizer → model → Trainer → evaluate) on libtorch.",
    )
    .addHelpText(
      "after",
      `
Examples:
  finetune train --model bert-base-cased --dataset glue --dataset-config mrpc --output-dir models/mrpc --eval-strategy epoch
  finetune train --model ./my-bert --train-file train.tsv --validation-file dev.tsv --no-quoting \\
                 --text-columns "#1 String,#2 String" --label-column Quality --bf16
  finetune evaluate --model models/mrpc --dataset glue --dataset-config mrpc
  finetune predict --model models/mrpc --dataset glue --dataset-config mrpc --split test --output predictions.jsonl
  finetune export onnx --model models/mrpc --output web/mrpc --dtype fp32,fp16,q8

Models and data come from a local folder, the Hugging Face cache (HF_HOME, HF_HUB_OFFLINE=1) or the hub.
Every TrainingArguments field is a flag, in --kebab-case or as HF's --snake_case.`,
    );

  trainCommand(prog);
  sftCommand(prog);
  evaluateCommand(prog);
  predictCommand(prog);
  launchCommand(prog);
  exportCommand(prog);
  return prog;
}

/** finetune train: fine-tune a model on a dataset and save it (run_glue's flow). */
function trainCommand(prog: Command): void {
  const train = dataOptions(prog.command("train").description("fine-tune a model and save it to --output-dir"))
    .requiredOption("--model <name|path>", "checkpoint to start from (hub name or folder)")
    .option("--tokenizer <name|path>", "tokenizer, if not the model's")
    .option("--num-labels <n>", "labels of the classification head (default: the ClassLabel's names, else the largest label + 1)", Number)
    .option("--ignore-mismatched-sizes", "load a checkpoint whose classifier has another number of labels (a new head is initialized)")
    .option("--metric <name>", "metric for evaluation (default: glue's for --dataset glue, else accuracy)")
    .addOption(
      new Option("--task <task>", "sequence-classification, or causal-lm: a language model on the texts (.txt lines or a --text-column), as HF's run_clm")
        .choices(["sequence-classification", "causal-lm"])
        .default("sequence-classification"),
    )
    .option("--text-column <name>", "causal-lm: the column of texts (default: text)", "text")
    .option(
      "--block-size <n>",
      "causal-lm: tokens per training row after concatenating the texts (default: min(1024, the tokenizer's model_max_length))",
      Number,
    );
  trainingFlags(train).action(async (opts: Record<string, unknown>) => {
    if (opts.task === "causal-lm") return trainCausalLm(opts);
    const o = opts as unknown as DataOptions & {
      model: string;
      tokenizer?: string;
      numLabels?: number;
      ignoreMismatchedSizes?: boolean;
      metric?: string;
      dataset?: string;
      datasetConfig?: string;
    };
    const { tokenizer, tokenized } = await prepare(o);
    const trainSet = splitOf(tokenized, "train");
    // As HF's run_glue: a ClassLabel's names become the model's labels, so predictions say "equivalent".
    const names = trainSet.features.label instanceof ClassLabel ? trainSet.features.label.names : null;
    const labels = names
      ? { id2label: Object.fromEntries(names.map((n, i) => [String(i), n])), label2id: Object.fromEntries(names.map((n, i) => [n, i])) }
      : {};
    const args = trainingArgs(opts);
    // Before the model loads, so that its loading notes follow the level too.
    if (args.logLevel !== "passive") setVerbosity(args.logLevel);
    const model = await AutoModelForSequenceClassification.fromPretrained(o.model, {
      numLabels: o.numLabels ?? numLabelsFor(trainSet, o.labelColumn),
      ignoreMismatchedSizes: o.ignoreMismatchedSizes ?? false,
      ...labels,
    });
    const evalSet = tokenized.splits.includes("validation") ? tokenized.get("validation") : undefined;
    const trainer = new Trainer({
      model,
      args,
      trainDataset: trainSet,
      evalDataset: evalSet,
      processingClass: tokenizer,
      computeMetrics: evalSet ? await metricsFor(o) : undefined,
    });
    const out = await trainAndSave(trainer);
    if (!out) return;
    if (trainer.processIndex === 0) console.log(JSON.stringify({ global_step: out.globalStep, ...out.metrics }));
  });
}

/**
 * `finetune train --task causal-lm`: HF's run_clm — the texts tokenized, concatenated and cut into
 * blocks of --block-size tokens (labels = inputs, the model shifts them), a causal LM trained on
 * them, eval_loss with perplexity = exp(eval_loss), and the model saved.
 */
async function trainCausalLm(opts: Record<string, unknown>): Promise<void> {
  const o = opts as unknown as DataOptions & { model: string; tokenizer?: string; textColumn: string; blockSize?: number };
  const raw = await loadData(o);
  const tokenizer = await AutoTokenizer.fromPretrained(o.tokenizer ?? o.model);
  const column = o.textColumn;
  for (const split of raw.splits) {
    const names = raw.get(split).columnNames;
    if (!names.includes(column))
      throw new Error(`text column '${column}' is not in the ${split} data (columns: ${names.join(", ")}); name it with --text-column`);
  }
  const maxLength = tokenizer.modelMaxLength;
  const blockSize = o.blockSize ?? Math.min(1024, maxLength);
  if (!Number.isInteger(blockSize) || blockSize < 2) throw new RangeError(`--block-size must be an integer ≥ 2, got ${o.blockSize}`);
  const tokenized = await raw.map((ex) => tokenizer((ex as Record<string, string[]>)[column]), {
    batched: true,
    removeColumns: raw.get(raw.splits[0]).columnNames,
    inputColumns: [column],
  });
  // run_clm's group_texts: everything concatenated, cut into whole blocks (the remainder dropped).
  const grouped = await tokenized.map(
    (ex) => {
      const batch = ex as Record<string, number[][]>;
      const out: Record<string, number[][]> = {};
      const total = Math.floor(batch.input_ids.flat().length / blockSize) * blockSize;
      for (const [k, rows] of Object.entries(batch)) {
        const flat = rows.flat();
        out[k] = Array.from({ length: total / blockSize }, (_, i) => flat.slice(i * blockSize, (i + 1) * blockSize));
      }
      out.labels = out.input_ids.map((r) => [...r]);
      return out;
    },
    { batched: true, removeColumns: tokenized.get(tokenized.splits[0]).columnNames },
  );
  const trainSet = splitOf(grouped, "train");
  if (trainSet.numRows === 0) throw new Error(`the training texts hold fewer than --block-size (${blockSize}) tokens: no training row`);
  const args = trainingArgs(opts);
  if (args.logLevel !== "passive") setVerbosity(args.logLevel);
  const model = await AutoModelForCausalLM.fromPretrained(o.model);
  const evalSet = grouped.splits.includes("validation") ? grouped.get("validation") : undefined;
  const trainer = new Trainer({ model, args, trainDataset: trainSet, evalDataset: evalSet, processingClass: tokenizer });
  const out = await trainAndSave(trainer);
  if (!out) return;
  const metrics: Record<string, number> = { global_step: out.globalStep, ...out.metrics };
  if (evalSet) {
    const evalMetrics = await trainer.evaluate();
    metrics.eval_loss = evalMetrics.eval_loss;
    // run_clm: perplexity = exp(eval_loss) (inf when it overflows).
    metrics.perplexity = Math.exp(evalMetrics.eval_loss);
  }
  if (trainer.processIndex === 0) console.log(JSON.stringify(metrics));
}

type InferenceOptions = DataOptions & {
  model: string;
  split: string;
  outputDir: string;
  perDeviceEvalBatchSize: number;
  metric?: string;
  dataset?: string;
  datasetConfig?: string;
};
const inferenceCommand = (prog: Command, name: string, description: string, split: string) =>
  dataOptions(prog.command(name).description(description))
    .requiredOption("--model <name|path>", "the trained model")
    .option("--split <name>", `split to ${name}`, split)
    .option("--output-dir <dir>", "scratch folder for the Trainer", `finetune-${name}`)
    .option("--per-device-eval-batch-size <n>", "batch size", Number, 8);
/** The trained model, its tokenizer and the tokenized split, behind a Trainer that only evaluates. */
const inferenceTrainer = async (o: InferenceOptions, withMetrics: boolean) => {
  const { tokenizer, tokenized } = await prepare(o);
  const model = await AutoModelForSequenceClassification.fromPretrained(o.model);
  const args = new TrainingArguments({ outputDir: o.outputDir, perDeviceEvalBatchSize: o.perDeviceEvalBatchSize });
  const trainer = new Trainer({ model, args, processingClass: tokenizer, computeMetrics: withMetrics ? await metricsFor(o) : undefined });
  return { trainer, model, split: splitOf(tokenized, o.split) };
};

/** finetune evaluate: a trained model's metrics on a split. */
function evaluateCommand(prog: Command): void {
  inferenceCommand(prog, "evaluate", "evaluate a trained model on a split", "validation")
    .option("--metric <name>", "metric (default: glue's for --dataset glue, else accuracy)")
    .action(async (o: InferenceOptions) => {
      const { trainer, split } = await inferenceTrainer(o, true);
      const metrics = await trainer.evaluate({ evalDataset: split });
      if (trainer.processIndex === 0) console.log(JSON.stringify(metrics));
    });
}

/** finetune predict: a trained model's predictions for a split, as JSON Lines. */
function predictCommand(prog: Command): void {
  inferenceCommand(prog, "predict", "write predictions for a split (JSON Lines: index, prediction, label names, logits)", "test")
    .requiredOption("--output <file>", "where to write the predictions (.jsonl)")
    .action(async (o: InferenceOptions & { output: string }) => {
      const { trainer, model, split } = await inferenceTrainer(o, false);
      // As run_glue: the labels are not inputs to a prediction (GLUE's test split holds -1 for "unknown").
      const pred = await trainer.predict(split.columnNames.includes("label") ? split.removeColumns("label") : split);
      // Under `finetune launch` every rank predicted its shard and gathered them all: one writes the file.
      if (trainer.processIndex !== 0) return;
      const logits = pred.predictions.toArray() as number[][];
      const id2label = model.config.id2label;
      const lines = logits.map((row, i) => {
        const best = row.indexOf(Math.max(...row));
        return JSON.stringify({ index: i, prediction: best, label: id2label[String(best)] ?? String(best), logits: row });
      });
      writeFileSync(o.output, lines.join("\n") + "\n");
      console.log(`wrote ${lines.length} predictions to ${o.output}`);
    });
}

/** finetune launch: torchrun's static launcher. */
function launchCommand(prog: Command): void {
  prog
    .command("launch")
    .description(
      "run a program on N processes with torchrun's environment (RANK, LOCAL_RANK, WORLD_SIZE, MASTER_ADDR, MASTER_PORT, …) for distributed training",
    )
    .usage("[options] -- <program.js | train …> [args…]")
    .option("--nproc-per-node <n>", "processes on this node (one per GPU; on CPU, ranks split the cores)", Number, 1)
    .option("--nnodes <n>", "nodes in the job", Number, 1)
    .option("--node-rank <r>", "this node's index, 0 on the master node", Number, 0)
    .option("--master-addr <host>", "the master node's address (default 127.0.0.1)")
    .option("--master-port <port>", "the rendezvous port on the master (default: a free port on one node, 29500 across nodes)", Number)
    .argument("<command...>", "a .js program, a finetune command (train, evaluate, predict), or an executable, with its arguments")
    .addHelpText(
      "after",
      `
Examples:
  finetune launch --nproc-per-node 2 -- train --model bert-base-cased --dataset glue --dataset-config mrpc --output-dir models/mrpc
  finetune launch --nproc-per-node 2 -- my_training.js --epochs 3
  # two machines, 2 processes each; run on both, with --node-rank 0 on 10.0.0.1:
  finetune launch --nnodes 2 --node-rank 0 --nproc-per-node 2 --master-addr 10.0.0.1 --master-port 29500 -- train …

torchrun --no-python --nproc-per-node N node my_training.js works the same way: the programs read the same variables.`,
    )
    .action(async (command: string[], o: { nprocPerNode: number; nnodes: number; nodeRank: number; masterAddr?: string; masterPort?: number }) => {
      // A finetune command runs this CLI in each rank.
      const program = FINETUNE_COMMANDS.has(command[0]) ? [fileURLToPath(import.meta.url), ...command] : command;
      // The launcher's options, for the resume command a rank prints after Ctrl-C.
      const options = [
        `--nproc-per-node ${o.nprocPerNode}`,
        o.nnodes > 1 ? `--nnodes ${o.nnodes} --node-rank ${o.nodeRank}` : "",
        o.masterAddr ? `--master-addr ${shellQuote(o.masterAddr)}` : "",
        o.masterPort ? `--master-port ${o.masterPort}` : "",
      ]
        .filter(Boolean)
        .join(" ");
      const r = await launch({ ...o, command: program, env: { ...process.env, FINETUNE_LAUNCH_OPTIONS: options } });
      process.exitCode = r.exitCode;
    });
}

/** finetune export onnx: the folder transformers.js and onnxruntime load. */
function exportCommand(prog: Command): void {
  prog
    .command("export")
    .description("export a trained model for deployment")
    .command("onnx")
    .description("write the folder transformers.js and onnxruntime load: config.json, tokenizer files, onnx/model*.onnx")
    .requiredOption("--model <name|path>", "the trained model (its config.json's architectures picks the head)")
    .requiredOption("--output <dir>", "the folder to write")
    .option("--tokenizer <name|path>", "tokenizer to write beside it (default: the model's, when it has one)")
    .addOption(
      new Option(
        "--dtype <list>",
        "which files, comma-separated: fp32 (onnx/model.onnx), fp16 (onnx/model_fp16.onnx), q8 (onnx/model_quantized.onnx, dynamic int8)",
      ).default("fp32"),
    )
    .option("--opset <n>", `ONNX opset, ${MIN_OPSET}-${MAX_OPSET}`, Number, DEFAULT_OPSET)
    .addHelpText(
      "after",
      `
Example:
  finetune export onnx --model models/mrpc --output web/mrpc --dtype fp32,q8
then, in a page or in Node with transformers.js:
  pipeline("text-classification", "mrpc", { dtype: "q8" })   // env.localModelPath = "web/"`,
    )
    .action(async (o: { model: string; output: string; tokenizer?: string; dtype: string; opset: number }) => {
      const names = o.dtype.split(",").map((d) => d.trim());
      const dtypes = names.filter(isOnnxDtype);
      const bad = names.filter((d) => !isOnnxDtype(d));
      if (bad.length || !dtypes.length) throw new Error(`--dtype: unknown '${bad.join(", ")}' (one or more of ${ONNX_DTYPES.join(", ")})`);
      const model = await fromPretrainedArchitecture(o.model);
      let tokenizer: PreTrainedTokenizer | undefined;
      try {
        tokenizer = await AutoTokenizer.fromPretrained(o.tokenizer ?? o.model);
      } catch (e) {
        if (o.tokenizer) throw e;
        console.warn(
          `finetune: ${o.model} has no tokenizer (${(e as Error).message.split("\n")[0]}); writing the model only — give --tokenizer for a folder transformers.js pipelines can use`,
        );
      }
      const files = exportOnnx(model, o.output, { tokenizer, opset: o.opset, dtype: dtypes });
      console.log(`${model.constructor.name} → ${o.output} (opset ${o.opset})`);
      for (const f of files) console.log(`  ${f.path.padEnd(Math.max(...files.map((x) => x.path.length)))}  ${formatBytes(f.bytes)}`);
    });
}

const FINETUNE_COMMANDS = new Set(["train", "sft", "evaluate", "predict", "export"]);

function formatBytes(n: number): string {
  return n >= 1 << 20 ? `${(n / (1 << 20)).toFixed(1)} MiB` : n >= 1024 ? `${(n / 1024).toFixed(1)} KiB` : `${n} B`;
}

/** HF's --snake_case flags are accepted by rewriting them to --kebab-case before parsing (torchrun's --nproc_per_node too). */
export function normalizeArgv(argv: string[]): string[] {
  // Only ours: after a bare "--" (finetune launch -- program …) the arguments are the program's.
  const end = argv.indexOf("--");
  return argv.map((a, i) =>
    (end < 0 || i < end) && a.startsWith("--") && a.includes("_") ? a.replace(/^--([^=]+)/, (_, name: string) => `--${name.replace(/_/g, "-")}`) : a,
  );
}

// Run when executed (also through the npm bin link), not when imported by tests.
const isMain = !!process.argv[1] && realpathSync(process.argv[1]) === fileURLToPath(import.meta.url);
if (isMain) {
  // A rank of `finetune launch` stops when its launcher dies, from its first moment.
  watchLauncher();
  program()
    .parseAsync(normalizeArgv(process.argv))
    .catch((e: Error) => {
      console.error(`finetune: ${e.message}`);
      process.exit(1);
    });
}
