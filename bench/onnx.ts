// `npm run bench:onnx`: what the ONNX export gives a deployment — file sizes and inference latency
// per MRPC pair (batch 1, tokenization included) for fp32/fp16/q8 on onnxruntime-node against our
// libtorch pipeline, same machine, one run, each given this machine's 2 cores (BENCH_THREADS): ours
// at its better ATen/OpenBLAS thread split (2/1 or 1/2), onnxruntime with 2 intra-op threads.
// Models: the deploy example's small BERT and a bert-base-sized one (random weights: latency does not
// depend on their values). Env: BENCH_PAIRS (100), BENCH_MODELS (small,base).
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import * as ort from "onnxruntime-node";
import * as torch from "../src/torch/index.js";
import { AutoTokenizer } from "../src/tokenizers/index.js";
import { AutoModelForSequenceClassification } from "../src/models/index.js";
import { TextClassificationPipeline } from "../src/pipelines/index.js";
import { loadDataset } from "../src/datasets/index.js";
import { exportOnnx, ONNX_DTYPES } from "../src/export/index.js";

const root = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
const shared = join(root, "..", "shared", "data");
process.env.HF_HOME = join(shared, "hf-home");
process.env.HF_HUB_OFFLINE = "1";
process.env.HF_DATASETS_CACHE = mkdtempSync(join(tmpdir(), "bench-onnx-cache-"));
const nPairs = Number(process.env.BENCH_PAIRS ?? 100);
const threads = Number(process.env.BENCH_THREADS ?? 2);
const models = (process.env.BENCH_MODELS ?? "small,base").split(",");
const SIZES: Record<string, Record<string, unknown>> = {
  small: { hidden_size: 64, num_hidden_layers: 2, num_attention_heads: 4, intermediate_size: 256 },
  base: { hidden_size: 768, num_hidden_layers: 12, num_attention_heads: 12, intermediate_size: 3072 },
};

const tokenizer = await AutoTokenizer.fromPretrained("bert-base-cased");
const validation = (await loadDataset("glue", "mrpc")).validation;
const pairs = validation
  .column("sentence1")
  .slice(0, nPairs)
  .map((text, i) => ({ text, textPair: validation.column("sentence2")[i] }));
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

/** Per-pair milliseconds (median, and mean) after 5 warm-up pairs. */
async function time(run: (p: { text: string; textPair: string }) => Promise<unknown> | unknown): Promise<{ median: number; mean: number }> {
  for (const p of pairs.slice(0, 5)) await run(p);
  const ms: number[] = [];
  for (const p of pairs) {
    const t = performance.now();
    await run(p);
    ms.push(performance.now() - t);
  }
  return { median: median(ms), mean: ms.reduce((a, b) => a + b, 0) / ms.length };
}

console.log(
  `MRPC validation, ${pairs.length} pairs one at a time (tokenization included), ${threads} threads; libtorch ${torch.torchVersion}, onnxruntime-node ${ort.env.versions.node}`,
);
for (const size of models) {
  torch.manualSeed(0);
  const model = AutoModelForSequenceClassification.fromConfig({ model_type: "bert", vocab_size: tokenizer.vocabSize, num_labels: 2, ...SIZES[size] });
  model.eval();
  const dir = mkdtempSync(join(tmpdir(), `bench-onnx-${size}-`));
  const files = exportOnnx(model, dir, { dtype: [...ONNX_DTYPES] });
  const ours = new TextClassificationPipeline(model, tokenizer);
  let base = { median: Infinity, mean: Infinity };
  let split = "";
  for (const [aten, blas] of [
    [threads, 1],
    [1, threads],
  ]) {
    torch.setNumThreads(aten);
    torch.setBlasThreads(blas);
    const t = await time((p) => ours(p));
    if (t.median < base.median) [base, split] = [t, `${aten}/${blas}`];
  }
  console.log(`\n${size} BERT (${(model.numParameters() / 1e6).toFixed(1)}M parameters)`);
  console.log("| runtime | file | size | ms/pair (median) | ms/pair (mean) | vs libtorch |");
  console.log("|---|---|---|---|---|---|");
  console.log(
    `| libtorch pipeline (fp32, threads ATen/OpenBLAS ${split}) | safetensors | ${((model.numParameters() * 4) / 2 ** 20).toFixed(1)} MiB | ${base.median.toFixed(2)} | ${base.mean.toFixed(2)} | 1.00× |`,
  );
  for (const f of files.filter((f) => f.path.endsWith(".onnx"))) {
    const session = await ort.InferenceSession.create(readFileSync(f.path), {
      graphOptimizationLevel: "all",
      intraOpNumThreads: threads,
      interOpNumThreads: 1,
    });
    const t = await time(async (p) => {
      const enc = tokenizer(p.text, p.textPair, { truncation: true });
      const tensor = (row: number[]) =>
        new ort.Tensor(
          "int64",
          BigInt64Array.from(row, (v) => BigInt(v)),
          [1, row.length],
        );
      const out = await session.run({
        input_ids: tensor(enc.input_ids),
        attention_mask: tensor(enc.attention_mask),
        token_type_ids: tensor(enc.token_type_ids!),
      });
      return out.logits.data;
    });
    console.log(
      `| onnxruntime-node | ${f.path.slice(dir.length + 1)} | ${(f.bytes / 2 ** 20).toFixed(1)} MiB | ${t.median.toFixed(2)} | ${t.mean.toFixed(2)} | ${(base.median / t.median).toFixed(2)}× |`,
    );
    await session.release();
  }
}
