// `npm run bench:datasets`: loadDataset("glue", "mrpc") and the course's tokenizing map of its train
// split, cold (no cache file) and cached (the second identical map), in examples/s.
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { loadDataset, type Dataset } from "../src/datasets/index.js";
import { AutoTokenizer } from "../src/tokenizers/index.js";

const shared = join(dirname(fileURLToPath(import.meta.url)), "..", "..", "..", "shared", "data");
if (!existsSync(join(shared, "hf-home"))) throw new Error(`needs ${shared}/hf-home`);
process.env.HF_HOME = join(shared, "hf-home");
process.env.HF_HUB_OFFLINE = "1";
process.env.HF_DATASETS_DISABLE_PROGRESS_BARS = "1";

const runs = 5;
const rows: [string, number][] = [];
let load = 0;
let cold = 0;
let cached = 0;
let n = 0;
for (let r = 0; r < runs; r++) {
  // A fresh tokenizer too, so that "cold" includes tokenizing from scratch.
  const tokenizer = await AutoTokenizer.fromPretrained("bert-base-cased");
  const fn = (ex: unknown) => {
    const b = ex as { sentence1: string[]; sentence2: string[] };
    return tokenizer(b.sentence1, b.sentence2, { truncation: true });
  };
  const cache = mkdtempSync(join(tmpdir(), "ft-bench-ds-"));
  process.env.HF_DATASETS_CACHE = cache;
  let t = performance.now();
  const train = (await loadDataset("glue", "mrpc", { split: "train" })) as Dataset;
  load += performance.now() - t;
  n = train.numRows;
  t = performance.now();
  await train.map(fn, { batched: true });
  cold += performance.now() - t;
  t = performance.now();
  await train.map(fn, { batched: true });
  cached += performance.now() - t;
  rmSync(cache, { recursive: true, force: true });
}
rows.push(
  ["loadDataset('glue', 'mrpc', split train)", load / runs],
  ["map(tokenize, batched) cold", cold / runs],
  ["map(tokenize, batched) cached", cached / runs],
);
console.log(`MRPC train, ${n} examples, mean of ${runs} runs (each with a fresh datasets cache)`);
for (const [name, ms] of rows) console.log(`${name.padEnd(42)} ${ms.toFixed(1).padStart(8)} ms  ${((n / ms) * 1000).toFixed(0).padStart(9)} examples/s`);
