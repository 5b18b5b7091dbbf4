// `npm run bench:trainer`: the course's run (MRPC train, batch 8, dynamic padding, AdamW, linear
// schedule, clipping, dropout) with the Trainer against a plain PyTorch training loop doing the same
// steps, each configuration in a process of its own, timed from the first step. Each side at its
// best: both ATen/OpenBLAS thread splits are run and the faster kept; PyTorch gets glibc's malloc
// tuned (MALLOC_MMAP_THRESHOLD_/TRIM_THRESHOLD_/TOP_PAD_, as PyTorch's CPU guides advise an allocator
// that does not churn pages), finetune-ts runs with no environment set.
// Env: BENCH_SIZES (tiny,mini,base), BENCH_STEPS_TINY (200), BENCH_STEPS_MINI (100), BENCH_STEPS_BASE (6),
// BENCH_REPEAT (2) and BENCH_REPEAT_BASE (1): interleaved repetitions, the best kept; BENCH_PRECISIONS
// (fp32,bf16). The "padded" column is the Trainer with the encoder on every position (unpadTokens off),
// at our best split: what computing only the real tokens gains.
import { execFileSync } from "node:child_process";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import type { Size } from "./trainer_sizes.js";
import { cleanEnv, peerEnv } from "./peer_env.js";

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, "..", "..");
const shared = join(root, "..", "shared", "data");
const sizes = (process.env.BENCH_SIZES ?? "tiny,mini,base").split(",") as Size[];
const steps: Record<Size, number> = {
  tiny: Number(process.env.BENCH_STEPS_TINY ?? 200),
  mini: Number(process.env.BENCH_STEPS_MINI ?? 100),
  base: Number(process.env.BENCH_STEPS_BASE ?? 6),
};
const SPLITS: [number, number][] = [
  [1, 2],
  [2, 1],
];
const clean = cleanEnv;

interface Run {
  samples_per_second: number;
  first_step_ms: number;
  peak_rss_mb: number;
  native_calls_per_step?: number | null;
  padded_per_real?: number;
}
const last = (out: Buffer): Run => JSON.parse(out.toString().trim().split("\n").pop()!);

function ours(size: Size, precision: string, n: number, [a, b]: [number, number], env: NodeJS.ProcessEnv = clean, optim = "adamw_torch"): Run {
  return last(execFileSync(process.execPath, [join(here, "trainer_run.js"), size, precision, String(n), String(a), String(b), optim], { env }));
}
function theirs(size: Size, precision: string, n: number, [a, b]: [number, number]): Run {
  return last(
    execFileSync(
      process.env.PYTHON ?? "/usr/bin/python3",
      [join(root, "bench", "trainer_torch.py"), shared, size, String(n), String(a), String(b), precision],
      { env: peerEnv },
    ),
  );
}
function best(runs: [Run, [number, number]][]): [Run, [number, number]] {
  return runs.reduce((x, y) => (y[0].samples_per_second > x[0].samples_per_second ? y : x));
}
// This VM's speed drifts by 10–20% between runs: each side is run REPEAT times, interleaved, and its best kept.
// bert-base steps take seconds, so its runs are long enough to be stable once.
const repeat = (size: Size) => Number((size === "base" ? process.env.BENCH_REPEAT_BASE : process.env.BENCH_REPEAT) ?? (size === "base" ? 1 : 2));
const repeated = <T>(size: Size, fn: () => T): T[] => Array.from({ length: repeat(size) }, fn);

console.log(
  "The course's run on MRPC train (batch 8, dynamic padding): samples/s from the first step, finetune-ts Trainer vs a PyTorch loop, each at its best thread split",
);
console.log(
  "| model | precision | steps | finetune-ts (threads) | PyTorch (threads) | ratio | finetune-ts, adamw_torch_fused | ratio | finetune-ts, padded | padded / real tokens | first step ms (ours / theirs) | peak RSS MB (ours / theirs) |",
);
console.log("|---|---|---|---|---|---|---|---|---|---|---|---|");
for (const size of sizes) {
  for (const precision of (process.env.BENCH_PRECISIONS ?? "fp32,bf16").split(",")) {
    const n = steps[size];
    const runs = repeated(size, () =>
      SPLITS.map((s): [[Run, [number, number]], [Run, [number, number]]] => [
        [ours(size, precision, n, s), s],
        [theirs(size, precision, n, s), s],
      ]),
    ).flat();
    const [o, os] = best(runs.map((r) => r[0]));
    const [t, ts] = best(runs.map((r) => r[1]));
    const f = best(repeated(size, (): [Run, [number, number]] => [ours(size, precision, n, os, clean, "adamw_torch_fused"), os]))[0];
    const padded = best(repeated(size, (): [Run, [number, number]] => [ours(size, precision, n, os, { ...clean, BENCH_UNPAD: "0" }), os]))[0];
    const ratio = (x: Run) => `${(x.samples_per_second / t.samples_per_second).toFixed(2)}×`;
    console.log(
      `| ${size} | ${precision} | ${n} | ${o.samples_per_second.toFixed(1)} (${os.join("/")}) | ${t.samples_per_second.toFixed(1)} (${ts.join("/")}) | ${ratio(o)} | ${f.samples_per_second.toFixed(1)} | ${ratio(f)} | ` +
        `${padded.samples_per_second.toFixed(1)} | ${o.padded_per_real?.toFixed(2) ?? "-"} | ` +
        `${o.first_step_ms.toFixed(0)} / ${t.first_step_ms.toFixed(0)} | ${o.peak_rss_mb.toFixed(0)} / ${t.peak_rss_mb.toFixed(0)} |`,
    );
  }
}
if (sizes.includes("base")) {
  const counted = ours("base", "fp32", 3, [2, 1], { ...clean, FINETUNE_COUNT_NATIVE_CALLS: "1" });
  console.log(`\nNative calls in one bert-base-shaped training step (batch 8): ${counted.native_calls_per_step}`);
}
