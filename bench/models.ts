// `npm run bench:models`: forward+backward of a bert-base-sized BertForSequenceClassification
// (random weights) at batch 8 × seq 128, fp32 and bf16 autocast, against the same model in
// python3-torch in the same run. Env: BENCH_STEPS (3), BENCH_CONFIGS ("1/2,2/1": ATen/OpenBLAS threads).
import { execFileSync } from "node:child_process";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import * as torch from "../src/torch/index.js";
import { AutoModelForSequenceClassification } from "../src/models/index.js";

const steps = Number(process.env.BENCH_STEPS ?? 3);
const script = join(dirname(fileURLToPath(import.meta.url)), "..", "..", "bench", "models_torch.py");
const configs = (process.env.BENCH_CONFIGS ?? "1/2,2/1").split(",").map((c) => c.split("/").map(Number) as [number, number]);

torch.manualSeed(0);
const model = AutoModelForSequenceClassification.fromConfig({
  model_type: "bert",
  vocab_size: 28996,
  hidden_size: 768,
  num_hidden_layers: 12,
  num_attention_heads: 12,
  intermediate_size: 3072,
  num_labels: 2,
  _attn_implementation: "eager",
});
model.train();
const ids = torch.keep(torch.randint(1, 28996, [8, 128]));
const mask = torch.keep(torch.ones([8, 128], { dtype: "int64" }));
const types = torch.keep(torch.zeros([8, 128], { dtype: "int64" }));
const labels = torch.keep(torch.randint(0, 2, [8]));

function ours(bf16: boolean): number {
  const step = () => {
    model.zeroGrad();
    torch.tidy(() => {
      const run = () => model.forward({ input_ids: ids, attention_mask: mask, token_type_ids: types, labels }).loss!;
      (bf16 ? torch.autocast({ deviceType: "cpu", dtype: "bfloat16" }, run) : run()).backward();
    });
  };
  step();
  const t = performance.now();
  for (let i = 0; i < steps; i++) step();
  return (performance.now() - t) / 1000 / steps;
}

console.log(
  `bert-base-sized BertForSequenceClassification (${(model.numParameters() / 1e6).toFixed(1)}M parameters), batch 8 x seq 128, fwd+bwd, mean of ${steps} steps`,
);
for (const [threads, blas] of configs) {
  const py = [process.env.PYTHON, "/usr/bin/python3", "python3"].find((p) => p) as string;
  const theirs = JSON.parse(
    execFileSync(py, [script, String(threads), String(blas), String(steps)])
      .toString()
      .trim()
      .split("\n")
      .pop()!,
  ) as Record<string, number>;
  torch.setNumThreads(threads);
  torch.setBlasThreads(blas);
  const rows = [
    ["fp32", ours(false), theirs.fp32],
    ["bf16 autocast", ours(true), theirs.bf16],
  ] as const;
  console.log(`\nATen threads ${threads}, OpenBLAS threads ${blas} — finetune-ts (libtorch ${torch.torchVersion}) vs PyTorch ${theirs.torch_version}`);
  console.log("| precision     | finetune-ts (s/step) | PyTorch (s/step) | speed ratio |");
  console.log("|---------------|----------------------|------------------|-------------|");
  for (const [name, a, b] of rows)
    console.log(`| ${name.padEnd(13)} | ${a.toFixed(3).padStart(20)} | ${b.toFixed(3).padStart(16)} | ${(b / a).toFixed(2).padStart(10)}× |`);
}
