// One configuration of `npm run bench:trainer`, in a process of its own (so that its peak RSS is its
// own): the Trainer on MRPC train, batch 8, timed from the first step. Prints one JSON line.
// Usage: node dist/bench/trainer_run.js SIZE PRECISION STEPS ATEN_THREADS BLAS_THREADS [OPTIM]
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
const [size, precision, stepsArg, aten, blas, optim] = process.argv.slice(2);
const steps = Number(stepsArg);

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
// BENCH_UNPAD=0: the encoder on every position (the "padded" column).
if (process.env.BENCH_UNPAD === "0") for (const [, m] of model.namedModules()) if (m instanceof BertModel) m.unpadTokens = false;
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
  optim: optim === "adamw_torch_fused" ? "adamw_torch_fused" : "adamw_torch",
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
// The padded and the real tokens of the steps' batches: the first epoch's order as the Trainer draws
// it, in batches of 8.
const order = Array.from(epochOrder(train, 0, args));
const lengths = (train.column("input_ids") as number[][]).map((r) => r.length);
let paddedTokens = 0;
let realTokens = 0;
for (let s = 0; s < steps; s++) {
  const rows = order.slice(s * 8, s * 8 + 8).map((r) => lengths[r]);
  paddedTokens += Math.max(...rows) * rows.length;
  realTokens += rows.reduce((a, b) => a + b, 0);
}
await withoutStderr(() => trainer.train());
const elapsed = (stepEnds[steps] - begin) / 1000;
console.log(
  JSON.stringify({
    samples_per_second: (steps * 8) / elapsed,
    first_step_ms: stepEnds[1] - begin,
    peak_rss_mb: process.resourceUsage().maxRSS / 1024,
    native_calls_per_step: torch.nativeCallCount() === null || steps < 3 ? null : calls[steps] - calls[steps - 1],
    malloc_tuned: torch._native.mallocTuned,
    padded_per_real: paddedTokens / realTokens,
  }),
);
