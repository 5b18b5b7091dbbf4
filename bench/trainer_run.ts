// One configuration of `npm run bench:trainer`, in a process of its own (so that its peak RSS is its
// own): the Trainer on MRPC train, timed from the first step, with TrainingArguments' default
// optimizer (HF's: fused AdamW from torch 2.8 on). Prints one JSON line, with the time spent in the
// collator (the Arrow padding collator the Trainer uses for DataCollatorWithPadding) per step.
// Usage: node dist/bench/trainer_run.js SIZE PRECISION STEPS ATEN_THREADS BLAS_THREADS BATCH
import { existsSync, mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import * as torch from "../src/torch/index.js";
import { loadDataset } from "../src/datasets/index.js";
import { AutoTokenizer } from "../src/tokenizers/index.js";
import { AutoModelForSequenceClassification, BertModel } from "../src/models/index.js";
import { Trainer, TrainerCallback, TrainingArguments, type TrainerState } from "../src/trainer/index.js";
import { epochOrder } from "../src/trainer/batching.js";
import { ArrowPaddingCollator } from "../src/trainer/arrow_collate.js";
import { SIZES, type Size } from "./trainer_sizes.js";
import { withoutStderr } from "./quiet.js";

const root = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
const shared = join(root, "..", "shared", "data");
if (!existsSync(join(shared, "hf-home"))) throw new Error(`needs ${shared}`);
Object.assign(process.env, {
  HF_HOME: join(shared, "hf-home"),
  HF_HUB_OFFLINE: "1",
  HF_DATASETS_DISABLE_PROGRESS_BARS: "1",
  HF_DATASETS_CACHE: mkdtempSync(join(tmpdir(), "bench-tr-")),
});
const [size, precision, stepsArg, aten, blas, batchArg] = process.argv.slice(2);
const steps = Number(stepsArg);
const batch = Number(batchArg);

// The collator's share of a step: its calls timed in place (the bench's own wrapper, not the Trainer's path).
let collateMs = 0;
const collate = ArrowPaddingCollator.prototype.collate;
ArrowPaddingCollator.prototype.collate = function (this: ArrowPaddingCollator, rows: Int32Array) {
  const t = performance.now();
  try {
    return collate.call(this, rows);
  } finally {
    collateMs += performance.now() - t;
  }
};

const raw = await loadDataset("glue", "mrpc", { split: "train" });
const tokenizer = await AutoTokenizer.fromPretrained("bert-base-cased");
const train = await raw.map((ex) => tokenizer(ex.sentence1, ex.sentence2, { truncation: true }), { batched: true });
torch.manualSeed(42);
const model = AutoModelForSequenceClassification.fromConfig({
  model_type: "bert",
  vocab_size: 28996,
  num_labels: 2,
  _attn_implementation: "eager",
  ...SIZES[size as Size],
});
// BENCH_DROPOUT_ONE_PASS=0: libtorch's own at::dropout (what drawing the noise in one pass gains).
if (process.env.BENCH_DROPOUT_ONE_PASS === "0") torch.backends.cpu.dropoutInOnePass = false;
// BENCH_UNPAD=0: the encoder on every position (the "padded" column).
if (process.env.BENCH_UNPAD === "0") for (const [, m] of model.namedModules()) if (m instanceof BertModel) m.unpadTokens = false;
// BENCH_FIRST_TOKEN=0: the last layer on every position, not only the first tokens the classifier reads.
if (process.env.BENCH_FIRST_TOKEN === "0") for (const [, m] of model.namedModules()) if (m instanceof BertModel) m.firstTokenOnly = false;
const args = new TrainingArguments({
  outputDir: mkdtempSync(join(tmpdir(), "bench-tr-out-")),
  maxSteps: steps,
  saveStrategy: "no",
  loggingStrategy: "no",
  disableTqdm: true,
  bf16: precision === "bf16",
  torchThreads: Number(aten),
  blasThreads: Number(blas),
  learningRate: 5e-5,
  perDeviceTrainBatchSize: batch,
});
const stepEnds: number[] = [];
const calls: number[] = [];
let begin = 0;
class Timer extends TrainerCallback {
  override onTrainBegin() {
    begin = performance.now();
  }
  override onStepEnd(_a: TrainingArguments, s: TrainerState) {
    stepEnds[s.global_step] = performance.now();
    calls[s.global_step] = torch.nativeCallCount() ?? 0;
  }
}
const trainer = new Trainer({ model, args, trainDataset: train, processingClass: tokenizer, callbacks: [new Timer()] });
// The samples, padded and real tokens of the steps' batches: each epoch's order as the Trainer draws
// it, in batches of the bench's size (an epoch's last batch the remainder).
const lengths = (train.column("input_ids") as number[][]).map((r) => r.length);
const perEpoch = Math.ceil(train.numRows / batch);
let samples = 0;
let paddedTokens = 0;
let realTokens = 0;
let order: number[] = [];
for (let s = 0; s < steps; s++) {
  if (s % perEpoch === 0) order = Array.from(epochOrder(train, s / perEpoch, args));
  const at = (s % perEpoch) * batch;
  const rows = order.slice(at, at + batch).map((r) => lengths[r]);
  samples += rows.length;
  paddedTokens += Math.max(...rows) * rows.length;
  realTokens += rows.reduce((a, b) => a + b, 0);
}
await withoutStderr(() => trainer.train());
const elapsed = (stepEnds[steps] - begin) / 1000;
console.log(
  JSON.stringify({
    samples_per_second: samples / elapsed,
    first_step_ms: stepEnds[1] - begin,
    peak_rss_mb: process.resourceUsage().maxRSS / 1024,
    native_calls_per_step: torch.nativeCallCount() === null || steps < 3 ? null : calls[steps] - calls[steps - 1],
    malloc_tuned: torch._native.mallocTuned,
    padded_per_real: paddedTokens / realTokens,
    collate_ms_per_step: collateMs / steps,
    step_ms: (elapsed * 1000) / steps,
    optim: args.optim,
    torch_version: torch.torchVersion,
  }),
);
