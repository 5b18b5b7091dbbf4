// `npm run bench:trainer`: the course's run (MRPC, batch 8, AdamW, linear schedule, clipping) with
// the Trainer against a plain PyTorch training loop doing the same steps, in one run: samples/s for
// a bert-tiny-sized model (2 layers, hidden 128) and a bert-base-sized one, fp32 and bf16.
// Env: BENCH_TINY_STEPS (200), BENCH_BASE_STEPS (8: a step takes seconds here), BENCH_SIZES (tiny,base).
import { execFileSync } from "node:child_process";
import { existsSync, mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import * as torch from "../src/torch/index.js";
import { loadDataset } from "../src/datasets/index.js";
import { AutoTokenizer } from "../src/tokenizers/index.js";
import { AutoModelForSequenceClassification } from "../src/models/index.js";
import { Trainer, TrainingArguments } from "../src/trainer/index.js";

const root = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
const shared = join(root, "..", "shared", "data");
if (!existsSync(join(shared, "hf-home"))) throw new Error(`needs ${shared}`);
Object.assign(process.env, { HF_HOME: join(shared, "hf-home"), HF_HUB_OFFLINE: "1", HF_DATASETS_DISABLE_PROGRESS_BARS: "1", HF_DATASETS_CACHE: mkdtempSync(join(tmpdir(), "bench-tr-")) });

const SIZES = {
  tiny: { hidden_size: 128, num_hidden_layers: 2, num_attention_heads: 2, intermediate_size: 512 },
  base: { hidden_size: 768, num_hidden_layers: 12, num_attention_heads: 12, intermediate_size: 3072 },
};
const steps = { tiny: Number(process.env.BENCH_TINY_STEPS ?? 200), base: Number(process.env.BENCH_BASE_STEPS ?? 8) };
const sizes = (process.env.BENCH_SIZES ?? "tiny,base").split(",") as (keyof typeof SIZES)[];

const raw = await loadDataset("glue", "mrpc", { split: "train" });
const tokenizer = await AutoTokenizer.fromPretrained("bert-base-cased");
const train = await raw.map((ex) => tokenizer(ex.sentence1, ex.sentence2, { truncation: true }), { batched: true });

async function ours(size: keyof typeof SIZES, precision: "fp32" | "bf16", n: number, threads: [number, number]): Promise<number> {
  torch.manualSeed(42);
  const model = AutoModelForSequenceClassification.fromConfig({ model_type: "bert", vocab_size: 28996, num_labels: 2, _attn_implementation: "eager", ...SIZES[size] });
  const args = new TrainingArguments({
    outputDir: mkdtempSync(join(tmpdir(), "bench-tr-out-")), maxSteps: n + 1, saveStrategy: "no", loggingStrategy: "no", disableTqdm: true,
    bf16: precision === "bf16", torchThreads: threads[0], blasThreads: threads[1],
  });
  let started = 0;
  const timer = new (class {
    onStepEnd = (_a: unknown, s: { global_step: number }) => {
      if (s.global_step === 1) started = performance.now(); // the first step warms up, as on the Python side
    };
  })();
  const trainer = new Trainer({ model, args, trainDataset: train, processingClass: tokenizer, callbacks: [timer as never] });
  const write = process.stderr.write.bind(process.stderr);
  process.stderr.write = (() => true) as typeof process.stderr.write;
  try {
    await trainer.train();
  } finally {
    process.stderr.write = write;
  }
  const elapsed = (performance.now() - started) / 1000;
  torch.dispose(model.parameters());
  return (n * 8) / elapsed;
}

function theirs(size: string, precision: string, n: number, threads: [number, number]): { samples_per_second: number; torch_version: string } {
  const out = execFileSync(process.env.PYTHON ?? "/usr/bin/python3", [join(root, "bench", "trainer_torch.py"), shared, size, String(n), String(threads[0]), String(threads[1]), precision]);
  return JSON.parse(out.toString().trim().split("\n").pop()!);
}

console.log("The course's run on MRPC train (batch 8): samples/s, finetune-ts Trainer vs a PyTorch training loop, same machine and threads");
console.log("| model | precision | threads (ATen/BLAS) | steps | finetune-ts | PyTorch | speed ratio |");
console.log("|---|---|---|---|---|---|---|");
for (const size of sizes) {
  for (const precision of ["fp32", "bf16"] as const) {
    const threads: [number, number] = precision === "bf16" ? [2, 1] : [1, 2];
    const t = theirs(size, precision, steps[size], threads);
    const o = await ours(size, precision, steps[size], threads);
    console.log(`| ${size} | ${precision} | ${threads.join("/")} | ${steps[size]} | ${o.toFixed(1)} | ${t.samples_per_second.toFixed(1)} | ${(o / t.samples_per_second).toFixed(2)}× |`);
  }
}
