// `npm run bench`: the engine against python3-torch doing the same work in the same run, on the
// same machine and thread settings. Prints speed ratios (ours ÷ PyTorch's throughput: > 1 is faster).
// Env: BENCH_DEVICE (cpu), BENCH_CONFIGS ("2/1,1/2,2/2": ATen threads / OpenBLAS threads), PYTHON.
import { execFileSync } from "node:child_process";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import * as torch from "../src/torch/index.js";
import { Linear, Module, F } from "../src/nn/index.js";
import { EncoderLayer } from "../examples/tiny_encoder.js";
import { AdamW } from "../src/optim/index.js";
import type { Tensor } from "../src/torch/index.js";

type Results = Record<string, number | string>;
const device = process.env.BENCH_DEVICE ?? "cpu";

function sync(): void {
  if (device.startsWith("cuda")) torch.cuda.synchronize(device);
}

function timeit(fn: () => void, minTime = 1.0, warmup = 3): number {
  for (let i = 0; i < warmup; i++) fn();
  sync();
  let n = 0;
  const start = performance.now();
  for (;;) {
    fn();
    n++;
    if (n % 5 === 0 || n > 2) {
      sync();
      const elapsed = (performance.now() - start) / 1000;
      if (elapsed >= minTime) return elapsed / n;
    }
  }
}

class MLP extends Module {
  l1 = this.registerModule("l1", new Linear(512, 1024));
  l2 = this.registerModule("l2", new Linear(1024, 1024));
  l3 = this.registerModule("l3", new Linear(1024, 10));
  forward(x: Tensor): Tensor {
    return this.l3.forward(F.gelu(this.l2.forward(F.gelu(this.l1.forward(x)))));
  }
}

function trainStep(model: Module, loss: () => Tensor, autocast: boolean): number {
  const opt = new AdamW(model.parameters(), { lr: 1e-4 });
  const t = timeit(() => {
    opt.zeroGrad();
    torch.tidy(() => {
      const l = autocast ? torch.autocast({ deviceType: device.startsWith("cuda") ? "cuda" : "cpu", dtype: "bfloat16" }, loss) : loss();
      l.backward();
    });
    opt.step();
  }, 2.0);
  opt.dispose();
  return t;
}

function ours(threads: number, blas: number): Results {
  torch.setNumThreads(threads);
  torch.setBlasThreads(blas);
  const r: Results = {};
  torch.tidy(() => {
    const a = torch.ones([1], { device });
    const b = torch.ones([1], { device });
    const N = 20000;
    r.op_call_us =
      (timeit(
        () =>
          torch.tidy(() => {
            for (let i = 0; i < N; i++) a.add(b);
          }),
        1.0,
        1,
      ) /
        N) *
      1e6;
    for (const [dtype, name] of [
      ["float32", "fp32"],
      ["bfloat16", "bf16"],
    ] as const) {
      const x = torch.randn([1024, 1024], { device, dtype });
      const y = torch.randn([1024, 1024], { device, dtype });
      r[`matmul_${name}_gflops`] = (2 * 1024 ** 3) / timeit(() => x.matmul(y).dispose()) / 1e9;
    }
    torch.manualSeed(0);
    const mlp = new MLP().to({ device });
    const xm = torch.randn([64, 512], { device });
    const ym = torch.randint(0, 10, [64], { device });
    r.mlp_step_ms = trainStep(mlp, () => F.crossEntropy(mlp.forward(xm), ym), false) * 1e3;
    // The same eager attention math as the Python side (matmul, scale, mask, softmax, matmul).
    const enc = new EncoderLayer({ hidden_size: 256, num_heads: 4, intermediate_size: 1024, layer_norm_eps: 1e-12, attn_implementation: "eager" }).to({
      device,
    });
    const xe = torch.randn([8, 128, 256], { device });
    const mask = torch.zeros([8, 1, 1, 128], { device });
    r.encoder_step_fp32_ms = trainStep(enc, () => enc.forward(xe, mask).float().pow(2).mean(), false) * 1e3;
    r.encoder_step_bf16_ms = trainStep(enc, () => enc.forward(xe, mask).float().pow(2).mean(), true) * 1e3;
    torch.dispose([mlp.parameters(), enc.parameters()]);
  });
  r.torch_version = torch.torchVersion;
  return r;
}

function pytorch(threads: number, blas: number): Results {
  const script = join(dirname(fileURLToPath(import.meta.url)), "..", "..", "bench", "engine_torch.py");
  for (const py of [process.env.PYTHON, "/usr/bin/python3", "python3"].filter((p): p is string => !!p)) {
    try {
      const out = execFileSync(py, [script, String(threads), String(blas), device], { stdio: ["ignore", "pipe", "pipe"] });
      return JSON.parse(out.toString().trim().split("\n").pop()!) as Results;
    } catch (e) {
      if ((e as { code?: string }).code !== "ENOENT" && !String((e as Error).message).includes("No module named 'torch'")) throw e;
    }
  }
  throw new Error("no python3 with torch found: install python3-torch or set PYTHON");
}

const rows: [string, string, boolean][] = [
  ["op_call_us", "op call overhead (µs/op, 1-element add)", false],
  ["matmul_fp32_gflops", "matmul 1024² fp32 (GFLOP/s)", true],
  ["matmul_bf16_gflops", "matmul 1024² bf16 (GFLOP/s)", true],
  ["mlp_step_ms", "MLP 512-1024-1024-10, batch 64: fwd+bwd+AdamW (ms)", false],
  ["encoder_step_fp32_ms", "encoder layer b8 s128 h256: fwd+bwd+AdamW fp32 (ms)", false],
  ["encoder_step_bf16_ms", "encoder layer b8 s128 h256: fwd+bwd+AdamW bf16 autocast (ms)", false],
];

const configs = (process.env.BENCH_CONFIGS ?? "2/1,1/2,2/2").split(",").map((c) => c.split("/").map(Number) as [number, number]);
for (const [threads, blas] of configs) {
  const t = pytorch(threads, blas);
  const o = ours(threads, blas);
  console.log(`\n${device}, ATen threads ${threads}, OpenBLAS threads ${blas} — finetune-ts (libtorch ${o.torch_version}) vs PyTorch ${t.torch_version}`);
  console.log(`| ${"work".padEnd(62)} | ${"finetune-ts".padStart(11)} | ${"PyTorch".padStart(9)} | speed ratio |`);
  console.log(`|${"-".repeat(64)}|${"-".repeat(13)}|${"-".repeat(11)}|-------------|`);
  for (const [key, label, higherIsBetter] of rows) {
    const a = o[key] as number;
    const b = t[key] as number;
    const ratio = higherIsBetter ? a / b : b / a;
    console.log(`| ${label.padEnd(62)} | ${a.toFixed(2).padStart(11)} | ${b.toFixed(2).padStart(9)} | ${ratio.toFixed(2).padStart(10)}× |`);
  }
}
