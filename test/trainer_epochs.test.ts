// Where a result depends on HF's Trainer arithmetic: epochs whose batches do not divide by the
// accumulation steps, runs that stop mid-epoch, best-only saves, callback state across a resume,
// and the metrics/state files (transformers 5's trainer.py and trainer_callback.py).
import { test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, readFileSync, readdirSync } from "node:fs";
import { join } from "node:path";
import * as torch from "../src/torch/index.js";
import { AdamW, GradScaler, getScheduler } from "../src/optim/index.js";
import { EarlyStoppingCallback, Trainer, TrainerCallback, TrainingArguments, type TrainerState } from "../src/trainer/index.js";
import { optimizerStep } from "../src/trainer/trainer.js";
import * as evaluate from "../src/evaluate/index.js";
import { captured, out, padCollator, quiet, silenced, tinyModel, toyDataset } from "./trainer_helpers.js";

/** The evaluation table's rows as printed: the first cell of each (epoch or step). */
async function tableRows(t: Trainer): Promise<string[]> {
  const { text } = await captured(() => t.train());
  return text
    .split("\n")
    .filter((l) => /^\| \d/.test(l))
    .map((l) => l.split("|")[1].trim());
}

test("epochs whose batches do not divide: ceil(batches / accumulation) steps, every epoch's evaluation, HF's epoch floats", async () => {
  // 44 rows / batch 4 = 11 batches; accumulation 4 → groups of 4, 4 and 3: 3 optimizer steps an epoch.
  const train = toyDataset(44, 1);
  const val = toyDataset(8, 2);
  const args = (extra: object) =>
    new TrainingArguments({
      outputDir: out(),
      perDeviceTrainBatchSize: 4,
      gradientAccumulationSteps: 4,
      evalStrategy: "epoch",
      saveStrategy: "no",
      loggingSteps: 1,
      ...quiet,
      ...extra,
    });
  const three = new Trainer({ model: tinyModel(), args: args({ numTrainEpochs: 3 }), trainDataset: train, evalDataset: val, dataCollator: padCollator });
  assert.deepEqual(await tableRows(three), ["1", "2", "3"], "all three epochs evaluated (the course's variant)");
  assert.equal(three.state.global_step, 9);
  assert.equal(three.state.max_steps, 9);
  const steps = three.state.log_history.filter((e) => "loss" in e);
  assert.deepEqual(
    steps.map((e) => e.epoch),
    [4 / 11, 8 / 11, 1, 1 + 4 / 11, 1 + 8 / 11, 2, 2 + 4 / 11, 2 + 8 / 11, 3],
    "epoch = epoch + batches done / batches (unrounded, as transformers 5 logs it)",
  );
  assert.deepEqual(
    three.state.log_history.filter((e) => "eval_loss" in e).map((e) => e.epoch),
    [1, 2, 3],
  );

  const one = new Trainer({ model: tinyModel(), args: args({ numTrainEpochs: 1 }), trainDataset: train, evalDataset: val, dataCollator: padCollator });
  assert.deepEqual(await tableRows(one), ["1"]);
  assert.equal(one.state.global_step, 3);

  // maxSteps inside the first epoch: training stops mid-epoch and the epoch's evaluation still runs.
  const big = toyDataset(100, 3);
  const capped = new Trainer({
    model: tinyModel(),
    args: args({ maxSteps: 5, gradientAccumulationSteps: 1 }),
    trainDataset: big,
    evalDataset: val,
    dataCollator: padCollator,
  });
  assert.deepEqual(await tableRows(capped), ["0"], "one row, for the epoch cut short (HF prints int(epoch))");
  assert.equal(capped.state.global_step, 5);
  assert.equal(capped.state.log_history.filter((e) => "eval_loss" in e)[0].epoch, 0.2);
});

test("saveStrategy 'best' saves exactly when the metric improves", async () => {
  const train = toyDataset(48, 4);
  const val = toyDataset(16, 5);
  const dir = out();
  const metric = await evaluate.load("accuracy");
  const args = new TrainingArguments({
    outputDir: dir,
    perDeviceTrainBatchSize: 8,
    numTrainEpochs: 8,
    learningRate: 3e-2,
    evalStrategy: "epoch",
    saveStrategy: "best",
    metricForBestModel: "accuracy",
    ...quiet,
  });
  const t = new Trainer({
    model: tinyModel(),
    args,
    trainDataset: train,
    evalDataset: val,
    dataCollator: padCollator,
    computeMetrics: ({ predictions, labelIds }) => metric.compute({ predictions: predictions.argmax(-1), references: labelIds! }),
  });
  await silenced(() => t.train());
  const evals = t.state.log_history.filter((e) => "eval_accuracy" in e);
  const improved: string[] = [];
  let best = -Infinity;
  for (const e of evals) {
    if (e.eval_accuracy > best) improved.push(`checkpoint-${e.step}`);
    best = Math.max(best, e.eval_accuracy);
  }
  assert.ok(improved.length >= 1 && improved.length < evals.length, `a run with both improving and flat evaluations: ${evals.map((e) => e.eval_accuracy)}`);
  assert.deepEqual(
    readdirSync(dir)
      .filter((d) => d.startsWith("checkpoint-"))
      .sort(),
    [...improved].sort(),
  );
  assert.equal(t.state.best_model_checkpoint, join(dir, improved.at(-1)!));
});

test("stateful callbacks: EarlyStoppingCallback's patience is saved and, with restoreCallbackStatesFromCheckpoint, survives a resume", async () => {
  const train = toyDataset(40, 6);
  const val = toyDataset(8, 7);
  const dir = out();
  const args = new TrainingArguments({
    outputDir: dir,
    perDeviceTrainBatchSize: 4,
    maxSteps: 30,
    learningRate: 0,
    evalStrategy: "steps",
    evalSteps: 2,
    saveSteps: 2,
    metricForBestModel: "loss",
    loadBestModelAtEnd: true,
    restoreCallbackStatesFromCheckpoint: true,
    ...quiet,
  });
  // Learning rate 0: the loss never improves after the first evaluation, so the counter climbs by one each time.
  class StopAt extends TrainerCallback {
    override onStepEnd(_a: TrainingArguments, s: TrainerState, c: { shouldTrainingStop: boolean }) {
      if (s.global_step === 6) c.shouldTrainingStop = true;
    }
  }
  const first = new EarlyStoppingCallback({ earlyStoppingPatience: 5 });
  await silenced(() =>
    new Trainer({ model: tinyModel(), args, trainDataset: train, evalDataset: val, dataCollator: padCollator, callbacks: [first, new StopAt()] }).train(),
  );
  assert.equal(first.earlyStoppingPatienceCounter, 2, "evaluations at steps 2, 4, 6: two without improvement");
  const saved = JSON.parse(readFileSync(join(dir, "checkpoint-6", "trainer_state.json"), "utf8"));
  assert.deepEqual(saved.stateful_callbacks.EarlyStoppingCallback, {
    args: { early_stopping_patience: 5, early_stopping_threshold: 0 },
    attributes: { early_stopping_patience_counter: 2 },
  });
  assert.deepEqual(Object.keys(saved.stateful_callbacks.TrainerControl.args).sort(), [
    "should_epoch_stop",
    "should_evaluate",
    "should_log",
    "should_save",
    "should_training_stop",
  ]);

  const resumed = new EarlyStoppingCallback({ earlyStoppingPatience: 5 });
  const t = new Trainer({ model: tinyModel(), args, trainDataset: train, evalDataset: val, dataCollator: padCollator, callbacks: [resumed] });
  await silenced(() => t.train({ resumeFromCheckpoint: join(dir, "checkpoint-6") }));
  // 2 carried over + evaluations at 8, 10, 12 → 5 = patience: stopped at step 12, not at 16.
  assert.equal(t.state.global_step, 12);
  // HF's default (restoreCallbackStatesFromCheckpoint false): the counter starts again.
  const fresh = new EarlyStoppingCallback({ earlyStoppingPatience: 5 });
  const t2 = new Trainer({
    model: tinyModel(),
    args: args.with({ restoreCallbackStatesFromCheckpoint: false }),
    trainDataset: train,
    evalDataset: val,
    dataCollator: padCollator,
    callbacks: [fresh],
  });
  await silenced(() => t2.train({ resumeFromCheckpoint: join(dir, "checkpoint-6") }));
  assert.equal(t2.state.global_step, 16);
});

test("evaluate() carries the epoch once trained; logMetrics, saveMetrics and saveState write what HF writes", async () => {
  const train = toyDataset(24, 8);
  const val = toyDataset(8, 9);
  const dir = out();
  const t = new Trainer({
    model: tinyModel(),
    args: new TrainingArguments({ outputDir: dir, perDeviceTrainBatchSize: 8, numTrainEpochs: 2, saveStrategy: "no", ...quiet }),
    trainDataset: train,
    evalDataset: val,
    dataCollator: padCollator,
  });
  const before = await silenced(() => t.evaluate());
  assert.ok(!("epoch" in before), "a model never trained has no epoch to report");
  const result = await silenced(() => t.train());
  assert.equal(result.metrics.epoch, 2);
  const metrics = await silenced(() => t.evaluate());
  assert.equal(metrics.epoch, 2);

  const stdout = process.stdout.write.bind(process.stdout);
  const lines: string[] = [];
  process.stdout.write = ((s: string) => (lines.push(String(s)), true)) as typeof process.stdout.write;
  try {
    t.logMetrics("train", { ...result.metrics, train_runtime: 3725.256, total_flos: 5 * 2 ** 30 + 7 });
  } finally {
    process.stdout.write = stdout;
  }
  const text = lines.join("");
  assert.match(text, /^\*\*\*\*\* train metrics \*\*\*\*\*\n/);
  assert.match(text, /\n {2}epoch {20}= +2\.0\n/);
  assert.match(text, /\n {2}total_flos {15}= +5GF\n/);
  assert.match(text, /\n {2}train_runtime {12}= 1:02:05\.25\n/);
  assert.deepEqual(
    text
      .trim()
      .split("\n")
      .slice(1)
      .map((l) => l.trim().split(" ")[0]),
    ["epoch", "total_flos", "train_loss", "train_runtime", "train_samples_per_second", "train_steps_per_second"],
  );

  t.saveMetrics("train", result.metrics);
  t.saveMetrics("eval", metrics);
  const trainFile = readFileSync(join(dir, "train_results.json"), "utf8");
  assert.deepEqual(Object.keys(JSON.parse(trainFile)), Object.keys(result.metrics).sort(), "sorted keys");
  assert.match(trainFile, /^\{\n {4}"epoch": 2,/, "indent 4, as json.dump(indent=4)");
  const all = JSON.parse(readFileSync(join(dir, "all_results.json"), "utf8"));
  assert.deepEqual(Object.keys(all), [...new Set([...Object.keys(result.metrics), ...Object.keys(metrics)])].sort());
  assert.equal(all.eval_loss, metrics.eval_loss);
  t.saveState();
  assert.ok(existsSync(join(dir, "trainer_state.json")));
  assert.equal(JSON.parse(readFileSync(join(dir, "trainer_state.json"), "utf8")).global_step, 6);
});

test("a step the fp16 GradScaler skips (inf gradients) does not advance the schedule", () => {
  const p = torch.tensor([1, 2, 3], { dtype: "float32", requiresGrad: true });
  const optimizer = new AdamW([p], { lr: 0.1 });
  const scheduler = getScheduler("linear", optimizer, { numWarmupSteps: 2, numTrainingSteps: 10 });
  const scaler = new GradScaler({ initScale: 1024 });
  const grad = (values: number[]) => {
    p.grad = torch.tensor(values, { dtype: "float32" }).mul(scaler.scale);
  };
  grad([1, Infinity, 1]);
  scaler.unscale_(optimizer);
  const skipped = optimizerStep(optimizer, scheduler, scaler);
  assert.deepEqual(skipped, { learningRate: 0, skipped: true });
  assert.equal(scheduler.lastEpoch, 0, "the schedule stays at its first step");
  assert.deepEqual(p.toArray(), [1, 2, 3], "the parameters are untouched");
  assert.equal(optimizer.state.get(p), undefined, "AdamW did not step");
  assert.equal(scaler.scale, 512, "the scale backs off");
  grad([1, 1, 1]);
  scaler.unscale_(optimizer);
  assert.deepEqual(optimizerStep(optimizer, scheduler, scaler), { learningRate: 0, skipped: false }, "the first real step uses the first learning rate");
  assert.equal(scheduler.lastEpoch, 1);
  assert.equal(optimizer.state.get(p)?.step, 1, "AdamW stepped");
  torch.dispose([p]);
});
