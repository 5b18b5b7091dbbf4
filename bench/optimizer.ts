// `npm run bench:optimizer`: one AdamW step over bert-base-shaped parameters (with gradients), this
// library against torch.optim.AdamW, plain (single-tensor) and foreach, in one run.
import { execFileSync } from "node:child_process";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import * as torch from "../src/torch/index.js";
import { AutoModelForSequenceClassification } from "../src/models/index.js";
import { AdamW, clipGradNorm } from "../src/optim/index.js";
import { SIZES } from "./trainer_sizes.js";

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, "..", "..");
const steps = Number(process.env.BENCH_OPT_STEPS ?? 10);
const threads = Number(process.env.BENCH_THREADS ?? 2);
torch.setNumThreads(threads);
torch.manualSeed(0);
const model = AutoModelForSequenceClassification.fromConfig({ model_type: "bert", vocab_size: 28996, num_labels: 2, ...SIZES.base });
const params = model.parameters();
for (const p of params) p.grad = torch.keep(torch.randn(p.shape).mul(1e-3));
const time = (fused: boolean) => {
  const opt = new AdamW(params, { lr: 1e-4, weightDecay: 0.01, fused });
  opt.step(); // state made
  const t0 = performance.now();
  for (let i = 0; i < steps; i++) opt.step();
  const ms = (performance.now() - t0) / steps;
  opt.dispose();
  return ms;
};
const adamw = time(false);
const adamwFused = time(true);
let t = performance.now();
for (let i = 0; i < steps; i++) clipGradNorm(params, 1.0);
const clip = (performance.now() - t) / steps;
const py = JSON.parse(
  execFileSync(process.env.PYTHON ?? "/usr/bin/python3", [join(root, "bench", "optimizer_torch.py"), String(steps), String(threads)])
    .toString()
    .trim()
    .split("\n")
    .pop()!,
);
console.log(
  `AdamW step over bert-base parameters (${params.reduce((n, p) => n + p.numel(), 0).toLocaleString("en-US")} values, ${params.length} tensors), ${threads} threads, ms per step:`,
);
console.log("| | finetune-ts | finetune-ts, fused | torch.optim.AdamW (plain) | torch.optim.AdamW (foreach) |");
console.log("|---|---|---|---|---|");
console.log(`| AdamW.step | ${adamw.toFixed(1)} | ${adamwFused.toFixed(1)} | ${py.plain_ms.toFixed(1)} | ${py.foreach_ms.toFixed(1)} |`);
console.log(`| clip_grad_norm_ | ${clip.toFixed(1)} | | ${py.clip_ms.toFixed(1)} | |`);
