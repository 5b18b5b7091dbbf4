// One configuration of `npm run bench:ddp`, run alone or on each rank of `finetune launch`: the Trainer
// on MRPC train (dynamic padding) for STEPS optimizer steps of BATCH rows per rank, timed from the
// first step; then, under DDP, the time of one all-reduce of a gradient-sized buffer over the group.
// Prints one JSON line (rank 0). Usage: node dist/bench/ddp_run.js SIZE PRECISION STEPS BATCH
import { existsSync, mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import * as torch from "../src/torch/index.js";
import { loadDataset } from "../src/datasets/index.js";
import { AutoTokenizer } from "../src/tokenizers/index.js";
import { AutoModelForSequenceClassification } from "../src/models/index.js";
import { Trainer, TrainerCallback, TrainingArguments } from "../src/trainer/index.js";
import { allReduce, barrier, isInitialized } from "../src/distributed/index.js";
import { SIZES, type Size } from "./trainer_sizes.js";
import { withoutStderr } from "./quiet.js";

const root = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
const shared = join(root, "..", "shared", "data");
if (!existsSync(join(shared, "hf-home"))) throw new Error(`needs ${shared}`);
Object.assign(process.env, {
  HF_HOME: join(shared, "hf-home"),
  HF_HUB_OFFLINE: "1",
  HF_DATASETS_DISABLE_PROGRESS_BARS: "1",
  HF_DATASETS_CACHE: mkdtempSync(join(tmpdir(), "bench-ddp-")),
});
const [size, precision, stepsArg, batchArg] = process.argv.slice(2);
const steps = Number(stepsArg);
const batch = Number(batchArg);

const raw = await loadDataset("glue", "mrpc", { split: "train" });
const tokenizer = await AutoTokenizer.fromPretrained("bert-base-cased");
const train = await raw.map((ex) => tokenizer(ex.sentence1, ex.sentence2, { truncation: true }), { batched: true });
torch.manualSeed(42);
const model = AutoModelForSequenceClassification.fromConfig({ model_type: "bert", vocab_size: 28996, num_labels: 2, ...SIZES[size as Size] });
const args = new TrainingArguments({
  outputDir: mkdtempSync(join(tmpdir(), "bench-ddp-out-")),
  maxSteps: steps,
  perDeviceTrainBatchSize: batch,
  saveStrategy: "no",
  loggingStrategy: "no",
  disableTqdm: true,
  bf16: precision === "bf16",
  learningRate: 5e-5,
  optim: "adamw_torch",
});
let begin = 0;
let end = 0;
class Timer extends TrainerCallback {
  override onTrainBegin() {
    begin = performance.now();
  }
  override onTrainEnd() {
    end = performance.now();
  }
}
const trainer = new Trainer({ model, args, trainDataset: train, processingClass: tokenizer, callbacks: [new Timer()] });
await withoutStderr(() => trainer.train());
let allReduceMs: number | null = null;
if (isInitialized()) {
  // A buffer the size of every gradient (fp32), all-reduced as DDP's buckets are, ten times.
  const flat = torch.keep(torch.zeros([model.numParameters()]));
  barrier();
  const t = performance.now();
  for (let i = 0; i < 10; i++) allReduce(flat);
  allReduceMs = (performance.now() - t) / 10;
  flat.dispose();
}
if (trainer.processIndex === 0) {
  console.log(
    JSON.stringify({
      world: trainer.worldSize,
      threads: torch.getNumThreads(),
      blas_threads: torch.getBlasThreads(),
      parameters: model.numParameters(),
      samples_per_second: (steps * batch * trainer.worldSize) / ((end - begin) / 1000),
      all_reduce_ms: allReduceMs,
    }),
  );
}
