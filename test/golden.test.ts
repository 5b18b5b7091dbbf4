// The engine equals PyTorch: a tiny 2-layer transformer encoder (fixtures written by
// scripts/golden/tiny_encoder.py with python3-torch) gives the same logits, loss, gradients,
// and parameters after 20 AdamW steps with warmup/decay and clipping.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import * as torch from "../src/torch/index.js";
import { AdamW, LambdaLR, clipGradNorm, linearScheduleWithWarmup } from "../src/optim/index.js";
import { TinyEncoder, type TinyEncoderConfig } from "../examples/tiny_encoder.js";
import { assertClose, assertNumClose, fixture } from "./helpers.js";

const dir = (f: string) => fixture("golden", "tiny_encoder", f);
const meta = JSON.parse(readFileSync(dir("meta.json"), "utf8")) as { config: TinyEncoderConfig; losses: number[]; grad_norms: number[]; lrs: number[] };

export function loadGoldenModel(device = "cpu"): { model: TinyEncoder; inputs: Map<string, torch.Tensor> } {
  const model = new TinyEncoder(meta.config);
  const weights = torch.loadFile(dir("weights.safetensors"));
  model.loadStateDict(weights);
  torch.dispose(weights);
  model.to({ device });
  model.eval();
  return { model, inputs: torch.loadFile(dir("inputs.safetensors"), { device }) };
}

export function runGolden(device: string): void {
  const { model, inputs } = loadGoldenModel(device);
  const expected = torch.loadFile(dir("forward_backward.safetensors"));
  const ids = inputs.get("input_ids")!;
  const mask = inputs.get("attention_mask")!;
  const labels = inputs.get("labels")!;

  torch.tidy(() => {
    const { logits, loss } = model.forward(ids, mask, labels);
    assertClose(logits, expected.get("logits")!, { rtol: 1e-5, atol: 1e-6, what: "logits" });
    assertClose(loss!.reshape(1), expected.get("loss")!, { rtol: 1e-5, atol: 1e-6, what: "loss" });
    loss!.backward();
  });
  for (const [name, p] of model.namedParameters()) {
    torch.tidy(() => assertClose(p.grad!, expected.get(`grad.${name}`)!, { rtol: 1e-4, atol: 1e-6, what: `grad of ${name}` }));
  }
  assert.equal([...model.namedParameters()].length, [...expected.keys()].filter((k) => k.startsWith("grad.")).length);

  // 20 AdamW steps with HF's weight-decay grouping, linear warmup/decay and clipping.
  model.zeroGrad();
  const named = [...model.namedParameters()];
  const noDecay = (n: string) => n.endsWith("bias") || n.includes("norm");
  const opt = new AdamW(
    [
      { params: named.filter(([n]) => !noDecay(n)).map(([, p]) => p), weight_decay: 0.01 },
      { params: named.filter(([n]) => noDecay(n)).map(([, p]) => p), weight_decay: 0 },
    ],
    { lr: 5e-3, betas: [0.9, 0.999], eps: 1e-8 },
  );
  const sched = new LambdaLR(opt, linearScheduleWithWarmup(5, 20));
  for (let step = 0; step < 20; step++) {
    opt.zeroGrad();
    const loss = torch.tidy(() => {
      const { loss } = model.forward(ids, mask, labels);
      loss!.backward();
      return loss!.item();
    });
    const norm = clipGradNorm(model.parameters(), 1.0);
    assertNumClose(sched.getLastLr()[0], meta.lrs[step], 1e-12, `lr at step ${step}`);
    opt.step();
    sched.step();
    assertNumClose(loss, meta.losses[step], 1e-4, `loss at step ${step}`);
    assertNumClose(norm, meta.grad_norms[step], 1e-4, `grad norm at step ${step}`);
  }
  // A key bias adds the same amount to every score of a query, which softmax cancels: its exact
  // gradient is 0, so both sides hold rounding noise (< 1e-6) that Adam's normalisation blows up to
  // ±lr per step. Its parameters after training are noise, compared by neither side; the gradient is.
  for (const [name] of named.filter(([n]) => n.endsWith("key.bias"))) {
    const g = expected.get(`grad.${name}`)!;
    assert.ok(torch.tidy(() => g.abs().max().item()) < 1e-6, `PyTorch's gradient of ${name} is ~0`);
  }
  const after = torch.loadFile(dir("after_adamw.safetensors"));
  for (const [name, p] of model.namedParameters()) {
    if (name.endsWith("key.bias")) continue; // see below
    assertClose(p, after.get(name)!, { rtol: 1e-4, atol: 1e-6, what: `${name} after 20 steps` });
  }
  opt.dispose();
  torch.dispose([expected, after, inputs, model.parameters()]);
}

test("tiny encoder on CPU equals PyTorch: logits, loss, every gradient, 20 AdamW steps", () => {
  runGolden("cpu");
});

test("tiny encoder on CUDA equals PyTorch", { skip: torch.cuda.isAvailable() ? false : "no CUDA device in this libtorch/machine" }, () => {
  runGolden("cuda");
});
