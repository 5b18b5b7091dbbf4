// The Trainer: the course's loop equals a PyTorch loop on MRPC (fixture from
// scripts/golden/trainer_mrpc.py), accumulation, resume, checkpoints, rotation, best model,
// early stopping, reporters and argument errors.
import { test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, readFileSync, readdirSync } from "node:fs";
import { join } from "node:path";
import * as torch from "../src/torch/index.js";
import { setVerbosity, setWarningSink } from "../src/models/index.js";
import { EarlyStoppingCallback, Trainer, TrainingArguments, crc32c } from "../src/trainer/index.js";
import * as evaluate from "../src/evaluate/index.js";
import { fixture, repoRoot, needs } from "./helpers.js";
import { pyDict, pyG4 } from "../src/trainer/logs.js";
import { captured, out, padCollator, quiet, runCourseGolden, silenced, interruptedRun, tinyModel, toyDataset, zip } from "./trainer_helpers.js";

const shared = join(repoRoot, "..", "shared", "data");
const noShared = needs("shared", existsSync(join(shared, "hf-home")), "../shared/data is absent");
process.env.HF_DATASETS_DISABLE_PROGRESS_BARS = "1";

test("the course's loop on MRPC equals PyTorch: 300 steps of losses, grad norms, LRs, eval losses", { skip: noShared }, async (t) => {
  const golden = JSON.parse(readFileSync(fixture("golden", "trainer", "mrpc_losses.json"), "utf8"));
  t.diagnostic(await runCourseGolden(golden, { device: "cpu", tolerance: 1e-4 }));
});

test("gradient accumulation: batch 4 × 4 matches batch 16, also for an epoch's short last group (divided by its own size)", async () => {
  // 60 rows: 15 micro-batches of 4 → groups of 4, 4, 4 and 3; batches of 16 → 16, 16, 16 and 12.
  // The short group's loss is the mean over its 3 micro-batches, as one batch of 12 gives.
  const ds = toyDataset(60, 1);
  const run = async (batch: number, accumulation: number) => {
    const model = tinyModel(0);
    const args = new TrainingArguments({
      outputDir: out(),
      perDeviceTrainBatchSize: batch,
      gradientAccumulationSteps: accumulation,
      numTrainEpochs: 2,
      learningRate: 1e-2,
      saveStrategy: "no",
      loggingSteps: 1,
      ...quiet,
    });
    const t = new Trainer({ model, args, trainDataset: ds, dataCollator: padCollator });
    const r = await silenced(() => t.train());
    return { model, r, logs: t.state.log_history.filter((e) => "loss" in e) };
  };
  const a = await run(4, 4);
  const b = await run(16, 1);
  assert.equal(a.r.globalStep, 8);
  assert.equal(b.r.globalStep, 8);
  a.logs.forEach((e, i) => assert.ok(Math.abs(e.loss - b.logs[i].loss) <= 1e-4, `loss at step ${i + 1}: ${e.loss} vs ${b.logs[i].loss}`));
  assert.ok(Math.abs(a.r.trainingLoss - b.r.trainingLoss) <= 1e-5, "train_loss");
  for (const [[n, p], [, q]] of zip([...a.model.namedParameters()], [...b.model.namedParameters()])) {
    torch.tidy(() => assert.ok(p.allclose(q, 1e-4, 1e-5), `${n} after 8 steps`));
  }
});

test("resume from a checkpoint ends at exactly the weights of an uninterrupted run (dropout on)", async () => {
  const ds = toyDataset(40, 2);
  // Stopped after 14 steps (mid-epoch 2), as a crash would; checkpoints at 7 and 14.
  const { full, dir, argsFor } = await interruptedRun(() => tinyModel(), ds, 3);
  assert.deepEqual(
    readdirSync(dir)
      .filter((d) => d.startsWith("checkpoint-"))
      .sort(),
    ["checkpoint-14", "checkpoint-7"],
  );
  const resumed = tinyModel();
  torch.manualSeed(999); // a different RNG state: resuming must restore it
  const t = new Trainer({ model: resumed, args: argsFor(dir), trainDataset: ds, dataCollator: padCollator });
  const r = await silenced(() => t.train({ resumeFromCheckpoint: join(dir, "checkpoint-7") }));
  assert.equal(r.globalStep, 30);
  for (const [[n, p], [, q]] of zip([...resumed.namedParameters()], [...full.namedParameters()])) {
    assert.ok(p.equal(q), `${n}: resumed run differs from the uninterrupted one`);
  }
  const latest = new Trainer({ model: tinyModel(), args: argsFor(dir), trainDataset: ds, dataCollator: padCollator });
  const r2 = await silenced(() => latest.train({ resumeFromCheckpoint: true }));
  assert.equal(r2.globalStep, 30, "resumeFromCheckpoint: true takes the latest checkpoint");
  await assert.rejects(
    latest.train(),
    /Output directory \(.*\) already holds 5 checkpoints \(checkpoint-14, checkpoint-21, checkpoint-28, …\) of an earlier run/,
  );
  const over = new Trainer({ model: tinyModel(), args: argsFor(dir, { overwriteOutputDir: true }), trainDataset: ds, dataCollator: padCollator });
  const again = await silenced(() => over.train());
  assert.equal(again.globalStep, 30, "with overwriteOutputDir a run from scratch goes through");
  assert.deepEqual(
    readdirSync(dir)
      .filter((d) => d.startsWith("checkpoint-"))
      .sort(),
    ["checkpoint-14", "checkpoint-21", "checkpoint-28", "checkpoint-30", "checkpoint-7"],
    "only the new run's checkpoints",
  );
  const againSame = await silenced(() => over.train());
  assert.equal(againSame.globalStep, 30, "a second train() on the same Trainer runs in full (the first run's stop does not carry over)");
  await assert.rejects(
    new Trainer({ model: tinyModel(), args: argsFor(out()), trainDataset: ds }).train({ resumeFromCheckpoint: true }),
    /No valid checkpoint found in output directory/,
  );
});

test("checkpoint contents, trainer_state.json, rotation keeping the best, load best at end, early stopping", async () => {
  const train = toyDataset(48, 3);
  const val = toyDataset(16, 4);
  const dir = out();
  const metric = await evaluate.load("accuracy");
  const args = new TrainingArguments({
    outputDir: dir,
    perDeviceTrainBatchSize: 8,
    numTrainEpochs: 6,
    learningRate: 1e-2,
    evalStrategy: "epoch",
    saveStrategy: "epoch",
    saveTotalLimit: 2,
    loadBestModelAtEnd: true,
    metricForBestModel: "accuracy",
    reportTo: ["jsonl", "tensorboard"],
    ...quiet,
  });
  assert.equal(args.greaterIsBetter, true);
  const model = tinyModel();
  const stop = new EarlyStoppingCallback({ earlyStoppingPatience: 2 });
  const t = new Trainer({
    model,
    args,
    trainDataset: train,
    evalDataset: val,
    dataCollator: padCollator,
    callbacks: [stop],
    computeMetrics: ({ predictions, labelIds }) => metric.compute({ predictions: predictions.argmax(-1), references: labelIds! }),
  });
  await silenced(() => t.train());
  const ckpts = readdirSync(dir).filter((d) => d.startsWith("checkpoint-"));
  assert.ok(ckpts.length <= 3 && ckpts.length >= 1, `rotation: ${ckpts}`);
  const best = t.state.best_model_checkpoint!;
  assert.ok(existsSync(best), "the best checkpoint is never deleted");
  const files = readdirSync(join(dir, ckpts[0])).sort();
  assert.deepEqual(files, [
    "config.json",
    "model.safetensors",
    "optimizer.safetensors",
    "rng_state.safetensors",
    "scheduler.json",
    "trainer_state.json",
    "training_args.json",
  ]);
  assert.ok(!readdirSync(dir).some((d) => d.startsWith("tmp-")), "no half-written checkpoint");
  const state = JSON.parse(readFileSync(join(best, "trainer_state.json"), "utf8"));
  for (const k of [
    "best_metric",
    "best_model_checkpoint",
    "epoch",
    "global_step",
    "log_history",
    "max_steps",
    "num_train_epochs",
    "total_flos",
    "train_batch_size",
  ])
    assert.ok(k in state, k);
  assert.ok(state.log_history.some((e: Record<string, number>) => "eval_accuracy" in e && "step" in e && "epoch" in e));
  const targs = JSON.parse(readFileSync(join(best, "training_args.json"), "utf8"));
  assert.equal(targs.output_dir, dir);
  assert.equal(targs.metric_for_best_model, "accuracy");
  // Loaded best model: its weights equal the best checkpoint's.
  const bestWeights = torch.loadFile(join(best, "model.safetensors"));
  for (const [n, p] of model.namedParameters()) torch.tidy(() => assert.ok(p.cpu().equal(bestWeights.get(n)!), `best weights for ${n}`));
  torch.dispose(bestWeights);
  // Early stopping: training ends at the evaluation that makes `patience` (2) in a row without a
  // strict improvement, or after the 6 epochs if that never happens.
  const evals = t.state.log_history.filter((e) => "eval_accuracy" in e).map((e) => e.eval_accuracy);
  let top = -Infinity;
  let bad = 0;
  let expected = 6;
  for (let i = 0; i < 6 && i < evals.length; i++) {
    bad = evals[i] > top ? 0 : bad + 1;
    top = Math.max(top, evals[i]);
    if (bad >= 2) {
      expected = i + 1;
      break;
    }
  }
  assert.equal(evals.length, expected, `evaluations ${JSON.stringify(evals)}`);
  // jsonl: one line per log; tensorboard: records with valid CRCs holding train/loss and eval/accuracy.
  const lines = readFileSync(join(dir, "logs.jsonl"), "utf8")
    .trim()
    .split("\n")
    .map((l) => JSON.parse(l));
  assert.equal(lines.length, t.state.log_history.length);
  const runs = join(dir, "runs");
  const event = readFileSync(join(runs, readdirSync(runs)[0]));
  const tags = new Set<string>();
  for (let p = 0; p < event.length;) {
    const len = Number(event.readBigUInt64LE(p));
    const data = event.subarray(p + 12, p + 12 + len);
    const crc = event.readUInt32LE(p + 12 + len);
    const masked = ((((crc32c(data) >>> 15) | (crc32c(data) << 17)) >>> 0) + 0xa282ead8) >>> 0;
    assert.equal(crc, masked, "record CRC");
    for (const m of data.toString("latin1").matchAll(/(train|eval)\/[a-z_]+/g)) tags.add(m[0]);
    p += 16 + len;
  }
  assert.ok(tags.has("eval/accuracy") && tags.has("eval/loss") && tags.has("train/train_loss"), [...tags].join(","));
});

test("evaluate and predict: eval_/test_ metrics, predictions and labels; HF's argument errors", async () => {
  const val = toyDataset(20, 5);
  const t = new Trainer({
    model: tinyModel(),
    args: new TrainingArguments({ outputDir: out(), perDeviceEvalBatchSize: 6, ...quiet }),
    dataCollator: padCollator,
    evalDataset: val,
  });
  const m = await silenced(() => t.evaluate());
  assert.deepEqual(Object.keys(m), ["eval_loss", "eval_runtime", "eval_samples_per_second", "eval_steps_per_second"]);
  const p = await silenced(() => t.predict(val));
  assert.deepEqual([p.predictions.shape, p.labelIds!.shape], [[20, 2], [20]]);
  assert.ok("test_loss" in p.metrics);
  assert.throws(
    () => new TrainingArguments({ outputDir: "x", loadBestModelAtEnd: true, evalStrategy: "epoch", saveStrategy: "steps" }),
    /--load_best_model_at_end requires the save and eval strategy to match, but found\n- Evaluation strategy: epoch\n- Save strategy: steps/,
  );
  assert.throws(
    () => new TrainingArguments({ outputDir: "x", loadBestModelAtEnd: true, evalStrategy: "steps", evalSteps: 30, saveSteps: 50 }),
    /round multiple of the evaluation steps, but found 50, which is not a round multiple of 30/,
  );
  assert.throws(() => new TrainingArguments({ outputDir: "x", fp16: true, bf16: true }), /At most one of fp16 and bf16/);
  assert.throws(() => new TrainingArguments({ outputDir: "x", warmupRatio: 2 }), /warmup_ratio must lie in range \[0,1\]/);
  assert.throws(() => new TrainingArguments({ outputDir: "x", lrSchedulerType: "step" as never }), /'step' is not a valid SchedulerType/);
  assert.throws(() => TrainingArguments.fromDict({ output_dir: "x", learning_rte: 1 }), /unknown field 'learning_rte'/);
  assert.throws(() => TrainingArguments.fromDict({ output_dir: "x", learning_rate: "2e-5" }), /learning_rate must be number, got "2e-5"/);
  assert.throws(() => TrainingArguments.fromDict({ output_dir: "x", eval_steps: "10" }), /eval_steps must be number or null, got "10"/);
  assert.throws(() => TrainingArguments.fromJSON("{output_dir: x}"), /TrainingArguments.fromJSON: not JSON/);
  assert.throws(() => TrainingArguments.fromDict({}), /outputDir \(output_dir\) is required/);
  assert.equal(
    TrainingArguments.fromJSON(JSON.stringify(new TrainingArguments({ outputDir: "j", learningRate: 3e-5 }).toJSON())).learningRate,
    3e-5,
    "training_args.json round trip",
  );
  const snake = TrainingArguments.fromDict({ output_dir: "y", per_device_train_batch_size: 16, eval_strategy: "epoch", evaluation_strategy: "epoch" });
  assert.deepEqual([snake.perDeviceTrainBatchSize, snake.evalStrategy, snake.toJSON().per_device_train_batch_size], [16, "epoch", 16]);
  if (!torch.cuda.isAvailable())
    assert.throws(
      () => new Trainer({ model: tinyModel(), args: new TrainingArguments({ outputDir: "x", fp16: true }) }),
      /fp16 mixed precision requires a GPU/,
    );
  // tf32 (HF's): true needs a GPU; true/false set the process-wide switch; unset leaves it.
  if (!torch.cuda.isAvailable()) assert.throws(() => new TrainingArguments({ outputDir: "x", tf32: true }), /--tf32 requires Ampere or a newer GPU arch/);
  new TrainingArguments({ outputDir: "x", tf32: false });
  assert.equal(torch.backends.cuda.matmul.allowTf32, false);
  if (torch.cuda.isAvailable()) {
    new TrainingArguments({ outputDir: "x", tf32: true });
    assert.equal(torch.backends.cuda.matmul.allowTf32, true);
    new TrainingArguments({ outputDir: "x" });
    assert.equal(torch.backends.cuda.matmul.allowTf32, true, "unset leaves the switch as it was");
    torch.backends.cuda.matmul.allowTf32 = false;
  }
  await assert.rejects(new Trainer({ model: tinyModel(), args: new TrainingArguments({ outputDir: "x" }) }).train(), /training requires a trainDataset/);
  setWarningSink(null);
});

test("strategies: steps-based logging/eval/save counts, 'No log' before the first loss, bf16 autocast, length grouping", async () => {
  const train = toyDataset(48, 6);
  const val = toyDataset(8, 7);
  const dir = out();
  const printed: string[] = [];
  const write = process.stderr.write.bind(process.stderr);
  process.stderr.write = ((s: string) => (printed.push(String(s)), true)) as typeof process.stderr.write;
  let t: Trainer;
  try {
    t = new Trainer({
      model: tinyModel(),
      dataCollator: padCollator,
      trainDataset: train,
      evalDataset: val,
      args: new TrainingArguments({
        outputDir: dir,
        perDeviceTrainBatchSize: 4,
        maxSteps: 12,
        loggingSteps: 5,
        evalStrategy: "steps",
        evalSteps: 3,
        saveSteps: 6,
        bf16: true,
        groupByLength: true,
        logLevel: "info",
        ...quiet,
      }),
    });
    await t.train();
  } finally {
    process.stderr.write = write;
  }
  const h = t!.state.log_history;
  assert.deepEqual(
    h.filter((e) => "loss" in e).map((e) => e.step),
    [5, 10],
  );
  assert.deepEqual(
    h.filter((e) => "eval_loss" in e).map((e) => e.step),
    [3, 6, 9, 12],
  );
  assert.deepEqual(
    readdirSync(dir)
      .filter((d) => d.startsWith("checkpoint-"))
      .sort(),
    ["checkpoint-12", "checkpoint-6"],
  );
  assert.ok(
    h.every((e) => Object.values(e).every(Number.isFinite)),
    "bf16 losses are finite",
  );
  const text = printed.join("");
  assert.match(text, /\| Step \| Training Loss \| Validation Loss \|/);
  // HF's logger.info at the log level "info" (not an environment variable): the dropped column is named.
  assert.match(
    text,
    /The following columns in the dataset don't have a corresponding argument in `BertForSequenceClassification\.forward` and have been ignored: text\./,
  );
  assert.match(text, /\| 3 +\| No log +\|/, "no training loss logged yet at step 3");
  assert.match(text, /\{'loss': '[\d.]+', 'grad_norm': '[\d.e+-]+', 'learning_rate': '[\d.e+-]+', 'epoch': '[\d.]+'\}/);
  assert.match(
    text,
    /\*\*\*\*\* Running training \*\*\*\*\*\n  Num examples = 48\n  Num Epochs = 1\n  Instantaneous batch size per device = 4\n  Total train batch size \(w\. parallel, distributed & accumulation\) = 4\n  Gradient Accumulation steps = 1\n  Total optimization steps = 12\n  Number of trainable parameters = [\d,]+/,
  );
  // HF's log levels: the block is logger.info, so with the default "passive" level it is not printed.
  setVerbosity("warning");
  const quietRun = new Trainer({
    model: tinyModel(),
    dataCollator: padCollator,
    trainDataset: train,
    args: new TrainingArguments({ outputDir: out(), perDeviceTrainBatchSize: 4, maxSteps: 2, saveStrategy: "no", ...quiet }),
  });
  assert.doesNotMatch((await captured(() => quietRun.train())).text, /Running training/);
  assert.throws(
    () => new TrainingArguments({ outputDir: "x", logLevel: "verbose" as never }),
    /log_level must be one of 'passive', 'debug', 'info', 'warning', 'error', 'critical', got 'verbose'/,
  );
});

test("a training run with evaluation leaks no tensors: what stays alive is the optimizer's state", async () => {
  const ds = toyDataset(32, 8);
  for (const steps of [5, 40]) {
    const model = tinyModel();
    const before = torch.liveTensors();
    const t = new Trainer({
      model,
      dataCollator: padCollator,
      trainDataset: ds,
      evalDataset: ds,
      args: new TrainingArguments({
        outputDir: out(),
        maxSteps: steps,
        saveStrategy: "no",
        loggingSteps: 5,
        evalStrategy: "steps",
        evalSteps: 5,
        perDeviceTrainBatchSize: 4,
        ...quiet,
      }),
    });
    await silenced(() => t.train());
    const optimizerState = [...t.optimizer!.state.values()].reduce((n, s) => n + Object.values(s).filter((v) => v instanceof torch.Tensor).length, 0);
    assert.equal(torch.liveTensors() - before, optimizerState, `after ${steps} steps`);
  }
});

test("log lines print floats as transformers 5 does (f'{x:.4g}'), the history keeps full values", () => {
  // Expected strings from Python: [f"{x:.4g}" for x in (...)].
  const cases: [number, string][] = [
    [0.6931471805599453, "0.6931"],
    [1.3859652280807495, "1.386"],
    [5e-5, "5e-05"],
    [0.0001, "0.0001"],
    [0.00012345, "0.0001234"],
    [12345.678, "1.235e+04"],
    [2, "2"],
    [0, "0"],
    [100, "100"],
    [0.04878048780487805, "0.04878"],
    [-3.5e-7, "-3.5e-07"],
    [1e21, "1e+21"],
  ];
  for (const [x, want] of cases) assert.equal(pyG4(x), want, `${x}`);
  assert.equal(pyDict({ loss: 0.6931471805599453, total_flos: 12345, epoch: 1 }), "{'loss': '0.6931', 'epoch': '1'}");
});
