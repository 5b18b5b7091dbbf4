// The course's whole run for the GPU speed bench (scripts/gpu-check.sh, step "speed"): bert-base
// (bert-base-cased's config, seeded random weights: the speed is the same as pretrained ones') on
// MRPC, batch 32, dynamic padding, evaluation each epoch, fp16 or bf16 autocast. Writes what
// scripts/gpu/hf_speed.py writes for transformers' Trainer and a plain PyTorch loop, so
// scripts/gpu/speed_table.py can compare them: samples/s after warm-up (steps 11 on, steps that
// follow an evaluation left out), total_flos, the train runtime, and the wall time from process start.
// Usage: node dist/bench/gpu_speed.js fp16|bf16 EPOCHS OUT.json
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import * as torch from "../src/torch/index.js";
import { loadDataset } from "../src/datasets/index.js";
import { AutoTokenizer } from "../src/tokenizers/index.js";
import { AutoModelForSequenceClassification } from "../src/models/index.js";
import { DataCollatorWithPadding, Trainer, TrainerCallback, TrainingArguments } from "../src/trainer/index.js";

const [precision, epochsArg, outPath] = process.argv.slice(2);
if ((precision !== "fp16" && precision !== "bf16") || !outPath) throw new Error("usage: node dist/bench/gpu_speed.js fp16|bf16 EPOCHS OUT.json");
const BATCH = 32;
const WARMUP_STEPS = 10;
const shared = join(dirname(fileURLToPath(import.meta.url)), "..", "..", "..", "shared", "data");
Object.assign(process.env, {
  HF_HOME: join(shared, "hf-home"),
  HF_HUB_OFFLINE: "1",
  HF_DATASETS_DISABLE_PROGRESS_BARS: "1",
  HF_DATASETS_CACHE: mkdtempSync(join(tmpdir(), "speed-")),
});

const raw = await loadDataset("glue", "mrpc");
const tokenizer = await AutoTokenizer.fromPretrained(join(shared, "models", "bert-base-cased"));
const tokenized = await raw.map((ex) => tokenizer(ex.sentence1 as string[], ex.sentence2 as string[], { truncation: true }), { batched: true });
const config = JSON.parse(readFileSync(join(shared, "models", "bert-base-cased", "config.json"), "utf8"));
torch.manualSeed(42);
const model = AutoModelForSequenceClassification.fromConfig({ ...config, architectures: ["BertForSequenceClassification"], num_labels: 2 });

const stepEnds: number[] = [];
const afterEval = new Set<number>();
class Timer extends TrainerCallback {
  override onStepEnd(_a: TrainingArguments, s: { global_step: number }) {
    if (torch.cuda.isAvailable()) torch.cuda.synchronize();
    stepEnds[s.global_step] = performance.now();
  }
  override onEvaluate(_a: TrainingArguments, s: { global_step: number }) {
    afterEval.add(s.global_step + 1);
  }
}
const args = new TrainingArguments({
  outputDir: mkdtempSync(join(tmpdir(), "speed-out-")),
  numTrainEpochs: Number(epochsArg),
  perDeviceTrainBatchSize: BATCH,
  perDeviceEvalBatchSize: BATCH,
  learningRate: 2e-5,
  evalStrategy: "epoch",
  saveStrategy: "no",
  loggingStrategy: "epoch",
  fp16: precision === "fp16",
  bf16: precision === "bf16",
  disableTqdm: true,
  seed: 42,
});
const trainer = new Trainer({
  model,
  args,
  processingClass: tokenizer,
  dataCollator: new DataCollatorWithPadding({ tokenizer }),
  trainDataset: tokenized.train,
  evalDataset: tokenized.validation,
  callbacks: [new Timer()],
});
const result = await trainer.train();
// From the launch (gpu-check.sh passes its time), else from Node's start: the addon's load included.
const wall = process.env.FT_PROCESS_START ? Date.now() / 1000 - Number(process.env.FT_PROCESS_START) : performance.now() / 1000;

// Steady-state training speed: per-step intervals after the warm-up, leaving out the steps whose
// interval holds an evaluation.
let seconds = 0;
let steps = 0;
for (let s = WARMUP_STEPS + 1; s < stepEnds.length; s++) {
  if (stepEnds[s] === undefined || stepEnds[s - 1] === undefined || afterEval.has(s)) continue;
  seconds += (stepEnds[s] - stepEnds[s - 1]) / 1000;
  steps++;
}
const evals = trainer.state.log_history.filter((e) => "eval_loss" in e).map((e) => e.eval_loss);
writeFileSync(
  outPath,
  JSON.stringify(
    {
      impl: "finetune-ts",
      precision,
      epochs: Number(epochsArg),
      batch: BATCH,
      device: torch.cuda.isAvailable() ? "cuda" : "cpu",
      samples_per_second: steps ? (steps * BATCH) / seconds : null,
      timed_steps: steps,
      global_step: result.globalStep,
      total_flos: result.metrics.total_flos,
      train_runtime: result.metrics.train_runtime,
      wall_seconds: wall,
      train_loss: result.trainingLoss,
      eval_losses: evals,
      libtorch: torch.torchVersion,
    },
    null,
    1,
  ),
);
console.log(`${outPath}: finetune-ts ${precision}, ${result.globalStep} steps, ${wall.toFixed(1)} s from process start`);
