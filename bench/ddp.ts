// `npm run bench:ddp`: what data parallelism gives on this machine — the Trainer on MRPC (dynamic
// padding, bert-mini shape) as 2 ranks × 1 core (gloo over loopback, `finetune launch`) against 1
// rank × 2 cores, at the same global batch (2 × 8 vs 16), fp32 and bf16, each in fresh processes,
// timed from the first step; and one all-reduce of a gradient-sized buffer. Env: BENCH_STEPS (60),
// BENCH_SIZE (mini), BENCH_REPEAT (2, interleaved, best kept).
import { execFileSync } from "node:child_process";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const cli = join(here, "..", "src", "cli", "finetune.js");
const run = join(here, "ddp_run.js");
const steps = process.env.BENCH_STEPS ?? "60";
const size = process.env.BENCH_SIZE ?? "mini";
const repeat = Number(process.env.BENCH_REPEAT ?? 2);
interface Run {
  world: number;
  threads: number;
  blas_threads: number | null;
  parameters: number;
  samples_per_second: number;
  all_reduce_ms: number | null;
}
const last = (out: Buffer): Run => JSON.parse(out.toString().trim().split("\n").pop()!) as Run;
const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith("FINETUNE_") && k !== "OMP_NUM_THREADS"));
const one = (precision: string) => last(execFileSync(process.execPath, [run, size, precision, steps, "16"], { env }));
const two = (precision: string) =>
  last(
    execFileSync(process.execPath, [cli, "launch", "--nproc-per-node", "2", "--", run, size, precision, steps, "8"], {
      env,
      stdio: ["ignore", "pipe", "ignore"],
    }),
  );
const best = (runs: Run[]) => runs.reduce((a, b) => (b.samples_per_second > a.samples_per_second ? b : a));

console.log(`Trainer on MRPC train, ${size} BERT, ${steps} steps of 16 rows (1 rank × 16, or 2 ranks × 8), best of ${repeat}`);
console.log("| precision | 1 rank × 2 cores (samples/s) | 2 ranks × 1 core, DDP over gloo (samples/s) | 2 ranks / 1 rank | one all-reduce of all gradients |");
console.log("|---|---|---|---|---|");
for (const precision of ["fp32", "bf16"]) {
  const a: Run[] = [];
  const b: Run[] = [];
  for (let i = 0; i < repeat; i++) {
    a.push(one(precision));
    b.push(two(precision));
  }
  const [x, y] = [best(a), best(b)];
  console.log(
    `| ${precision} | ${x.samples_per_second.toFixed(1)} (ATen ${x.threads}, BLAS ${x.blas_threads}) | ${y.samples_per_second.toFixed(1)} (ATen ${y.threads}, BLAS ${y.blas_threads} each) | ${(y.samples_per_second / x.samples_per_second).toFixed(2)}× | ${y.all_reduce_ms!.toFixed(1)} ms (${((x.parameters * 4) / 2 ** 20).toFixed(0)} MiB) |`,
  );
}
