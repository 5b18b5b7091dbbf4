// What the Trainer tests share: a learnable toy task, a tiny BERT, a padding collator, and quiet runs.
import assert from "node:assert/strict";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as torch from "../src/torch/index.js";
import { Dataset, loadDataset } from "../src/datasets/index.js";
import { AutoTokenizer } from "../src/tokenizers/index.js";
import { AutoModelForSequenceClassification, type LogitsOutput, type ModelWithOutput, type PreTrainedModel } from "../src/models/index.js";
import { Trainer, TrainerCallback, TrainingArguments } from "../src/trainer/index.js";
import { fixture, repoRoot, withEnv } from "./helpers.js";

export const out = (): string => mkdtempSync(join(tmpdir(), "ft-trainer-"));

/** A learnable toy task: label 1 when token 7 occurs. Rows of varied length. */
export function toyDataset(n: number, seed: number): Dataset {
  torch.manualSeed(seed);
  const ids = torch.randint(8, 40, [n, 12]).toArray() as number[][];
  const lens = torch.randint(4, 13, [n]).toArray() as number[];
  const labels = torch.randint(0, 2, [n]).toArray() as number[];
  const rows = ids.map((r, i) => {
    const x = [1, ...r.slice(0, lens[i] - 2), 2];
    if (labels[i]) x[1 + (i % (x.length - 2))] = 7;
    return x;
  });
  return Dataset.fromDict({ input_ids: rows, attention_mask: rows.map((r) => r.map(() => 1)), label: labels, text: rows.map(String) });
}

/** The tiny BERT of the Trainer tests (vocabulary 40, one layer of width 16). */
export const TINY_BERT = { model_type: "bert", vocab_size: 40, hidden_size: 16, num_hidden_layers: 1, num_attention_heads: 2, intermediate_size: 24 };

export function tinyModel(dropout = 0.1): ModelWithOutput<LogitsOutput> {
  torch.manualSeed(0);
  return AutoModelForSequenceClassification.fromConfig({
    ...TINY_BERT,
    hidden_dropout_prob: dropout,
    attention_probs_dropout_prob: dropout,
    max_position_embeddings: 32,
  });
}

export const quiet = { disableTqdm: true };

/**
 * The resume scenario on the toy task (batch 4, lr 5e-3, saves every 7 steps, seed 11): a run without
 * checkpoints to compare with, and a run into a fresh folder stopped after 14 steps (checkpoints 7 and 14).
 */
export async function interruptedRun<M extends PreTrainedModel>(make: () => M, ds: Dataset, epochs: number) {
  const argsFor = (dir: string, extra: Partial<ConstructorParameters<typeof TrainingArguments>[0]> = {}) =>
    new TrainingArguments({
      outputDir: dir,
      perDeviceTrainBatchSize: 4,
      numTrainEpochs: epochs,
      learningRate: 5e-3,
      saveSteps: 7,
      loggingSteps: 5,
      seed: 11,
      ...quiet,
      ...extra,
    });
  const full = make();
  await silenced(() => new Trainer({ model: full, args: argsFor(out(), { saveStrategy: "no" }), trainDataset: ds, dataCollator: padCollator }).train());
  const dir = out();
  await silenced(() => new Trainer({ model: make(), args: argsFor(dir), trainDataset: ds, dataCollator: padCollator, callbacks: [stopAt(14)] }).train());
  return { full, dir, argsFor };
}

/** A callback that stops training after `step` steps, as a crash would (the checkpoints so far stay). */
export function stopAt(step: number): TrainerCallback {
  return new (class extends TrainerCallback {
    override onStepEnd = (_a: unknown, state: { global_step: number }, control: { shouldTrainingStop: boolean }) => {
      if (state.global_step === step) control.shouldTrainingStop = true;
    };
  })();
}
export function silenced<T>(fn: () => Promise<T>): Promise<T> {
  const write = process.stderr.write.bind(process.stderr);
  const lines: string[] = [];
  process.stderr.write = ((s: string) => (lines.push(String(s)), true)) as typeof process.stderr.write;
  return fn().finally(() => {
    process.stderr.write = write;
  });
}

/** Runs fn with stderr (and console.warn) captured; returns what it printed and fn's result. */
export async function captured<T>(fn: () => Promise<T>): Promise<{ text: string; result: T }> {
  const write = process.stderr.write.bind(process.stderr);
  const warn = console.warn;
  const lines: string[] = [];
  process.stderr.write = ((s: string) => (lines.push(String(s)), true)) as typeof process.stderr.write;
  console.warn = (m: unknown) => void lines.push(String(m) + "\n");
  try {
    const result = await fn();
    return { text: lines.join(""), result };
  } finally {
    process.stderr.write = write;
    console.warn = warn;
  }
}

export function zip<A, B>(a: A[], b: B[]): [A, B][] {
  return a.map((x, i) => [x, b[i]]);
}

/** Pads input_ids/attention_mask with 0 (the toy task's pad id), as DataCollatorWithPadding would. */
export function padCollator(features: Record<string, unknown>[]): Record<string, torch.Tensor> {
  const width = Math.max(...features.map((f) => (f.input_ids as number[]).length));
  const pad = (x: number[]) => [...x, ...new Array(width - x.length).fill(0)];
  return {
    input_ids: torch.tensor(features.map((f) => pad(f.input_ids as number[]))),
    attention_mask: torch.tensor(features.map((f) => pad(f.attention_mask as number[]))),
    labels: torch.tensor(features.map((f) => f.label as number)),
  };
}

/** What scripts/golden/trainer_mrpc.py writes: the course's loop in plain PyTorch, step by step. */
export interface CourseGolden {
  n_train: number;
  n_eval: number;
  epochs: number;
  batch: number;
  learning_rate: number;
  weight_decay: number;
  warmup_ratio: number;
  losses: number[];
  grad_norms: number[];
  learning_rates: number[];
  eval_losses: number[];
}

/**
 * The course's program (MRPC from ../shared's HF cache, bert-base-cased's tokenizer, the tiny
 * checkpoint tiny-bert-cased, eval each epoch) through the Trainer on `device`, every logged loss,
 * grad norm, learning rate and eval loss checked against the plain PyTorch loop's within `tolerance`.
 */
export async function runCourseGolden(golden: CourseGolden, o: { device: "cpu" | "cuda"; tolerance: number }): Promise<string> {
  const shared = join(repoRoot, "..", "shared", "data");
  return await withEnv({ HF_HOME: join(shared, "hf-home"), HF_HUB_OFFLINE: "1", HF_DATASETS_CACHE: out() }, async () => {
    const raw = await loadDataset("glue", "mrpc");
    const tokenizer = await AutoTokenizer.fromPretrained("bert-base-cased");
    const tokenized = await raw.map(
      (ex) => tokenizer((ex as { sentence1: string[] }).sentence1, (ex as { sentence2: string[] }).sentence2, { truncation: true }),
      { batched: true },
    );
    const model = (await AutoModelForSequenceClassification.fromPretrained(fixture("golden", "trainer", "tiny-bert-cased"))) as PreTrainedModel;
    const args = new TrainingArguments({
      outputDir: out(),
      numTrainEpochs: golden.epochs,
      perDeviceTrainBatchSize: golden.batch,
      learningRate: golden.learning_rate,
      weightDecay: golden.weight_decay,
      warmupRatio: golden.warmup_ratio,
      loggingSteps: 1,
      evalStrategy: "epoch",
      saveStrategy: "no",
      // torch.optim.AdamW() as the golden script makes it: op-by-op (foreach on CUDA), not fused.
      useCpu: o.device === "cpu",
      optim: "adamw_torch",
      ...quiet,
    });
    const range = (n: number) => Array.from({ length: n }, (_, i) => i);
    const trainer = new Trainer({
      model,
      args,
      processingClass: tokenizer,
      trainDataset: tokenized.train.select(range(golden.n_train)),
      evalDataset: tokenized.validation.select(range(golden.n_eval)),
    });
    const result = await silenced(() => trainer.train());
    assert.equal([...trainer.model.parameters()][0].device.split(":")[0], o.device);
    const total = golden.losses.length;
    assert.equal(result.globalStep, total);
    const steps = trainer.state.log_history.filter((e) => "loss" in e);
    assert.equal(steps.length, total);
    const tol = o.tolerance;
    steps.forEach((e, i) => {
      assert.ok(Math.abs(e.loss - golden.losses[i]) <= tol, `loss at step ${i + 1}: ${e.loss} vs PyTorch ${golden.losses[i]}`);
      assert.ok(
        Math.abs(e.grad_norm - golden.grad_norms[i]) <= tol * Math.max(1, golden.grad_norms[i]),
        `grad_norm at step ${i + 1}: ${e.grad_norm} vs PyTorch ${golden.grad_norms[i]}`,
      );
      assert.ok(Math.abs(e.learning_rate - golden.learning_rates[i]) <= 1e-12, `learning_rate at step ${i + 1}`);
    });
    const evals = trainer.state.log_history.filter((e) => "eval_loss" in e).map((e) => e.eval_loss);
    evals.forEach((l, i) => assert.ok(Math.abs(l - golden.eval_losses[i]) <= tol, `eval_loss after epoch ${i + 1}: ${l} vs ${golden.eval_losses[i]}`));
    assert.equal(evals.length, golden.epochs);
    assert.equal(result.metrics.epoch, golden.epochs);
    assert.ok(Math.abs(result.trainingLoss - golden.losses.reduce((a, b) => a + b, 0) / total) <= tol / 10);
    assert.ok(result.metrics.total_flos > 0);
    const worst = (xs: number[]) => Math.max(...xs).toExponential(2);
    return (
      `largest differences from PyTorch on ${o.device}: loss ${worst(steps.map((e, i) => Math.abs(e.loss - golden.losses[i])))}, ` +
      `grad_norm ${worst(steps.map((e, i) => Math.abs(e.grad_norm - golden.grad_norms[i])))}, eval_loss ${worst(evals.map((l, i) => Math.abs(l - golden.eval_losses[i])))}`
    );
  });
}
