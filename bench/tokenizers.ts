// `npm run bench:tokenizers`: tokenizing MRPC train (3,668 pairs, truncation) in examples/s, this
// library against transformers.js doing the same in the same run. transformers.js is a dev-only
// reference, installed on first use into bench/.deps (install scripts off: only its JS is used).
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, readdirSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { asyncBufferFromFile, parquetReadObjects } from "hyparquet";
import { AutoTokenizer } from "../src/tokenizers/index.js";

const root = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
const shared = join(root, "..", "shared", "data");
const deps = join(root, "bench", ".deps");

function transformersJs(): string {
  const pkg = join(deps, "node_modules", "@huggingface", "transformers");
  if (!existsSync(pkg)) {
    mkdirSync(deps, { recursive: true });
    writeFileSync(join(deps, "package.json"), '{ "name": "bench-deps", "private": true }\n');
    console.log("installing @huggingface/transformers@3.8.0 into bench/.deps (once)…");
    execFileSync("npm", ["install", "--ignore-scripts", "--no-audit", "--no-fund", "@huggingface/transformers@3.8.0"], {
      cwd: deps,
      stdio: "inherit",
      env: { ...process.env, ONNXRUNTIME_NODE_INSTALL: "skip" },
    });
  }
  return pathToFileURL(join(pkg, "dist", "transformers.node.mjs")).href;
}

function time(fn: () => void, minSeconds = 3): number {
  fn();
  let n = 0;
  const start = performance.now();
  do {
    fn();
    n++;
  } while ((performance.now() - start) / 1000 < minSeconds);
  return (performance.now() - start) / 1000 / n;
}

const snap = join(shared, "hf-home", "hub", "datasets--nyu-mll--glue", "snapshots");
if (!existsSync(snap)) throw new Error(`needs ${snap} (../shared/data)`);
const file = await asyncBufferFromFile(join(snap, readdirSync(snap)[0], "mrpc", "train-00000-of-00001.parquet"));
const rows = (await parquetReadObjects({ file, columns: ["sentence1", "sentence2"] })) as { sentence1: string; sentence2: string }[];
const s1 = rows.map((r) => r.sentence1);
const s2 = rows.map((r) => r.sentence2);

process.env.HF_HOME = join(shared, "hf-home");
process.env.HF_HUB_OFFLINE = "1";
const ours = await AutoTokenizer.fromPretrained("bert-base-cased");
ours(s1, s2, { truncation: true });
const tjs = (await import(transformersJs())) as {
  AutoTokenizer: { from_pretrained(n: string): Promise<(a: string[], o: object) => unknown> };
  env: Record<string, unknown>;
};
tjs.env.allowRemoteModels = false;
tjs.env.localModelPath = join(shared, "models") + "/";
const theirs = await tjs.AutoTokenizer.from_pretrained("bert-base-cased");
theirs(s1, { text_pair: s2, truncation: true, padding: false, return_tensor: false });

// Cold: a fresh tokenizer per run (empty chunk cache), as when a dataset is tokenized once.
// Warm: the same tokenizer again, as in a second epoch of on-the-fly tokenization.
async function coldTime(make: () => Promise<(a: string[], b: string[]) => unknown>, runs = 5): Promise<number> {
  let total = 0;
  for (let i = 0; i < runs; i++) {
    const f = await make();
    const start = performance.now();
    f(s1, s2);
    total += performance.now() - start;
  }
  return total / runs / 1000;
}
const makeOurs = async () => {
  const t = await AutoTokenizer.fromPretrained("bert-base-cased");
  return (a: string[], b: string[]) => t(a, b, { truncation: true });
};
const makeTheirs = async () => {
  const t = await tjs.AutoTokenizer.from_pretrained("bert-base-cased");
  return (a: string[], b: string[]) => t(a, { text_pair: b, truncation: true, padding: false, return_tensor: false });
};
await coldTime(makeOurs, 1); // JIT warm-up for both sides
await coldTime(makeTheirs, 1);
const rowsOut: [string, number, number][] = [
  ["cold (fresh tokenizer, one pass)", await coldTime(makeOurs), await coldTime(makeTheirs)],
  [
    "warm (same tokenizer, repeated)",
    time(() => ours(s1, s2, { truncation: true })),
    time(() => theirs(s1, { text_pair: s2, truncation: true, padding: false, return_tensor: false })),
  ],
];
console.log(`MRPC train: ${rows.length} pairs, truncation: true, one batched call; examples/s`);
console.log(`| ${"".padEnd(34)} | finetune-ts | transformers.js 3.8 | speed ratio |`);
console.log(`|${"-".repeat(36)}|-------------|---------------------|-------------|`);
for (const [name, a, b] of rowsOut) {
  console.log(
    `| ${name.padEnd(34)} | ${(rows.length / a).toFixed(0).padStart(11)} | ${(rows.length / b).toFixed(0).padStart(19)} | ${(b / a).toFixed(2).padStart(10)}× |`,
  );
}
