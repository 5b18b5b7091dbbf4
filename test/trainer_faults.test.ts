// The Trainer under faults and misuse: a finished run resumed, two runs in one output dir, a dead
// run's lock, callback subclasses, divergence, damaged checkpoints, and messages that name the thing.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { hostname } from "node:os";
import { join } from "node:path";
import * as torch from "../src/torch/index.js";
import { Dataset } from "../src/datasets/index.js";
import { AutoModelForTokenClassification } from "../src/models/index.js";
import { Trainer, TrainerCallback, TrainerControl, TrainingArguments, type TrainerState } from "../src/trainer/index.js";
import { writeFileAtomic } from "../src/hub/index.js";
import { TINY_BERT, captured, out, padCollator, quiet, tinyModel, toyDataset } from "./trainer_helpers.js";

test("resuming a finished run trains nothing and says so", async () => {
  const ds = toyDataset(24, 1);
  const dir = out();
  const args = new TrainingArguments({ outputDir: dir, perDeviceTrainBatchSize: 4, maxSteps: 6, saveSteps: 3, learningRate: 1e-2, ...quiet });
  await captured(() => new Trainer({ model: tinyModel(), args, trainDataset: ds, dataCollator: padCollator }).train());
  assert.deepEqual(
    readdirSync(dir)
      .filter((d) => d.startsWith("checkpoint-"))
      .sort(),
    ["checkpoint-3", "checkpoint-6"],
  );
  const saved = torch.loadFile(join(dir, "checkpoint-6", "model.safetensors"));
  for (let rerun = 0; rerun < 2; rerun++) {
    const t = new Trainer({ model: tinyModel(), args, trainDataset: ds, dataCollator: padCollator });
    const { text, result } = await captured(() => t.train({ resumeFromCheckpoint: true }));
    assert.equal(result.globalStep, 6, "global_step stays at max_steps");
    assert.match(text, /checkpoint-6 already finished training \(global step 6 of 6\): nothing to train/);
    for (const [n, p] of t.model.namedParameters()) torch.tidy(() => assert.ok(p.cpu().equal(saved.get(n)!), `${n} unchanged`));
  }
  assert.deepEqual(
    readdirSync(dir)
      .filter((d) => d.startsWith("checkpoint-"))
      .sort(),
    ["checkpoint-3", "checkpoint-6"],
    "no new checkpoint",
  );
  torch.dispose(saved);
});

test("two runs in one output dir: the second is refused while the first holds the dir; a dead run's lock is taken over", async () => {
  const ds = toyDataset(64, 2);
  const dir = out();
  const args = new TrainingArguments({ outputDir: dir, perDeviceTrainBatchSize: 4, maxSteps: 40, saveSteps: 5, ...quiet });
  const first = new Trainer({ model: tinyModel(), args, trainDataset: ds, dataCollator: padCollator });
  const second = new Trainer({ model: tinyModel(), args, trainDataset: ds, dataCollator: padCollator });
  const { result } = await captured(async () => {
    const a = first.train();
    // The first run is under way (it yields between steps); the second must not write into its dir.
    await new Promise((r) => setTimeout(r, 30));
    const b = await second.train().then(
      () => null,
      (e: Error) => e,
    );
    return { a: await a, b };
  });
  assert.match(result.b!.message, new RegExp(`Another training run is using the output dir ${dir}: .*\\.finetune-ts\\.lock is already held by this process`));
  assert.equal(result.a.globalStep, 40);
  assert.ok(!existsSync(join(dir, ".finetune-ts.lock")), "released at the end");
  assert.ok(!readdirSync(dir).some((d) => d.startsWith("tmp-")), "no temporary folder left");

  // A lock held by a live process of another program: refused, naming the pid and host.
  const sleeper = spawn(process.execPath, ["-e", "setTimeout(() => {}, 20000)"]);
  const dir2 = out();
  writeFileSync(join(dir2, ".finetune-ts.lock"), JSON.stringify({ pid: sleeper.pid, host: hostname(), since: "2026-01-01T00:00:00Z" }));
  const t2 = new Trainer({ model: tinyModel(), args: args.with({ outputDir: dir2 }), trainDataset: ds, dataCollator: padCollator });
  try {
    await assert.rejects(t2.train(), new RegExp(`held by process ${sleeper.pid} on ${hostname()} \\(since 2026-01-01T00:00:00Z\\)`));
  } finally {
    sleeper.kill();
  }
  await new Promise((r) => sleeper.on("exit", r));
  // Now that process is gone (as after kill -9): its lock is taken over with a warning.
  const { text, result: r2 } = await captured(() =>
    new Trainer({ model: tinyModel(), args: args.with({ outputDir: dir2, maxSteps: 4 }), trainDataset: ds, dataCollator: padCollator }).train(),
  );
  assert.equal(r2.globalStep, 4);
  assert.match(
    text,
    new RegExp(`warning: taking over the lock .*\\.finetune-ts\\.lock left by process ${sleeper.pid} on ${hostname()}, which is no longer running`),
  );
});

test("callback subclasses: methods are called, in order after the flow callback, and a returned control steers", async () => {
  const ds = toyDataset(32, 3);
  const seen: string[] = [];
  class Recorder extends TrainerCallback {
    override onTrainBegin() {
      seen.push("train_begin");
    }
    override onEpochBegin(_a: TrainingArguments, state: TrainerState) {
      seen.push(`epoch_begin:${state.epoch}`);
    }
    override onStepEnd(_a: TrainingArguments, state: TrainerState, control: TrainerControl) {
      // DefaultFlowCallback ran first: at the logging step it has already asked for a log.
      seen.push(`step:${state.global_step}:${control.shouldLog}`);
    }
    override onLog(_a: TrainingArguments, _s: TrainerState, _c: TrainerControl, extra: { logs?: Record<string, number> }) {
      if (extra.logs && "loss" in extra.logs) seen.push(`log:${extra.logs.step}`);
    }
    override onSave(_a: TrainingArguments, state: TrainerState) {
      seen.push(`save:${state.global_step}`);
    }
  }
  class Stopper extends TrainerCallback {
    override onStepEnd(_a: TrainingArguments, state: TrainerState, control: TrainerControl): TrainerControl {
      const c = new TrainerControl();
      Object.assign(c, control);
      if (state.global_step === 3) c.shouldTrainingStop = true;
      return c;
    }
  }
  const args = new TrainingArguments({ outputDir: out(), perDeviceTrainBatchSize: 4, numTrainEpochs: 2, loggingSteps: 2, saveSteps: 3, ...quiet });
  const t = new Trainer({ model: tinyModel(), args, trainDataset: ds, dataCollator: padCollator, callbacks: [new Recorder(), Stopper] });
  assert.deepEqual(
    t.callbacks.map((c) => c.constructor.name),
    ["DefaultFlowCallback", "Recorder", "Stopper"],
  );
  const { result } = await captured(() => t.train());
  assert.equal(result.globalStep, 3, "the returned control stopped training");
  assert.deepEqual(seen, ["train_begin", "epoch_begin:0", "step:1:false", "step:2:true", "log:2", "step:3:false", "save:3"]);
  // addCallback / popCallback / removeCallback, by instance or class.
  const popped = t.popCallback(Stopper);
  assert.ok(popped instanceof Stopper);
  t.removeCallback(t.callbacks[1]);
  t.addCallback(Stopper);
  assert.deepEqual(
    t.callbacks.map((c) => c.constructor.name),
    ["DefaultFlowCallback", "Stopper"],
  );
});

test("divergence: a warning at the first nan loss, and no model with nan weights saved without saying so", async () => {
  const ds = toyDataset(32, 4);
  const dir = out();
  const args = new TrainingArguments({
    outputDir: dir,
    perDeviceTrainBatchSize: 4,
    maxSteps: 8,
    saveSteps: 8,
    learningRate: 1e30,
    maxGradNorm: 0,
    loggingSteps: 1,
    ...quiet,
  });
  const t = new Trainer({ model: tinyModel(0), args, trainDataset: ds, dataCollator: padCollator });
  const { text } = await captured(() => t.train());
  const warnings = text.match(/warning: the training loss is not finite \(nan or inf\) at step \d+: training is diverging/g) ?? [];
  assert.equal(warnings.length, 1, text);
  assert.match(text, /warning: saving checkpoint-8 with non-finite weights \([\w.]+ holds nan\/inf\)/);
  assert.equal(t.weightsAreFinite(), false);
  const saving = await captured(async () => t.saveModel(join(dir, "final")));
  assert.match(saving.text, /warning: saving a model with non-finite weights to .*final/);
});

test("damaged checkpoints and bad inputs fail with messages that name the thing", async () => {
  const ds = toyDataset(24, 5);
  const dir = out();
  const args = new TrainingArguments({ outputDir: dir, perDeviceTrainBatchSize: 4, maxSteps: 4, saveSteps: 2, ...quiet });
  await captured(() => new Trainer({ model: tinyModel(), args, trainDataset: ds, dataCollator: padCollator }).train());
  const ckpt = join(dir, "checkpoint-2");
  const resume = () => new Trainer({ model: tinyModel(), args, trainDataset: ds, dataCollator: padCollator }).train({ resumeFromCheckpoint: ckpt });

  const state = readFileSync(join(ckpt, "trainer_state.json"), "utf8");
  writeFileSync(join(ckpt, "trainer_state.json"), state.slice(0, 40));
  await assert.rejects(resume(), new RegExp(`trainer_state.json: ${ckpt.replace(/[/.]/g, "\\$&")}/trainer_state.json is not valid JSON`));
  writeFileSync(join(ckpt, "trainer_state.json"), state);

  const scheduler = readFileSync(join(ckpt, "scheduler.json"));
  rmSync(join(ckpt, "scheduler.json"));
  await assert.rejects(resume(), /checkpoint-2 is missing scheduler.json: cannot resume the learning-rate schedule/);
  rmSync(join(ckpt, "optimizer.safetensors"));
  const { text, result } = await captured(() => resume());
  assert.equal(result.globalStep, 4);
  assert.match(text, /warning: .*checkpoint-2 holds no optimizer or scheduler state \(saved with saveOnlyModel\?\): AdamW's moments restart from zero/);
  writeFileSync(join(ckpt, "scheduler.json"), scheduler);

  // An output dir that is a file fails before any step.
  const file = join(out(), "a-file");
  writeFileSync(file, "x");
  let steps = 0;
  const counter = new (class extends TrainerCallback {
    override onStepEnd() {
      steps++;
    }
  })();
  await assert.rejects(
    new Trainer({ model: tinyModel(), args: args.with({ outputDir: file }), trainDataset: ds, dataCollator: padCollator, callbacks: [counter] }).train(),
    new RegExp(`output_dir ${file} exists and is not a directory`),
  );
  assert.equal(steps, 0);

  // A write that fails names the file it was writing.
  assert.throws(() => writeFileAtomic(join(file, "x.json"), "{}"), new RegExp(`cannot write ${file}/x.json: ENOTDIR`));

  // evalStrategy without an eval dataset: HF's error, at construction.
  assert.throws(
    () => new Trainer({ model: tinyModel(), args: args.with({ evalStrategy: "epoch" }), trainDataset: ds }),
    /You have set `args.eval_strategy` to epoch but you didn't pass an `eval_dataset` to `Trainer`/,
  );

  // Labels the head cannot take: the column, the value and num_labels.
  const withLabels = (labels: unknown[]) =>
    Dataset.fromDict({ input_ids: labels.map(() => [1, 5, 2]), attention_mask: labels.map(() => [1, 1, 1]), label: labels });
  const trainOn = (d: Dataset) =>
    new Trainer({ model: tinyModel(), args: args.with({ outputDir: out() }), trainDataset: d, dataCollator: padCollator }).train();
  await assert.rejects(
    trainOn(withLabels([0, 1, 2, 1])),
    /train dataset: column 'label' holds 2 at row 2, but the model has num_labels=2, so labels must be integers 0\.\.1/,
  );
  await assert.rejects(trainOn(withLabels([0, 1, NaN, 1])), /column 'label' holds nan at row 2/);
  await assert.rejects(trainOn(withLabels([0, 1, 0.5, 1])), /column 'label' holds 0\.5 at row 2/);
  // Token labels with a hole: the course's alignment over a label list shorter than the words gives
  // undefined, which a dataset stores as null.
  const tokens = Dataset.fromDict({
    input_ids: [
      [1, 5, 2],
      [1, 6, 2],
    ],
    attention_mask: [
      [1, 1, 1],
      [1, 1, 1],
    ],
    labels: [
      [-100, 1, -100],
      [-100, null, -100],
    ],
  });
  const tokenModel = AutoModelForTokenClassification.fromConfig(TINY_BERT);
  await assert.rejects(
    new Trainer({ model: tokenModel, args: args.with({ outputDir: out() }), trainDataset: tokens, dataCollator: padCollator }).train(),
    /column 'labels' holds a missing value \(null\) at row 1: every label must be set \(-100 to ignore a token\)/,
  );
});

test("a full disk: the error names the file, and no half-written checkpoint or file is left", async (t) => {
  const mount = join(out(), "tiny-disk");
  mkdirSync(mount);
  const mounted = spawnSync("mount", ["-t", "tmpfs", "-o", "size=64k", "tmpfs", mount]);
  if (mounted.status !== 0) {
    t.skip("cannot mount a small tmpfs here (needs root)");
    return;
  }
  try {
    assert.throws(() => writeFileAtomic(join(mount, "big.json"), "x".repeat(400_000)), new RegExp(`cannot write ${mount}/big\\.json: no space left on device`));
    assert.deepEqual(readdirSync(mount), [], "the temporary file is removed");
    const ds = toyDataset(16, 9);
    const args = new TrainingArguments({ outputDir: join(mount, "run"), perDeviceTrainBatchSize: 4, maxSteps: 2, saveSteps: 2, ...quiet });
    const run = new Trainer({ model: tinyModel(), args, trainDataset: ds, dataCollator: padCollator });
    const { result } = await captured(() =>
      run.train().then(
        () => null,
        (e: Error) => e,
      ),
    );
    assert.match(result!.message, new RegExp(`saving checkpoint ${mount}/run/checkpoint-2 failed: .*(no space left on device|ENOSPC)`, "i"));
    assert.deepEqual(
      readdirSync(join(mount, "run")).filter((d) => d !== ".finetune-ts.lock"),
      [],
      "no checkpoint and no temporary folder left",
    );
    // The final save on a full disk names the file and what it was doing.
    writeFileSync(join(mount, "filler"), Buffer.alloc(0));
    for (let k = 0; ; k++) {
      try {
        writeFileSync(join(mount, `filler-${k}`), Buffer.alloc(4096));
      } catch {
        break;
      }
    }
    assert.throws(
      () => run.saveModel(join(mount, "run")),
      new RegExp(`cannot write ${mount}/run/(model\\.safetensors|config\\.json|tokenizer\\.json)[^:]*: no space left on device`),
    );
  } finally {
    spawnSync("umount", [mount]);
  }
});

test("resume and loadBestModelAtEnd name the keys a checkpoint lacks or has extra (HF's warnings), never load a partial state silently", async () => {
  const ds = toyDataset(24, 1);
  // A checkpoint without the classifier's bias and with a weight no model has.
  const tamper = (ckpt: string) => {
    const file = join(ckpt, "model.safetensors");
    const sd = torch.loadFile(file);
    sd.get("classifier.bias")!.dispose();
    sd.delete("classifier.bias");
    sd.set("extra.weight", torch.zeros([2]));
    torch.saveFile(sd, file);
    torch.dispose([...sd.values()]);
  };
  const dir = out();
  const args = new TrainingArguments({ outputDir: dir, perDeviceTrainBatchSize: 4, maxSteps: 3, saveSteps: 3, ...quiet });
  await captured(() => new Trainer({ model: tinyModel(), args, trainDataset: ds, dataCollator: padCollator }).train());
  tamper(join(dir, "checkpoint-3"));
  const more = new TrainingArguments({ outputDir: dir, perDeviceTrainBatchSize: 4, maxSteps: 4, saveStrategy: "no", ...quiet });
  const { text } = await captured(() =>
    new Trainer({ model: tinyModel(), args: more, trainDataset: ds, dataCollator: padCollator }).train({ resumeFromCheckpoint: true }),
  );
  assert.match(text, /There were missing keys in the checkpoint model loaded: \['classifier\.bias'\]\./);
  assert.match(text, /There were unexpected keys in the checkpoint model loaded: \['extra\.weight'\]\./);

  class TamperFirst extends TrainerCallback {
    override onSave(a: TrainingArguments, state: TrainerState): void {
      if (state.global_step === 2) tamper(join(a.outputDir, "checkpoint-2"));
    }
  }
  const best = out();
  const bestArgs = new TrainingArguments({
    outputDir: best,
    perDeviceTrainBatchSize: 4,
    maxSteps: 4,
    evalStrategy: "steps",
    evalSteps: 2,
    saveSteps: 2,
    loadBestModelAtEnd: true,
    metricForBestModel: "eval_loss",
    learningRate: 1e-5,
    ...quiet,
  });
  // The first evaluation is made the best (its checkpoint is the tampered one) whatever the losses are.
  const t = new Trainer({ model: tinyModel(), args: bestArgs, trainDataset: ds, evalDataset: ds, dataCollator: padCollator, callbacks: [new TamperFirst()] });
  t.addCallback(
    new (class extends TrainerCallback {
      override onEvaluate(_a: TrainingArguments, state: TrainerState): void {
        if (state.global_step === 2) state.best_metric = null;
        if (state.global_step === 4) state.best_metric = -Infinity; // nothing beats the first
      }
    })(),
  );
  const r = await captured(() => t.train());
  assert.equal(t.state.best_model_checkpoint, join(best, "checkpoint-2"));
  assert.match(r.text, /Loading best model from .*checkpoint-2/);
  assert.match(r.text, /There were missing keys in the checkpoint model loaded: \['classifier\.bias'\]\./);
});

test("a token id at or past vocab_size names the id, the row, the column and vocab_size (in the Trainer and in a bare forward)", async () => {
  const ds = toyDataset(12, 3);
  const ids = ds.column("input_ids") as number[][];
  ids[7] = [...ids[7].slice(0, 3), 40, ...ids[7].slice(4)];
  const bad = Dataset.fromDict({ input_ids: ids, attention_mask: ds.column("attention_mask") as number[][], label: ds.column("label") as number[] });
  const args = new TrainingArguments({ outputDir: out(), perDeviceTrainBatchSize: 4, maxSteps: 2, saveStrategy: "no", ...quiet });
  await assert.rejects(
    captured(() => new Trainer({ model: tinyModel(), args, trainDataset: bad, dataCollator: padCollator }).train()),
    /train dataset: column 'input_ids' holds token id 40 at row 7 \(position 3\), but the model \(BertForSequenceClassification\) has vocab_size=40: ids must be 0\.\.39/,
  );
  const model = tinyModel();
  assert.throws(
    () =>
      torch.tidy(() =>
        model.forward({
          input_ids: torch.tensor([
            [1, 2, 3],
            [4, 41, 5],
          ]),
        }),
      ),
    /Embedding: id 41 \(row 1, position 1\) is out of range for a table of 40 rows/,
  );
});

test("a checkpoint's optimizer param_groups and scheduler.json are checked as a user's options are: wrong types, unknown keys and __proto__ fail naming the file", async () => {
  const ds = toyDataset(24, 5);
  const dir = out();
  const args = new TrainingArguments({ outputDir: dir, perDeviceTrainBatchSize: 4, maxSteps: 4, saveSteps: 2, ...quiet });
  await captured(() => new Trainer({ model: tinyModel(), args, trainDataset: ds, dataCollator: padCollator }).train());
  const ckpt = join(dir, "checkpoint-2");
  const resume = () =>
    captured(() => new Trainer({ model: tinyModel(), args, trainDataset: ds, dataCollator: padCollator }).train({ resumeFromCheckpoint: ckpt }));
  const optFile = join(ckpt, "optimizer.safetensors");
  const original = readFileSync(optFile);
  const meta = JSON.parse(torch.loadMetadata(optFile)["finetune_ts.optimizer"]) as { param_groups: Record<string, unknown>[]; scalars: unknown };
  const withGroups = (edit: (g: Record<string, unknown>) => string) => {
    const tensors = torch.loadFile(optFile);
    const groups = JSON.stringify(meta.param_groups.map((g) => ({ ...g })));
    const g0 = JSON.parse(groups) as Record<string, unknown>[];
    const text = edit(g0[0]);
    torch.saveFile(tensors, optFile, {
      format: "pt",
      "finetune_ts.optimizer": `{"param_groups": [${text}${g0.length > 1 ? "," + JSON.stringify(g0.slice(1)).slice(1, -1) : ""}], "scalars": ${JSON.stringify(meta.scalars)}}`,
    });
    torch.dispose([...tensors.values()]);
  };
  const file = optFile.replace(/[/.]/g, "\\$&");
  withGroups((g) => JSON.stringify({ ...g, lr: "1e-3" }));
  await assert.rejects(resume(), new RegExp(`${file}: loadStateDict\\(\\): parameter group 0: option 'lr' is "1e-3", expected a finite number`));
  withGroups((g) => JSON.stringify(g).replace(/^\{/, '{"__proto__": {"polluted": true},'));
  await assert.rejects(resume(), new RegExp(`${file}: loadStateDict\\(\\): parameter group 0 has an option '__proto__' this optimizer does not have`));
  assert.equal(({} as Record<string, unknown>).polluted, undefined, "no prototype was touched");
  withGroups((g) => JSON.stringify({ ...g, momentum: 0.9 }));
  await assert.rejects(resume(), /parameter group 0 has an option 'momentum' this optimizer does not have \(it has lr, betas, eps, weight_decay/);
  withGroups((g) => JSON.stringify({ ...g, betas: [0.9] }));
  await assert.rejects(resume(), /option 'betas' is \[0\.9\], expected a list of 2 numbers/);
  withGroups((g) => JSON.stringify({ ...g, lr: -1 }));
  await assert.rejects(resume(), new RegExp(`${file}: AdamW: invalid learning rate -1`));
  writeFileSync(optFile, original);

  const schedFile = join(ckpt, "scheduler.json");
  const sched = JSON.parse(readFileSync(schedFile, "utf8")) as Record<string, unknown>;
  writeFileSync(schedFile, JSON.stringify({ ...sched, last_epoch: "2" }));
  await assert.rejects(
    resume(),
    new RegExp(`${schedFile.replace(/[/.]/g, "\\$&")}: LambdaLR\\.loadStateDict\\(\\): last_epoch must be an integer ≥ -1, got "2"`),
  );
  writeFileSync(schedFile, JSON.stringify({ ...sched, base_lrs: [1, 2, 3] }));
  await assert.rejects(
    resume(),
    /scheduler\.json: LambdaLR\.loadStateDict\(\): base_lrs must be 2 non-negative numbers \(one per parameter group\), got \[1,2,3\]/,
  );
  writeFileSync(schedFile, JSON.stringify(sched));
  const r = await resume();
  assert.equal(r.result.globalStep, 4, "the restored files resume");
});

test("what a killed run staged and never renamed (tmp-checkpoint-N-<pid>/, *.tmp-<pid>-*) is removed when a later run takes the output dir; a live writer's is kept", async () => {
  const ds = toyDataset(24, 5);
  const dir = out();
  const args = new TrainingArguments({ outputDir: dir, perDeviceTrainBatchSize: 4, maxSteps: 2, saveSteps: 2, ...quiet });
  await captured(() => new Trainer({ model: tinyModel(), args, trainDataset: ds, dataCollator: padCollator }).train());
  const dead = 2 ** 22 + 12345; // above Linux's default pid_max: no such process
  mkdirSync(join(dir, `tmp-checkpoint-4-${dead}`));
  writeFileSync(join(dir, `tmp-checkpoint-4-${dead}`, "model.safetensors"), Buffer.alloc(3 << 20));
  mkdirSync(join(dir, "tmp-checkpoint-6-ddp"));
  writeFileSync(join(dir, "checkpoint-2", `optimizer.safetensors.tmp-${dead}-1700000000000-0`), "half");
  writeFileSync(join(dir, `all_results.json.tmp-${dead}-1700000000000-3`), "half");
  const live = join(dir, `trainer_state.json.tmp-${process.ppid}-1700000000000-1`);
  writeFileSync(live, "another process is writing this");
  const more = new TrainingArguments({ outputDir: dir, perDeviceTrainBatchSize: 4, maxSteps: 3, saveStrategy: "no", ...quiet });
  const { text } = await captured(() =>
    new Trainer({ model: tinyModel(), args: more, trainDataset: ds, dataCollator: padCollator }).train({ resumeFromCheckpoint: true }),
  );
  assert.match(text, new RegExp(`Removed what an interrupted run left in .* \\(3\\.0 MiB\\): .*tmp-checkpoint-4-${dead}`));
  assert.deepEqual(
    readdirSync(dir)
      .filter((f) => f.includes("tmp"))
      .sort(),
    [`trainer_state.json.tmp-${process.ppid}-1700000000000-1`],
  );
  assert.deepEqual(
    readdirSync(join(dir, "checkpoint-2")).filter((f) => f.includes(".tmp-")),
    [],
  );
});

test("an I/O error names the path and what was being done: a folder where a weights file should be, one where it is read", () => {
  const dir = out();
  const target = join(dir, "model.safetensors");
  mkdirSync(target);
  writeFileSync(join(target, "inside"), "a folder in the way");
  assert.throws(
    () => torch.saveFile({ w: torch.zeros([2]) }, target),
    new RegExp(`cannot write ${target.replace(/[/.]/g, "\\$&")} \\(renaming it into place\\): a directory is in the way`),
  );
  assert.deepEqual(readdirSync(dir), ["model.safetensors"], "no temporary file left");
  assert.throws(() => torch.loadFile(target), new RegExp(`cannot read ${target.replace(/[/.]/g, "\\$&")} \\(.*directory`));
  assert.throws(() => torch.loadFile(join(dir, "absent.safetensors")), /cannot read .*absent\.safetensors \(ENOENT/);
});
