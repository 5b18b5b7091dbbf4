// Hugging Face's own Trainer as the judge, our side: scripts/gpu/hf_judge.py ran transformers' Trainer
// and wrote its arguments and log history; this runs finetune-ts's Trainer with the same checkpoint,
// rows, seed and arguments on the same device, then prints both histories side by side with the
// largest differences. With --tolerance T it exits 1 when a loss differs by more than T.
// Usage: node dist/bench/hf_judge.js HF.json OURS.json [--tolerance 1e-4]
// (HF.json: one of the hf_<device>_ga<N>.json files scripts/gpu/hf_judge.py writes.)
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import * as torch from "../src/torch/index.js";
import { loadDataset } from "../src/datasets/index.js";
import { AutoTokenizer } from "../src/tokenizers/index.js";
import { AutoModelForSequenceClassification, setWarningSink } from "../src/models/index.js";
import { Trainer, TrainingArguments, type LogEntry } from "../src/trainer/index.js";

interface HfRun {
  device: "cpu" | "cuda";
  ckpt: string;
  n_train: number;
  n_eval: number;
  batch: number;
  eval_batch: number;
  gradient_accumulation_steps: number;
  epochs: number;
  learning_rate: number;
  weight_decay: number;
  warmup_steps: number;
  max_grad_norm: number;
  model_seed: number;
  seed: number;
  num_labels: number;
  optim: string;
  model_accepts_loss_kwargs: boolean;
  torch_threads: number;
  torch: string;
  transformers: string;
  log_history: LogEntry[];
}

const [hfPath, outPath, ...rest] = process.argv.slice(2);
if (!hfPath || !outPath) throw new Error("usage: node dist/bench/hf_judge.js HF.json OURS.json [--tolerance T]");
const tolerance = rest[0] === "--tolerance" ? Number(rest[1]) : null;
const hf = JSON.parse(readFileSync(hfPath, "utf8")) as HfRun;
const shared = join(dirname(fileURLToPath(import.meta.url)), "..", "..", "..", "shared", "data");
Object.assign(process.env, {
  HF_HOME: join(shared, "hf-home"),
  HF_HUB_OFFLINE: "1",
  HF_DATASETS_DISABLE_PROGRESS_BARS: "1",
  HF_DATASETS_CACHE: mkdtempSync(join(tmpdir(), "judge-")),
});

const started = performance.now();
const raw = await loadDataset("glue", "mrpc");
const tokenizer = await AutoTokenizer.fromPretrained(join(shared, "models", "bert-base-cased"));
const tokenized = await raw.map((ex) => tokenizer(ex.sentence1 as string[], ex.sentence2 as string[], { truncation: true }), { batched: true });
setWarningSink(() => {});
torch.manualSeed(hf.model_seed);
const model = await AutoModelForSequenceClassification.fromPretrained(hf.ckpt, { numLabels: hf.num_labels, attnImplementation: "eager" });
setWarningSink(null);
const args = new TrainingArguments({
  outputDir: mkdtempSync(join(tmpdir(), "judge-out-")),
  seed: hf.seed,
  numTrainEpochs: hf.epochs,
  perDeviceTrainBatchSize: hf.batch,
  perDeviceEvalBatchSize: hf.eval_batch,
  gradientAccumulationSteps: hf.gradient_accumulation_steps,
  learningRate: hf.learning_rate,
  weightDecay: hf.weight_decay,
  warmupSteps: hf.warmup_steps,
  maxGradNorm: hf.max_grad_norm,
  loggingSteps: 1,
  evalStrategy: "epoch",
  saveStrategy: "no",
  disableTqdm: true,
  useCpu: hf.device === "cpu",
  torchThreads: hf.torch_threads,
  optim: hf.optim === "adamw_torch_fused" ? "adamw_torch_fused" : "adamw_torch",
});
const range = (n: number) => Array.from({ length: n }, (_, i) => i);
const trainer = new Trainer({
  model,
  args,
  processingClass: tokenizer,
  trainDataset: tokenized.train.select(range(hf.n_train)),
  evalDataset: tokenized.validation.select(range(hf.n_eval)),
});
await trainer.train();
const seconds = (performance.now() - started) / 1000;

// transformers leaves the loss undivided by the accumulation steps when the model's forward takes
// **kwargs, trusting the model to normalize by num_items_in_batch; BERT's classification head ignores
// it (transformers#47688, open), so with accumulation HF logs, and steps with, the sum of the group's
// micro-batch losses. finetune-ts keeps the mean the Trainer intends; such runs are compared as
// ours × the group's micro-batches.
const ga = hf.gradient_accumulation_steps;
const inflated = hf.model_accepts_loss_kwargs && ga > 1;
const groupSizes: number[] = [];
const batchesPerEpoch = Math.ceil(hf.n_train / hf.batch);
for (let e = 0; e < hf.epochs; e++) for (let b = 0; b < batchesPerEpoch; b += ga) groupSizes.push(Math.min(ga, batchesPerEpoch - b));

const steps = (h: LogEntry[]) => h.filter((e) => "loss" in e);
const evals = (h: LogEntry[]) => h.filter((e) => "eval_loss" in e).map((e) => e.eval_loss as number);
const ours = trainer.state.log_history;
const [a, b] = [steps(hf.log_history), steps(ours)];
const num = (v: unknown) => (typeof v === "number" ? v : NaN);
const cell = (v: number, w = 10) => (Number.isFinite(v) ? (Math.abs(v) < 1e-3 && v !== 0 ? v.toExponential(3) : v.toPrecision(6)) : String(v)).padStart(w);
const worst = { loss: 0, gradNorm: 0, learningRate: 0, evalLoss: 0 };
const lines = [
  `HF's Trainer (transformers ${hf.transformers}, torch ${hf.torch}, optim ${hf.optim}) vs finetune-ts (libtorch ${torch.torchVersion}) on ${hf.device}, accumulation ${ga}`,
];
if (inflated) lines.push("HF sums the micro-batch losses of a group for this model (transformers#47688): 'ours' below is ours × the group's micro-batches");
lines.push(
  `${"step".padStart(4)} ${"HF loss".padStart(10)} ${"ours".padStart(10)} ${"|Δ|".padStart(9)}  ${"HF gnorm".padStart(10)} ${"ours".padStart(10)} ${"|Δ|/g".padStart(9)}  ${"HF lr".padStart(10)} ${"ours".padStart(10)}`,
);
for (let i = 0; i < Math.max(a.length, b.length); i++) {
  const k = inflated ? (groupSizes[i] ?? 1) : 1;
  const [x, y0]: LogEntry[] = [a[i] ?? {}, b[i] ?? {}];
  const y: LogEntry = { ...y0, loss: num(y0.loss) * k, grad_norm: num(y0.grad_norm) * k };
  const dl = Math.abs(num(x.loss) - num(y.loss));
  const dg = Math.abs(num(x.grad_norm) - num(y.grad_norm)) / Math.max(1, Math.abs(num(x.grad_norm)));
  const dr = Math.abs(num(x.learning_rate) - num(y.learning_rate));
  worst.loss = Math.max(worst.loss, Number.isNaN(dl) ? Infinity : dl);
  worst.gradNorm = Math.max(worst.gradNorm, Number.isNaN(dg) ? Infinity : dg);
  worst.learningRate = Math.max(worst.learningRate, Number.isNaN(dr) ? Infinity : dr);
  lines.push(
    `${String(i + 1).padStart(4)} ${cell(num(x.loss))} ${cell(num(y.loss))} ${dl.toExponential(1).padStart(9)}  ${cell(num(x.grad_norm))} ${cell(num(y.grad_norm))} ${dg.toExponential(1).padStart(9)}  ${cell(num(x.learning_rate))} ${cell(num(y.learning_rate))}`,
  );
}
const [ea, eb] = [evals(hf.log_history), evals(ours)];
for (let i = 0; i < Math.max(ea.length, eb.length); i++) {
  const d = Math.abs(num(ea[i]) - num(eb[i]));
  worst.evalLoss = Math.max(worst.evalLoss, Number.isNaN(d) ? Infinity : d);
  lines.push(`eval ${i + 1}: HF ${cell(num(ea[i]))}  ours ${cell(num(eb[i]))}  |Δ| ${d.toExponential(2)}`);
}
const within = tolerance === null || (worst.loss <= tolerance && worst.evalLoss <= tolerance);
lines.push(
  `largest differences on ${hf.device}: loss ${worst.loss.toExponential(2)}, grad_norm (relative) ${worst.gradNorm.toExponential(2)}, ` +
    `learning_rate ${worst.learningRate.toExponential(2)}, eval_loss ${worst.evalLoss.toExponential(2)}` +
    (tolerance === null ? "" : ` — ${within ? "within" : "NOT within"} ${tolerance}`),
);
console.log(lines.join("\n"));
writeFileSync(
  outPath,
  JSON.stringify(
    { device: hf.device, gradient_accumulation_steps: ga, hf_sums_accumulated_losses: inflated, worst, tolerance, within, seconds, log_history: ours },
    null,
    1,
  ),
);
torch.dispose([...model.parameters()]);
process.exitCode = within ? 0 : 1;
