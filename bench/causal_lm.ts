// `npm run bench:causal-lm`: SmolLM2-135M's config with random weights — training tokens/s (packed rows,
// fwd + bwd + AdamW, fp32 and bf16 autocast) and greedy generation tokens/s (prompt 32, 128 new tokens,
// batch 1 and 8, fp32 and bf16 weights, KV cache) against python3-torch on the same libtorch in the same
// run (bench/causal_lm_torch.py, its malloc tuned as bench/peer_env.ts says). Decoding is memory-bound:
// each side is also given as a fraction of the limit weight bytes × tokens/s ÷ the measured copy
// bandwidth. Each side is measured at every thread split of BENCH_THREADS and reported at its best.
// Env: BENCH_STEPS (2; 0: generation only), BENCH_BATCH (8), BENCH_SEQ (512), BENCH_TRAIN ("fp32,bf16":
// the precisions trained), BENCH_PROMPT (32), BENCH_NEW (128; 0: training only), BENCH_THREADS
// ("2/1,1/2": ATen/OpenBLAS threads).
import { execFileSync } from "node:child_process";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import * as torch from "../src/torch/index.js";
import { AdamW } from "../src/optim/index.js";
import { AutoModelForCausalLM, generate } from "../src/models/index.js";
import { peerEnv } from "./peer_env.js";
import { SMOLLM2_135M } from "./smollm2.js";

const steps = Number(process.env.BENCH_STEPS ?? 2);
const batch = Number(process.env.BENCH_BATCH ?? 8);
const seq = Number(process.env.BENCH_SEQ ?? 512);
const prompt = Number(process.env.BENCH_PROMPT ?? 32);
const fresh = Number(process.env.BENCH_NEW ?? 128);
const precisions = (process.env.BENCH_TRAIN ?? "fp32,bf16").split(",").filter((p) => p === "fp32" || p === "bf16");
const splits = (process.env.BENCH_THREADS ?? "2/1,1/2").split(",").map((c) => c.split("/").map(Number) as [number, number]);
const script = join(dirname(fileURLToPath(import.meta.url)), "..", "..", "bench", "causal_lm_torch.py");

const py = [process.env.PYTHON, "/usr/bin/python3", "python3"].find((p) => p) as string;
/** PyTorch's numbers at one thread split. */
function peer(threads: number, blas: number): Record<string, number> {
  return JSON.parse(
    execFileSync(py, [script, ...[threads, blas, steps, batch, seq, prompt, fresh].map(String), precisions.join(",")], { maxBuffer: 1 << 20, env: peerEnv })
      .toString()
      .trim()
      .split("\n")
      .pop()!,
  ) as Record<string, number>;
}

torch.manualSeed(0);
const model = AutoModelForCausalLM.fromConfig(SMOLLM2_135M);
const weightBytes = (dtype: "float32" | "bfloat16") => model.numParameters() * (dtype === "float32" ? 4 : 2);

function train(bf16: boolean): number {
  model.train();
  const opt = new AdamW(model.parameters(), { lr: 1e-4 });
  const ids = torch.keep(torch.randint(0, SMOLLM2_135M.vocab_size, [batch, seq]));
  const step = () => {
    torch.tidy(() => {
      const run = () => model.forward({ input_ids: ids, labels: ids }).loss!;
      (bf16 ? torch.autocast({ deviceType: "cpu", dtype: "bfloat16" }, run) : run()).backward();
    });
    opt.step();
    opt.zeroGrad();
  };
  step();
  const t = performance.now();
  for (let i = 0; i < steps; i++) step();
  const rate = (batch * seq * steps) / ((performance.now() - t) / 1000);
  ids.dispose();
  opt.dispose?.();
  return rate;
}

async function decode(b: number): Promise<number> {
  const ids = torch.randint(0, SMOLLM2_135M.vocab_size, [b, prompt]);
  const t = performance.now();
  const out = await generate(model, ids, { maxNewTokens: fresh, eosTokenId: null, padTokenId: 0 });
  const rate = (b * fresh) / ((performance.now() - t) / 1000);
  torch.dispose([ids, out]);
  return rate;
}

/** The copy bandwidth of this machine (GB/s): a 512 MiB float32 buffer copied, best of three at each ATen thread count of the splits. */
function bandwidth(): number {
  const src = torch.keep(torch.rand([128 * 1024 * 1024]));
  const dst = torch.keep(torch.emptyLike(src));
  let best = 0;
  for (const threads of new Set(splits.map(([t]) => t))) {
    torch.setNumThreads(threads);
    for (let i = 0; i < 3; i++) {
      const t = performance.now();
      dst.copy_(src);
      const s = (performance.now() - t) / 1000;
      best = Math.max(best, (2 * src.numel() * 4) / s / 1e9);
    }
  }
  torch.dispose([src, dst]);
  return best;
}

/** Our numbers at one thread split (the model back in float32 first). */
async function mine(threads: number, blas: number): Promise<Record<string, number>> {
  torch.setNumThreads(threads);
  torch.setBlasThreads(blas);
  model.to({ dtype: "float32" });
  const out: Record<string, number> = {};
  for (const p of steps > 0 ? precisions : []) out[`train_${p}`] = train(p === "bf16");
  if (fresh === 0) return out;
  for (const b of [1, 8]) out[`generate_b${b}_fp32`] = await decode(b);
  model.to({ dtype: "bfloat16" });
  for (const b of [1, 8]) out[`generate_b${b}_bf16`] = await decode(b);
  return out;
}

/** Each measure at its best split, with the split that gave it. */
function best(runs: [string, Record<string, number>][]): Record<string, [number, string]> {
  const out: Record<string, [number, string]> = {};
  for (const [split, r] of runs)
    for (const [k, v] of Object.entries(r)) if (k !== "torch_version" && k !== "peak_rss_mb" && (!out[k] || v > out[k][0])) out[k] = [v, split];
  return out;
}

const ourRuns: [string, Record<string, number>][] = [];
const theirRuns: [string, Record<string, number>][] = [];
// Every peer run first: at batch 8 × 512 a training step holds ~11 GB on each side, and this process
// keeps its heap after its own steps, so a peer started after them could run out of memory.
for (const [threads, blas] of splits) theirRuns.push([`${threads}/${blas}`, peer(threads, blas)]);
for (const [threads, blas] of splits) ourRuns.push([`${threads}/${blas}`, await mine(threads, blas)]);
const ours = best(ourRuns);
const theirs = best(theirRuns);
const torchVersion = String(theirRuns[0][1].torch_version);
const theirRss = Math.max(...theirRuns.map(([, r]) => r.peak_rss_mb));
// The peak before bandwidth() allocates its 1 GiB of buffers.
const rss = process.resourceUsage().maxRSS / 1024;
const bw = bandwidth();

console.log(
  `SmolLM2-135M config (${(model.numParameters() / 1e6).toFixed(1)}M parameters, random weights); finetune-ts (libtorch ${torch.torchVersion}) vs PyTorch ${torchVersion}, each at its best ATen/OpenBLAS split of ${splits.map((x) => x.join("/")).join(", ")}; copy bandwidth ${bw.toFixed(1)} GB/s`,
);
if (steps > 0) console.log(`\nTraining: batch ${batch} × ${seq} tokens, fwd + bwd + AdamW, mean of ${steps} steps after one`);
if (steps > 0) console.log("| precision | finetune-ts tokens/s (split) | PyTorch tokens/s (split) | ratio |");
if (steps > 0) console.log("|---|---|---|---|");
for (const p of steps > 0 ? precisions : []) {
  const [a, as] = ours[`train_${p}`];
  const [b, bs] = theirs[`train_${p}`];
  console.log(`| ${p} | ${a.toFixed(0)} (${as}) | ${b.toFixed(0)} (${bs}) | ${(a / b).toFixed(2)}× |`);
}
if (fresh > 0) console.log(`\nGreedy generation: prompt ${prompt}, ${fresh} new tokens, KV cache (limit = bandwidth ÷ weight bytes per step)`);
if (fresh > 0) console.log("| weights | batch | finetune-ts tokens/s (split) | PyTorch tokens/s (split) | ratio | ours / limit | PyTorch / limit |");
if (fresh > 0) console.log("|---|---|---|---|---|---|---|");
for (const p of fresh > 0 ? (["fp32", "bf16"] as const) : []) {
  for (const b of [1, 8]) {
    const [a, as] = ours[`generate_b${b}_${p}`];
    const [t, ts] = theirs[`generate_b${b}_${p}`];
    // One step reads every weight once for the whole batch: the limit in tokens/s is b × bandwidth / bytes.
    const limit = (b * bw * 1e9) / weightBytes(p === "fp32" ? "float32" : "bfloat16");
    console.log(
      `| ${p} | ${b} | ${a.toFixed(1)} (${as}) | ${t.toFixed(1)} (${ts}) | ${(a / t).toFixed(2)}× | ${((100 * a) / limit).toFixed(0)}% | ${((100 * t) / limit).toFixed(0)}% |`,
    );
  }
}
console.log(`\nPeak RSS: finetune-ts ${rss.toFixed(0)} MB, PyTorch ${theirRss.toFixed(0)} MB`);
