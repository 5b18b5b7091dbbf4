// `npm run bench:trainer`: the course's run (MRPC train, dynamic padding, AdamW, linear schedule,
// clipping, dropout) with finetune-ts's Trainer against transformers' Trainer (the course's code,
// bench/trainer_hf.py) and against a plain PyTorch training loop doing the same steps
// (bench/trainer_torch.py), each configuration in a process of its own, timed from the first step.
// Each side at its best: both ATen/BLAS thread splits are run and the faster kept; the Python peers
// get glibc's malloc tuned (MALLOC_MMAP_THRESHOLD_/TRIM_THRESHOLD_/TOP_PAD_, as PyTorch's CPU guides
// advise an allocator that does not churn pages), finetune-ts runs with no environment set. Every
// side uses its default optimizer where it has one (HF's: fused AdamW from torch 2.8 on; the loop
// takes torch's fused AdamW where the CPU has it, 2.4 on).
//
// The same libtorch on both sides: finetune-ts uses the libtorch its addon was built against, the
// loop runs on $PYTHON's torch (default /usr/bin/python3, Debian's); build the addon against that
// torch (LIBTORCH=<its torch folder> npm run build) for a like-for-like run. transformers' Trainer
// runs on $HF_PYTHON (default $PYTHON; the column is left out when it has no transformers).
//
// Env: BENCH_SIZES (tiny,mini,base), BENCH_PRECISIONS (fp32,bf16), BENCH_BATCHES (8,32),
// BENCH_STEPS_TINY (200), BENCH_STEPS_MINI (100), BENCH_STEPS_BASE (6) — steps at batch 8, scaled
// by 8/batch (at least 4) so that each cell trains about as many samples, and by BENCH_BF16_STEPS
// (0.1) in bf16, where libtorch's scalar bfloat16 GEMM makes the peers' steps 10× longer on CPUs
// without bfloat16 arithmetic (bert-base in bf16 at batch 32 only with BENCH_FULL=1) — BENCH_REPEAT (2) and
// BENCH_REPEAT_BASE (1): interleaved repetitions, each side's best kept and the spread of its
// repetitions at that split shown (best (threads; slowest–fastest)). The "unpad off" column is
// finetune-ts with the encoder on every position (unpadTokens off), at its best split: what
// computing only the real tokens gains; "last layer on every token" is firstTokenOnly off: what
// computing the last layer for the classifier's first tokens alone gains. "collate / step ms": the
// time finetune-ts's collator takes per step against the whole step's.
import { execFileSync } from "node:child_process";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import type { Size } from "./trainer_sizes.js";
import { cleanEnv, peerEnv } from "./peer_env.js";

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, "..", "..");
const shared = join(root, "..", "shared", "data");
const env = process.env;
const sizes = (env.BENCH_SIZES ?? "tiny,mini,base").split(",") as Size[];
const precisions = (env.BENCH_PRECISIONS ?? "fp32,bf16").split(",");
const batchSizes = (env.BENCH_BATCHES ?? "8,32").split(",").map(Number);
const stepsAt8: Record<Size, number> = {
  tiny: Number(env.BENCH_STEPS_TINY ?? 200),
  mini: Number(env.BENCH_STEPS_MINI ?? 100),
  base: Number(env.BENCH_STEPS_BASE ?? 6),
};
const python = env.PYTHON ?? "/usr/bin/python3";
const hfPython = env.HF_PYTHON ?? python;
type Split = [number, number];
const SPLITS: Split[] = [
  [1, 2],
  [2, 1],
];

interface Run {
  samples_per_second: number;
  first_step_ms: number;
  peak_rss_mb: number;
  native_calls_per_step?: number | null;
  padded_per_real?: number;
  collate_ms_per_step?: number;
  step_ms?: number;
  torch_version?: string;
  transformers_version?: string;
  optim?: string;
}
const last = (out: Buffer): Run => JSON.parse(out.toString().trim().split("\n").pop()!);

function ours(size: Size, precision: string, n: number, batch: number, [a, b]: Split, extra: NodeJS.ProcessEnv = {}): Run {
  const args = [join(here, "trainer_run.js"), size, precision, String(n), String(a), String(b), String(batch)];
  return last(execFileSync(process.execPath, args, { env: { ...cleanEnv, ...extra } }));
}
function loop(size: Size, precision: string, n: number, batch: number, [a, b]: Split): Run {
  const args = [join(root, "bench", "trainer_torch.py"), shared, size, String(n), String(a), String(b), precision, String(batch)];
  return last(execFileSync(python, args, { env: peerEnv }));
}
// transformers' Trainer: torch's intra-op threads are its one knob (its BLAS follows them).
function hf(size: Size, precision: string, n: number, batch: number, [a]: Split): Run {
  const args = [join(root, "bench", "trainer_hf.py"), shared, size, String(n), String(a), precision, String(batch)];
  return last(execFileSync(hfPython, args, { env: peerEnv, stdio: ["ignore", "pipe", "ignore"] }));
}
const hasTransformers = (() => {
  try {
    execFileSync(hfPython, ["-c", "import transformers, datasets"], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
})();

function best(runs: [Run, Split][]): [Run, Split] {
  return runs.reduce((x, y) => (y[0].samples_per_second > x[0].samples_per_second ? y : x));
}
// This VM's speed drifts by 10–20% between runs: each side is run REPEAT times, interleaved, and its best kept.
// bert-base steps take seconds, so its runs are long enough to be stable once.
const repeat = (size: Size) => Number((size === "base" ? env.BENCH_REPEAT_BASE : env.BENCH_REPEAT) ?? (size === "base" ? 1 : 2));

console.log(
  `The course's run on MRPC train (dynamic padding): samples/s from the first step, each side at its best thread split (ATen/BLAS)` +
    (hasTransformers ? "" : ` (no transformers in ${hfPython}: its column is left out)`),
);
console.log(
  "| model | precision | batch | steps | padded / real tokens | finetune-ts (threads) | transformers Trainer (threads) | × HF | PyTorch loop (threads) | × loop | finetune-ts, unpad off | finetune-ts, last layer on every token | collate / step ms | first step ms (ours / HF / loop) | peak RSS MB (ours / HF / loop) |",
);
console.log("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|");
let versions = "";
for (const size of sizes) {
  for (const precision of precisions) {
    for (const batch of batchSizes) {
      if (size === "base" && precision === "bf16" && batch > 8 && env.BENCH_FULL !== "1") continue;
      const fraction = precision === "bf16" ? Number(env.BENCH_BF16_STEPS ?? 0.1) : 1;
      const n = Math.max(4, Math.round((stepsAt8[size] * 8 * fraction) / batch));
      const runs: Record<string, [Run, Split][]> = { ours: [], loop: [], hf: [] };
      for (let r = 0; r < repeat(size); r++) {
        for (const s of SPLITS) {
          runs.ours.push([ours(size, precision, n, batch, s), s]);
          runs.loop.push([loop(size, precision, n, batch, s), s]);
          if (hasTransformers) runs.hf.push([hf(size, precision, n, batch, s), s]);
        }
      }
      const [o, os] = best(runs.ours);
      const [l, ls] = best(runs.loop);
      const h = hasTransformers ? best(runs.hf) : null;
      versions =
        `finetune-ts on libtorch ${o.torch_version} (${o.optim}), the PyTorch loop on torch ${l.torch_version}` +
        (h
          ? `, transformers' Trainer on torch ${h[0].torch_version}, transformers ${h[0].transformers_version} (${h[0].optim}, attention as transformers picks it)`
          : "");
      // Each lever off in turn, at our best split: what it gains.
      const without = (lever: NodeJS.ProcessEnv) =>
        best(Array.from({ length: repeat(size) }, (): [Run, Split] => [ours(size, precision, n, batch, os, lever), os]))[0];
      const padded = without({ BENCH_UNPAD: "0" });
      const fullLast = without({ BENCH_FIRST_TOKEN: "0" });
      const ratio = (x: Run, y: Run) => `${(x.samples_per_second / y.samples_per_second).toFixed(2)}×`;
      // The best run, its split, and the spread of that split's repetitions.
      const sps = (all: [Run, Split][], [x, s]: [Run, Split], threads = s.join("/")) => {
        const v = all.filter(([, t]) => t === s).map(([r]) => r.samples_per_second);
        const range = v.length > 1 ? `; ${Math.min(...v).toFixed(1)}–${Math.max(...v).toFixed(1)}` : "";
        return `${x.samples_per_second.toFixed(1)} (${threads}${range})`;
      };
      console.log(
        `| ${size} | ${precision} | ${batch} | ${n} | ${o.padded_per_real?.toFixed(2)} | ${sps(runs.ours, [o, os])} | ${h ? sps(runs.hf, h, String(h[1][0])) : "—"} | ${h ? ratio(o, h[0]) : "—"} | ` +
          `${sps(runs.loop, [l, ls])} | ${ratio(o, l)} | ${padded.samples_per_second.toFixed(1)} (${ratio(o, padded)} from unpadding) | ` +
          `${fullLast.samples_per_second.toFixed(1)} (${ratio(o, fullLast)} from the first tokens alone) | ` +
          `${o.collate_ms_per_step?.toFixed(2)} / ${o.step_ms?.toFixed(1)} | ${o.first_step_ms.toFixed(0)} / ${h ? h[0].first_step_ms.toFixed(0) : "—"} / ${l.first_step_ms.toFixed(0)} | ` +
          `${o.peak_rss_mb.toFixed(0)} / ${h ? h[0].peak_rss_mb.toFixed(0) : "—"} / ${l.peak_rss_mb.toFixed(0)} |`,
      );
    }
  }
}
if (versions) console.log(`\n${versions}.`);
if (sizes.includes("base")) {
  const counted = ours("base", "fp32", 3, 8, [2, 1], { FINETUNE_COUNT_NATIVE_CALLS: "1" });
  console.log(`Native calls in one bert-base-shaped training step (batch 8): ${counted.native_calls_per_step}`);
}
