// The finetune CLI and the course's program (examples/mrpc.ts), run as a person runs them (child processes), and
// Ctrl-C: SIGINT mid-run finishes the step, saves a checkpoint, exits cleanly, and the run resumes.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, readdirSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as torch from "../src/torch/index.js";
import { AutoModelForCausalLM } from "../src/models/index.js";
import { fixture, repoRoot, needs } from "./helpers.js";

const shared = join(repoRoot, "..", "shared", "data");
const skip = needs("shared", existsSync(join(shared, "hf-home")), "../shared/data is absent");
const cli = join(repoRoot, "dist", "src", "cli", "finetune.js");
const tiny = fixture("golden", "trainer", "tiny-bert-cased");
const tokenizer = join(shared, "models", "bert-base-cased");
const env = { ...process.env, HF_HOME: join(shared, "hf-home"), HF_HUB_OFFLINE: "1", HF_DATASETS_DISABLE_PROGRESS_BARS: "1" };

/** A two-layer Qwen3 over the Qwen3 tokenizer's vocabulary, for the SFT runs. */
const TINY_QWEN3 = {
  model_type: "qwen3",
  vocab_size: 151669,
  hidden_size: 16,
  intermediate_size: 32,
  num_hidden_layers: 2,
  num_attention_heads: 2,
  num_key_value_heads: 1,
  head_dim: 8,
  max_position_embeddings: 256,
  tie_word_embeddings: true,
};

function toyCsv(dir: string, n: number): string {
  const words = ["cat", "dog", "bird", "fish", "tree", "car", "house", "river"];
  const rows = ["sentence1,sentence2,label"];
  for (let i = 0; i < n; i++) {
    const a = `${words[i % 8]} and ${words[(i * 3) % 8]}`;
    const same = i % 2 === 0;
    rows.push(`${a},${same ? a : `${words[(i + 1) % 8]} or ${words[(i * 5 + 2) % 8]}`},${same ? 1 : 0}`);
  }
  const p = join(dir, `data-${n}.csv`);
  writeFileSync(p, rows.join("\n") + "\n");
  return p;
}

function run(args: string[], extraEnv: Record<string, string> = {}) {
  return spawnSync(process.execPath, [cli, ...args], {
    env: { ...env, HF_DATASETS_CACHE: mkdtempSync(join(tmpdir(), "ft-cli-cache-")), ...extraEnv },
    encoding: "utf8",
  });
}

test("--help explains the commands and every TrainingArguments flag", () => {
  const top = run(["--help"]);
  assert.equal(top.status, 0);
  assert.match(top.stdout, /Commands:\n  train \[options\]/);
  const train = run(["train", "--help"]);
  for (const flag of [
    "--learning-rate <n>",
    "--eval-strategy <value>",
    "--bf16 [bool]",
    "--resume-from-checkpoint <value>",
    "--text-columns <a,b>",
    "--no-quoting",
  ])
    assert.ok(train.stdout.includes(flag), flag);
  assert.match(train.stdout, /peak learning rate of AdamW \(default 5e-5\) \(also --learning_rate\)/);
  const sft = run(["sft", "--help"]);
  for (const flag of [
    "--lora-r <n>",
    "--target-modules <list>",
    "--packing [bool]",
    "--max-length <n>",
    "--assistant-only-loss [bool]",
    "--gradient-checkpointing [bool]",
  ])
    assert.ok(sft.stdout.includes(flag), flag);
  assert.match(sft.stdout, /TRL's defaults apply where they differ/);
  const bad = run(["train", "--model", tiny, "--learning-rate", "fast"]);
  assert.notEqual(bad.status, 0);
  assert.match(bad.stderr, /--learning-rate expects a number, got 'fast'/);
});

test("train (snake_case flags too), evaluate and predict on CSV files", { skip }, () => {
  const dir = mkdtempSync(join(tmpdir(), "ft-cli-"));
  const train = toyCsv(dir, 96);
  const val = toyCsv(dir, 32);
  const outDir = join(dir, "out");
  const r = run([
    "train",
    "--model",
    tiny,
    "--tokenizer",
    tokenizer,
    "--train-file",
    train,
    "--validation-file",
    val,
    "--output_dir",
    outDir,
    "--num_train_epochs",
    "2",
    "--per-device-train-batch-size",
    "16",
    "--learning-rate",
    "1e-3",
    "--eval-strategy",
    "epoch",
    "--save-strategy",
    "no",
    "--disable-tqdm",
  ]);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stderr, /\*\*\*\*\* Running training \*\*\*\*\*\n  Num examples = 96\n  Num Epochs = 2/);
  assert.match(r.stderr, /\| Epoch \| Training Loss \| Validation Loss \| Accuracy \|/);
  const result = JSON.parse(r.stdout.trim().split("\n").pop()!);
  assert.equal(result.global_step, 12);
  assert.ok(existsSync(join(outDir, "model.safetensors")) && existsSync(join(outDir, "tokenizer.json")));
  const e = run(["evaluate", "--model", outDir, "--validation-file", val, "--split", "validation", "--output-dir", join(dir, "e")]);
  assert.equal(e.status, 0, e.stderr);
  assert.ok("eval_accuracy" in JSON.parse(e.stdout.trim().split("\n").pop()!));
  const predictions = join(dir, "preds.jsonl");
  const p = run(["predict", "--model", outDir, "--test-file", val, "--output", predictions, "--output-dir", join(dir, "p")]);
  assert.equal(p.status, 0, p.stderr);
  const lines = readFileSync(predictions, "utf8")
    .trim()
    .split("\n")
    .map((l) => JSON.parse(l));
  assert.equal(lines.length, 32);
  assert.deepEqual(Object.keys(lines[0]), ["index", "prediction", "label", "logits"]);
  // GLUE's test split has no labels (-1): predict drops the column, as run_glue does, and writes every row.
  const glue = join(dir, "glue-test.jsonl");
  const g = run([
    "predict",
    "--model",
    outDir,
    "--dataset",
    "glue",
    "--dataset-config",
    "mrpc",
    "--split",
    "test",
    "--output",
    glue,
    "--output-dir",
    join(dir, "g"),
    "--per-device-eval-batch-size",
    "64",
  ]);
  assert.equal(g.status, 0, g.stderr);
  assert.equal(readFileSync(glue, "utf8").trim().split("\n").length, 1725);
  const missing = run(["train", "--model", tiny, "--tokenizer", tokenizer, "--train-file", train, "--output-dir", outDir, "--text-columns", "question,answer"]);
  assert.notEqual(missing.status, 0);
  assert.match(missing.stderr, /finetune: text column 'question' is not in the dataset \(columns: sentence1, sentence2, label\)/);
});

test("the course's program (examples/mrpc.ts) runs on MRPC", { skip }, () => {
  const r = spawnSync(process.execPath, [join(repoRoot, "dist", "examples", "mrpc.js")], {
    env: {
      ...env,
      HF_DATASETS_CACHE: mkdtempSync(join(tmpdir(), "ft-mrpc-")),
      CHECKPOINT: tiny,
      TOKENIZER: "bert-base-cased",
      MAX_STEPS: "20",
      OUTPUT_DIR: mkdtempSync(join(tmpdir(), "ft-mrpc-out-")),
    },
    encoding: "utf8",
  });
  assert.equal(r.status, 0, r.stderr);
  assert.deepEqual(JSON.parse(r.stdout.trim().split("\n").pop()!), {
    ...JSON.parse(r.stdout.trim().split("\n").pop()!),
    globalStep: 20,
    predictions: [408, 2],
    labelIds: [408],
  });
  // The pipeline over the saved model classified the two new pairs.
  assert.equal((r.stdout.match(/label: 'LABEL_[01]', score: 0\.\d+/g) ?? []).length, 2, r.stdout);
});

test("the course's program with a LoRA adapter (examples/lora_mrpc.ts): trains, saves the adapter as PEFT, reloads, merges, classifies", { skip }, () => {
  const outputDir = mkdtempSync(join(tmpdir(), "ft-lora-out-"));
  const r = spawnSync(process.execPath, [join(repoRoot, "dist", "examples", "lora_mrpc.js")], {
    env: {
      ...env,
      HF_DATASETS_CACHE: mkdtempSync(join(tmpdir(), "ft-lora-")),
      CHECKPOINT: tiny,
      TOKENIZER: "bert-base-cased",
      MAX_STEPS: "10",
      OUTPUT_DIR: outputDir,
    },
    encoding: "utf8",
  });
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /^trainable params: [\d,]+ \|\| all params: [\d,]+ \|\| trainable%: \d+\.\d{4}$/m);
  const result = JSON.parse(r.stdout.trim().split("\n").pop()!) as { globalStep: number; evalLoss: number; accuracy: number };
  assert.equal(result.globalStep, 10);
  assert.ok(Number.isFinite(result.evalLoss) && result.accuracy >= 0 && result.accuracy <= 1, JSON.stringify(result));
  assert.deepEqual(readdirSync(join(outputDir, "adapter")).sort(), ["adapter_config.json", "adapter_model.safetensors"]);
  assert.equal((r.stdout.match(/label: 'LABEL_[01]', score: 0\.\d+/g) ?? []).length, 2, r.stdout);
});

test("the course's token classification program (examples/token_classification.ts) runs on CoNLL-2003", { skip }, () => {
  // A base checkpoint (the tiny BERT without its classifier): the token classifier is new, as from bert-base-cased.
  const base = mkdtempSync(join(tmpdir(), "ft-ner-base-"));
  const weights = torch.loadFile(join(tiny, "model.safetensors"));
  torch.saveFile(new Map([...weights].filter(([k]) => !k.startsWith("classifier."))), join(base, "model.safetensors"));
  torch.dispose([...weights.values()]);
  const config = JSON.parse(readFileSync(join(tiny, "config.json"), "utf8")) as Record<string, unknown>;
  writeFileSync(join(base, "config.json"), JSON.stringify({ ...config, architectures: ["BertModel"], id2label: undefined, label2id: undefined }));
  const r = spawnSync(process.execPath, [join(repoRoot, "dist", "examples", "token_classification.js")], {
    env: {
      ...env,
      HF_DATASETS_CACHE: mkdtempSync(join(tmpdir(), "ft-ner-")),
      CONLL_DIR: join(shared, "conll2003"),
      CHECKPOINT: base,
      TOKENIZER: "bert-base-cased",
      TRAIN_ROWS: "64",
      EVAL_ROWS: "32",
      MAX_STEPS: "8",
      OUTPUT_DIR: join(mkdtempSync(join(tmpdir(), "ft-ner-out-")), "ner"),
    },
    encoding: "utf8",
  });
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /'O',\s+'B-PER',\s+'I-PER',\s+'B-ORG',\s+'I-ORG',\s+'B-LOC',\s+'I-LOC',\s+'B-MISC',\s+'I-MISC'/);
  assert.match(r.stderr, /newly initialized: \['classifier\.bias', 'classifier\.weight'\]/);
  const result = JSON.parse(r.stdout.trim().split("\n").pop()!) as Record<string, number>;
  assert.equal(result.globalStep, 8);
  assert.equal(result.labels, 9);
  for (const k of ["eval_precision", "eval_recall", "eval_f1", "eval_accuracy"]) assert.ok(result[k] >= 0 && result[k] <= 1, `${k} = ${result[k]}`);
  assert.match(r.stderr, /\| Epoch \| Training Loss \| Validation Loss \| Precision \| Recall +\| F1 +\| Accuracy \|/);
});

/** Runs the CLI, sending SIGINT once `ready` matches its stderr. */
async function interrupt(args: string[], ready: RegExp): Promise<{ code: number | null; stderr: string; stdout: string; afterSignalMs: number }> {
  const child = spawn(process.execPath, [cli, ...args], { env: { ...env, HF_DATASETS_CACHE: mkdtempSync(join(tmpdir(), "ft-c-")) } });
  let stderr = "";
  let stdout = "";
  let sentAt = 0;
  child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
  child.stderr.on("data", (d: Buffer) => {
    stderr += d.toString();
    if (!sentAt && ready.test(stderr)) {
      sentAt = performance.now();
      child.kill("SIGINT");
    }
  });
  const code = await new Promise<number | null>((resolve) => child.on("close", resolve));
  return { code, stderr, stdout, afterSignalMs: performance.now() - sentAt };
}

test("Ctrl-C: the step finishes, a checkpoint is saved, exit 130 with no final model, the CLI's resume command resumes", { skip }, async () => {
  const dir = mkdtempSync(join(tmpdir(), "ft-sigint-"));
  const train = toyCsv(dir, 256);
  const outDir = join(dir, "out dir");
  const common = [
    "train",
    "--model",
    tiny,
    "--tokenizer",
    tokenizer,
    "--train-file",
    train,
    "--output-dir",
    outDir,
    "--max-steps",
    "400",
    "--per-device-train-batch-size",
    "4",
    "--logging-steps",
    "1",
    "--save-strategy",
    "no",
    "--disable-tqdm",
  ];
  const r = await interrupt(common, /(\{'loss'[^\n]*\n){5}/);
  assert.equal(r.code, 130, r.stderr);
  const m = /Training interrupted at step (\d+)\. Checkpoint saved to (.+)\.\nResume with:\n {2}(finetune train .*)\n/.exec(r.stderr);
  assert.ok(m, r.stderr.slice(-2000));
  const step = Number(m![1]);
  assert.ok(step >= 5 && step < 400);
  assert.ok(readdirSync(outDir).includes(`checkpoint-${step}`));
  assert.ok(existsSync(join(outDir, `checkpoint-${step}`, "optimizer.safetensors")));
  assert.ok(!existsSync(join(outDir, "model.safetensors")), "the half-trained model is not written as the final model");
  assert.doesNotMatch(r.stderr, /trainer\.train\(/, "the CLI prints its own resume command, not the API's");
  // The printed command, as a shell reads it (the output dir has a space, so it is quoted).
  const printed = m![3];
  assert.ok(printed.includes(`--resume-from-checkpoint '${join(outDir, `checkpoint-${step}`)}'`), printed);
  const argv = [...printed.matchAll(/'([^']*)'|(\S+)/g)].map((x) => x[1] ?? x[2]).slice(1);
  const resumed = run([...argv, "--logging-steps", "100"]);
  assert.equal(resumed.status, 0, resumed.stderr);
  assert.match(resumed.stderr, new RegExp(`Continuing training from checkpoint .*checkpoint-${step}`));
  assert.equal(JSON.parse(resumed.stdout.trim().split("\n").pop()!).global_step, 400);
  assert.ok(existsSync(join(outDir, "model.safetensors")), "the finished run writes the final model");
});

test("Ctrl-C during a long evaluation stops within a batch", { skip }, async () => {
  const dir = mkdtempSync(join(tmpdir(), "ft-sigint-eval-"));
  const train = toyCsv(dir, 64);
  const val = toyCsv(dir, 3000);
  const args = (out: string) => [
    "train",
    "--model",
    tiny,
    "--tokenizer",
    tokenizer,
    "--train-file",
    train,
    "--validation-file",
    val,
    "--output-dir",
    out,
    "--max-steps",
    "50",
    "--per-device-train-batch-size",
    "4",
    "--per-device-eval-batch-size",
    "1",
    "--logging-steps",
    "2",
    "--eval-strategy",
    "steps",
    "--eval-steps",
    "2",
    "--save-strategy",
    "no",
    "--disable-tqdm",
  ];
  // The loss line of step 2 comes just before its evaluation of 3,000 batches starts.
  const r = await interrupt(args(join(dir, "a")), /\{'loss'/);
  assert.equal(r.code, 130, r.stderr);
  assert.doesNotMatch(r.stderr, /eval_loss/, "the evaluation was stopped, not finished");
  assert.match(r.stderr, /Training interrupted at step 2\. Checkpoint saved to/);
  assert.ok(r.afterSignalMs < 2500, `stopped ${Math.round(r.afterSignalMs)} ms after Ctrl-C`);
});

test("a second Ctrl-C stops at once, while the first is still finishing (here: a slow computeMetrics)", async () => {
  const dir = mkdtempSync(join(tmpdir(), "ft-sigint-twice-"));
  const script = join(dir, "slow_metrics.mjs");
  const src = (m: string) => JSON.stringify(join(repoRoot, "dist", m));
  writeFileSync(
    script,
    `
    import { Trainer, TrainingArguments } from ${src("src/trainer/index.js")};
    import { out, padCollator, tinyModel, toyDataset } from ${src("test/trainer_helpers.js")};
    const args = new TrainingArguments({ outputDir: out(), perDeviceTrainBatchSize: 4, maxSteps: 20, evalStrategy: "steps", evalSteps: 2, saveStrategy: "no", disableTqdm: true });
    const computeMetrics = async () => { process.stderr.write("metrics-start\\n"); await new Promise((r) => setTimeout(r, 20000)); return {}; };
    await new Trainer({ model: tinyModel(), args, trainDataset: toyDataset(32, 1), evalDataset: toyDataset(8, 2), dataCollator: padCollator, computeMetrics }).train();
  `,
  );
  const child = spawn(process.execPath, [script]);
  let stderr = "";
  const t0 = performance.now();
  child.stderr.on("data", (d: Buffer) => {
    const before = stderr;
    stderr += d.toString();
    if (!before.includes("metrics-start") && stderr.includes("metrics-start")) child.kill("SIGINT");
    if (!before.includes("Interrupted:") && stderr.includes("Interrupted:")) child.kill("SIGINT");
  });
  const code = await new Promise<number | null>((resolve) => child.on("close", resolve));
  assert.equal(code, 130, stderr);
  assert.match(stderr, /Interrupted: finishing the current step[^\n]*\n+Interrupted again: stopping now\./);
  assert.ok(performance.now() - t0 < 15000, "did not wait for the slow metrics");
});
test("boolean flags read as HF's string_to_bool; num_labels from the label values; divergence and a used output dir fail clearly", { skip }, () => {
  const dir = mkdtempSync(join(tmpdir(), "ft-cli-flags-"));
  const base = (outDir: string, data: string) => [
    "train",
    "--model",
    tiny,
    "--tokenizer",
    tokenizer,
    "--train-file",
    data,
    "--output-dir",
    outDir,
    "--per-device-train-batch-size",
    "8",
    "--disable-tqdm",
  ];
  const data = toyCsv(dir, 32);
  const bad = run([...base(join(dir, "x"), data), "--bf16", "maybe"]);
  assert.equal(bad.status, 1);
  assert.match(bad.stderr, /--bf16: truthy value expected: got 'maybe' but expected one of yes\/no, true\/false, t\/f, y\/n, 1\/0 \(case insensitive\)/);
  // --resume-from-checkpoint follows the same rule: True is the latest checkpoint (none here), not a folder named "True".
  const resumeTrue = run([...base(join(dir, "none"), data), "--resume-from-checkpoint", "True"]);
  assert.equal(resumeTrue.status, 1);
  assert.match(resumeTrue.stderr, /No valid checkpoint found in output directory \(.*none\)/);

  const old = run([...base(join(dir, "old-name"), data), "--evaluation_strategy", "epoch"]);
  assert.equal(old.status, 1);
  assert.match(old.stderr, /You have set `args.eval_strategy` to epoch but you didn't pass an `eval_dataset`/, "HF's older --evaluation-strategy is read");

  const outDir = join(dir, "off");
  const off = run([...base(outDir, data), "--bf16", "False", "--save-only-model", "NO", "--max-steps", "2", "--save-steps", "2"]);
  assert.equal(off.status, 0, off.stderr);
  const targs = JSON.parse(readFileSync(join(outDir, "checkpoint-2", "training_args.json"), "utf8"));
  assert.deepEqual([targs.bf16, targs.save_only_model], [false, false]);
  assert.ok(existsSync(join(outDir, "checkpoint-2", "optimizer.safetensors")), "--save-only-model NO keeps the optimizer state");
  const again = run([...base(outDir, data), "--max-steps", "2"]);
  assert.equal(again.status, 1);
  assert.match(
    again.stderr,
    /finetune: Output directory \(.*off\) already holds 1 checkpoint \(checkpoint-2\) and a saved model \(model\.safetensors, config\.json\) of an earlier run/,
  );
  assert.equal(run([...base(outDir, data), "--max-steps", "2", "--overwrite-output-dir"]).status, 0, "--overwrite-output-dir trains over it");

  // Labels 0 and 2 (no 1): a head of 3 labels, not of 2 (the count of distinct values).
  const gaps = join(dir, "gaps.csv");
  writeFileSync(gaps, readFileSync(data, "utf8").replace(/,1\n/g, ",2\n"));
  const g = run([...base(join(dir, "gaps"), gaps), "--max-steps", "1", "--save-strategy", "no", "--ignore-mismatched-sizes"]);
  assert.equal(g.status, 0, g.stderr);
  assert.deepEqual(Object.keys(JSON.parse(readFileSync(join(dir, "gaps", "config.json"), "utf8")).id2label), ["0", "1", "2"]);
  const inf = join(dir, "inf.csv");
  writeFileSync(inf, readFileSync(data, "utf8").replace(/,1\n/, ",inf\n"));
  const i = run([...base(join(dir, "inf"), inf), "--max-steps", "1"]);
  assert.equal(i.status, 1);
  assert.match(i.stderr, /finetune: label column 'label' holds inf at row 0/);

  // A diverged run: exit 1, and the nan weights are not written as the final model.
  const d = run([...base(join(dir, "div"), data), "--max-steps", "4", "--learning-rate", "1e30", "--max-grad-norm", "0", "--save-strategy", "no"]);
  assert.equal(d.status, 1, d.stderr);
  assert.match(d.stderr, /warning: the training loss is not finite \(nan or inf\) at step \d+/);
  assert.match(d.stderr, /finetune: training diverged: the weights hold nan\/inf after step 4, so no final model was written/);
  assert.ok(!existsSync(join(dir, "div", "model.safetensors")));
});

test("the map cache tells runs apart: another --tokenizer or --text-columns never gets the first run's ids", { skip }, () => {
  const dir = mkdtempSync(join(tmpdir(), "ft-cli-cache-runs-"));
  const data = toyCsv(dir, 24);
  const cacheEnv = { HF_DATASETS_CACHE: join(dir, "datasets-cache") };
  const cacheFiles = () => {
    const found: string[] = [];
    const walk = (d: string) =>
      readdirSync(d, { withFileTypes: true }).forEach((e) =>
        e.isDirectory() ? walk(join(d, e.name)) : /^cache-[0-9a-f]{16}\.arrow$/.test(e.name) && found.push(e.name),
      );
    walk(cacheEnv.HF_DATASETS_CACHE);
    return new Set(found);
  };
  const train = (name: string, extra: string[]) => {
    const r = run(
      [
        "train",
        "--model",
        tiny,
        "--train-file",
        data,
        "--output-dir",
        join(dir, name),
        "--max-steps",
        "1",
        "--save-strategy",
        "no",
        "--disable-tqdm",
        ...extra,
      ],
      cacheEnv,
    );
    assert.equal(r.status, 0, r.stderr);
    assert.doesNotMatch(r.stderr, /differs from what fn computes/);
  };
  train("cased", ["--tokenizer", tokenizer]);
  const afterCased = cacheFiles();
  assert.equal(afterCased.size, 1);
  train("uncased", ["--tokenizer", join(shared, "models", "bert-base-uncased")]);
  const afterUncased = cacheFiles();
  assert.equal(afterUncased.size, 2, "the other tokenizer made its own cache file");
  train("cased-again", ["--tokenizer", tokenizer]);
  assert.deepEqual(cacheFiles(), afterUncased, "the first tokenizer found its cache again");
  train("swapped", ["--tokenizer", tokenizer, "--text-columns", "sentence2,sentence1"]);
  assert.equal(cacheFiles().size, 3, "other text columns made their own cache file");
  train("one-column", ["--tokenizer", tokenizer, "--text-columns", "sentence1"]);
  assert.equal(cacheFiles().size, 4);
});

test("regression is decided by the label column's dtype, as run_glue: STS-B-like scores 1.0–5.0 are one float output, whole-number classes are classes", async () => {
  const { numLabelsFor } = await import("../src/cli/finetune.js");
  const { loadDataset } = await import("../src/datasets/index.js");
  const dir = mkdtempSync(join(tmpdir(), "ft-cli-regression-"));
  writeFileSync(join(dir, "stsb.csv"), "sentence1,sentence2,label\na,b,1.0\nc,d,5.0\ne,f,3.0\n");
  writeFileSync(join(dir, "classes.csv"), "sentence1,sentence2,label\na,b,1\nc,d,5\ne,f,3\n");
  writeFileSync(join(dir, "stsb.jsonl"), '{"label": 2.0}\n{"label": 4.0}\n');
  const load = async (f: string) =>
    (await loadDataset(f.endsWith(".csv") ? "csv" : "json", {
      dataFiles: join(dir, f),
      split: "train",
      cacheDir: dir,
    })) as import("../src/datasets/index.js").Dataset;
  assert.equal(numLabelsFor(await load("stsb.csv"), "label"), 1, "float64 labels: regression");
  assert.equal(numLabelsFor(await load("stsb.jsonl"), "label"), 1, "JSON 2.0 is a double: regression");
  assert.equal(numLabelsFor(await load("classes.csv"), "label"), 6, "int64 labels: classes 0..5");
});

test("a dataset with a ClassLabel gives the model its label names (as run_glue), so predictions say them", { skip }, () => {
  const dir = mkdtempSync(join(tmpdir(), "ft-cli-glue-"));
  const outDir = join(dir, "mrpc");
  const r = run([
    "train",
    "--model",
    tiny,
    "--tokenizer",
    tokenizer,
    "--dataset",
    "glue",
    "--dataset-config",
    "mrpc",
    "--output-dir",
    outDir,
    "--max-steps",
    "1",
    "--save-strategy",
    "no",
    "--disable-tqdm",
  ]);
  assert.equal(r.status, 0, r.stderr);
  const config = JSON.parse(readFileSync(join(outDir, "config.json"), "utf8"));
  assert.deepEqual(config.id2label, { "0": "not_equivalent", "1": "equivalent" });
  assert.deepEqual(config.label2id, { not_equivalent: 0, equivalent: 1 });
});

test("export onnx: the folder transformers.js loads, the model's tokenizer beside it, clear errors", { skip }, () => {
  const dir = mkdtempSync(join(tmpdir(), "ft-cli-export-"));
  // A trained-model folder as `finetune train` leaves it: weights, config and tokenizer together.
  const model = join(dir, "model");
  const save = spawnSync(
    process.execPath,
    [
      "--input-type=module",
      "-e",
      `
    import { AutoModelForSequenceClassification, AutoTokenizer } from ${JSON.stringify(join(repoRoot, "dist", "src", "index.js"))};
    const m = await AutoModelForSequenceClassification.fromPretrained(${JSON.stringify(tiny)});
    m.savePretrained(${JSON.stringify(model)});
    (await AutoTokenizer.fromPretrained(${JSON.stringify(tokenizer)})).savePretrained(${JSON.stringify(model)});`,
    ],
    { encoding: "utf8", env },
  );
  assert.equal(save.status, 0, save.stderr);

  const help = run(["export", "onnx", "--help"]);
  assert.match(help.stdout, /--dtype <list>\s+which files, comma-separated: fp32 \(onnx\/model.onnx\),\s+fp16/);
  const out = join(dir, "web");
  const ok = run(["export", "onnx", "--model", model, "--output", out, "--dtype", "fp32,q8"]);
  assert.equal(ok.status, 0, ok.stderr);
  assert.match(ok.stdout, /BertForSequenceClassification → .* \(opset 17\)/);
  assert.match(ok.stdout, /onnx\/model_quantized\.onnx\s+\d+(\.\d)? KiB/);
  for (const f of ["config.json", "tokenizer.json", "tokenizer_config.json", "onnx/model.onnx", "onnx/model_quantized.onnx"])
    assert.ok(existsSync(join(out, f)), f);
  assert.equal(existsSync(join(out, "onnx", "model_fp16.onnx")), false, "only the dtypes asked for");

  const bad = run(["export", "onnx", "--model", model, "--output", out, "--dtype", "fp32,int4"]);
  assert.equal(bad.status, 1);
  assert.match(bad.stderr, /finetune: --dtype: unknown 'int4' \(one or more of fp32, fp16, q8\)/);
  const opset = run(["export", "onnx", "--model", model, "--output", out, "--opset", "9"]);
  assert.match(opset.stderr, /opset must be an integer from 14 to 21, got 9/);
  // A folder without tokenizer files: the model is exported, with a warning that says what is missing.
  const bare = run(["export", "onnx", "--model", tiny, "--output", join(dir, "bare")]);
  assert.equal(bare.status, 0, bare.stderr);
  assert.match(bare.stderr, /has no tokenizer .*give --tokenizer/);
  assert.ok(existsSync(join(dir, "bare", "onnx", "model.onnx")));
  assert.equal(existsSync(join(dir, "bare", "tokenizer.json")), false);
});

test("finetune train --task causal-lm: a text file in blocks (run_clm), the loss and perplexity, the model and tokenizer saved", { skip }, () => {
  const base = mkdtempSync(join(tmpdir(), "ft-cli-clm-base-"));
  torch.manualSeed(0);
  const model = AutoModelForCausalLM.fromConfig({ model_type: "gpt2", vocab_size: 50257, n_embd: 16, n_layer: 1, n_head: 2, n_positions: 64 });
  model.savePretrained(base);
  torch.dispose(model.parameters());
  const text = readFileSync(join(shared, "tinyshakespeare", "input.txt"), "utf8").split("\n");
  const dir = mkdtempSync(join(tmpdir(), "ft-cli-clm-data-"));
  writeFileSync(join(dir, "train.txt"), text.slice(0, 1500).join("\n"));
  writeFileSync(join(dir, "valid.txt"), text.slice(1500, 1800).join("\n"));
  const out = join(mkdtempSync(join(tmpdir(), "ft-cli-clm-out-")), "run");
  const common = [
    "train",
    "--task",
    "causal-lm",
    "--model",
    base,
    "--tokenizer",
    join(shared, "models", "gpt2-tokenizer"),
    "--train-file",
    join(dir, "train.txt"),
  ];
  const cache = { ...env, HF_DATASETS_CACHE: mkdtempSync(join(tmpdir(), "ft-cli-clm-cache-")) };
  const training = ["--validation-file", join(dir, "valid.txt"), "--block-size", "32", "--output-dir", out, "--max-steps", "6", "--learning-rate", "1e-3"];
  const r = spawnSync(process.execPath, [cli, ...common, ...training, "--save-strategy", "no", "--disable-tqdm"], { env: cache, encoding: "utf8" });
  assert.equal(r.status, 0, r.stderr);
  const result = JSON.parse(r.stdout.trim().split("\n").pop()!) as Record<string, number>;
  assert.equal(result.global_step, 6);
  assert.ok(Math.abs(result.perplexity - Math.exp(result.eval_loss)) < 1e-6 * result.perplexity);
  assert.ok(existsSync(join(out, "model.safetensors")) && existsSync(join(out, "tokenizer.json")));
  const bad = spawnSync(process.execPath, [cli, ...common, "--text-column", "content", "--output-dir", out], { env: cache, encoding: "utf8" });
  assert.notEqual(bad.status, 0);
  assert.match(bad.stderr, /text column 'content' is not in the train data \(columns: text\); name it with --text-column/);
});

test(
  "LoRA SFT end to end (examples/sft_lora.ts): chat data packed, the adapter saved as PEFT, reloaded onto a fresh base, merged, generating",
  { skip },
  () => {
    const dir = mkdtempSync(join(tmpdir(), "ft-sft-example-"));
    const config = TINY_QWEN3;
    writeFileSync(join(dir, "config.json"), JSON.stringify(config));
    const chats = (JSON.parse(readFileSync(join(shared, "sft", "llama-factory", "kto_en_demo.json"), "utf8")) as { messages: unknown }[]).slice(0, 24);
    writeFileSync(join(dir, "chats.jsonl"), chats.map((c) => JSON.stringify({ messages: c.messages })).join("\n") + "\n");
    const outputDir = join(dir, "out");
    const r = spawnSync(process.execPath, [join(repoRoot, "dist", "examples", "sft_lora.js")], {
      env: {
        ...env,
        HF_DATASETS_CACHE: join(dir, "cache"),
        MODEL_CONFIG: join(dir, "config.json"),
        TOKENIZER: join(shared, "models", "Qwen3-tokenizer"),
        DATA_FILE: join(dir, "chats.jsonl"),
        MAX_STEPS: "3",
        MAX_LENGTH: "64",
        BF16: "0",
        OUTPUT_DIR: outputDir,
      },
      encoding: "utf8",
    });
    assert.equal(r.status, 0, r.stderr);
    // r 16 on the 14 linear layers of the two blocks: 16 · (16+16 + 16+8 + 16+8 + 16+16 + 16+32 + 16+32 + 32+16) per block.
    assert.match(r.stdout, /^trainable params: 8,192 \|\| all params: [\d,]+ \|\| trainable%: \d+\.\d{4}$/m);
    const result = JSON.parse(r.stdout.trim().split("\n").pop()!) as { globalStep: number; trainLoss: number; replyTokens: number };
    assert.equal(result.globalStep, 3);
    assert.ok(Number.isFinite(result.trainLoss));
    assert.ok(result.replyTokens > 0 && result.replyTokens <= 20, JSON.stringify(result));
    for (const f of ["adapter_config.json", "adapter_model.safetensors", "tokenizer.json"]) assert.ok(existsSync(join(outputDir, f)), f);
  },
);

test("finetune sft: GSM8K as prompt–completion, a LoRA adapter on all linear layers, packed; the adapter folder PEFT reads", { skip }, async () => {
  const dir = mkdtempSync(join(tmpdir(), "ft-cli-sft-"));
  const config = TINY_QWEN3;
  writeFileSync(join(dir, "config.json"), JSON.stringify(config));
  const rows = readFileSync(join(shared, "sft", "gsm8k", "train.jsonl"), "utf8")
    .split("\n")
    .slice(0, 12);
  writeFileSync(join(dir, "gsm8k.jsonl"), rows.join("\n") + "\n");
  const out = join(dir, "out");
  const args = [
    "sft",
    "--model-config",
    join(dir, "config.json"),
    "--tokenizer",
    join(shared, "models", "Qwen3-tokenizer"),
    "--dataset",
    join(dir, "gsm8k.jsonl"),
    "--prompt-format",
    "Question: {question}\\nAnswer:\\n",
    "--completion-column",
    "answer",
  ];
  const training = [
    "--lora-r",
    "4",
    "--lora-alpha",
    "8",
    "--target-modules",
    "all-linear",
    "--packing",
    "--max-length",
    "128",
    "--max-steps",
    "2",
    "--bf16",
    "false",
  ];
  const r = run([
    ...args,
    ...training,
    "--output-dir",
    out,
    "--learning-rate",
    "1e-2",
    "--per-device-train-batch-size",
    "2",
    "--save-strategy",
    "no",
    "--disable-tqdm",
  ]);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /^trainable params: 2,048 \|\| all params: [\d,]+ \|\| trainable%: [\d.]+$/m);
  const result = JSON.parse(r.stdout.trim().split("\n").pop()!) as Record<string, number>;
  assert.equal(result.global_step, 2);
  const adapterConfig = JSON.parse(readFileSync(join(out, "adapter_config.json"), "utf8")) as Record<string, unknown>;
  assert.equal(adapterConfig.r, 4);
  assert.equal(adapterConfig.task_type, "CAUSAL_LM");
  // PEFT writes all-linear as the layers' full names (condensed to suffixes only from 20 targets on).
  const names = [0, 1].flatMap((i) => [
    ...["down_proj", "gate_proj", "up_proj"].map((m) => `model.layers.${i}.mlp.${m}`),
    ...["k_proj", "o_proj", "q_proj", "v_proj"].map((m) => `model.layers.${i}.self_attn.${m}`),
  ]);
  assert.deepEqual((adapterConfig.target_modules as string[]).sort(), names.sort());
  // The adapter trained (B moved off PEFT's zeros) and loads onto the same base.
  const { PeftModel } = await import("../src/peft/index.js");
  torch.manualSeed(42);
  const peft = await PeftModel.fromPretrained(AutoModelForCausalLM.fromConfig(config), out);
  const b = [...peft.namedParameters()].find(([n]) => n.endsWith("q_proj.lora_B.default.weight"))![1];
  assert.ok(b.abs().max().item() > 0);

  const bad = run([...args, "--lora-alpha", "8", "--output-dir", join(dir, "bad")]);
  assert.notEqual(bad.status, 0);
  assert.match(bad.stderr, /--lora-alpha, --lora-dropout and --target-modules configure a LoRA adapter: give --lora-r too/);
});
