// Optimizers, schedules, clipping and loss scaling against hand-computed values.
import { test } from "node:test";
import assert from "node:assert/strict";
import * as torch from "../src/torch/index.js";
import {
  AdamW,
  SGD,
  GradScaler,
  LambdaLR,
  clipGradNorm,
  getScheduler,
  warmupStepsFor,
  SCHEDULER_TYPES,
  saveOptimizerState,
  loadOptimizerState,
  type SchedulerType,
} from "../src/optim/index.js";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { assertClose, assertNumClose, fixture } from "./helpers.js";

function lrsOf(name: SchedulerType, steps: number[], o: { warmup: number; total: number; lr?: number; numCycles?: number; power?: number }): number[] {
  const p = torch.keep(torch.zeros([1], { requiresGrad: true }));
  const opt = new SGD([p], { lr: o.lr ?? 1 });
  const s = getScheduler(name, opt, { numWarmupSteps: o.warmup, numTrainingSteps: o.total, numCycles: o.numCycles, power: o.power });
  const out: number[] = [];
  for (let step = 0; step <= Math.max(...steps); step++) {
    if (steps.includes(step)) out.push(s.getLastLr()[0] / (o.lr ?? 1));
    s.step();
  }
  p.dispose();
  return out;
}

test("each LR schedule follows Hugging Face's formula (hand-computed points)", () => {
  const close = (a: number[], b: number[], what: string) => a.forEach((v, i) => assertNumClose(v, b[i], 1e-9, `${what}[${i}]`));
  close(lrsOf("linear", [0, 1, 2, 6, 10, 12], { warmup: 2, total: 10 }), [0, 0.5, 1, 0.5, 0, 0], "linear");
  close(lrsOf("cosine", [1, 4, 6, 10], { warmup: 2, total: 10 }), [0.5, 0.5 * (1 + Math.SQRT1_2), 0.5, 0], "cosine");
  close(lrsOf("cosine_with_restarts", [3, 5, 10], { warmup: 0, total: 10, numCycles: 2 }), [0.5 * (1 + Math.cos(0.6 * Math.PI)), 1, 0], "cosine_with_restarts");
  close(lrsOf("polynomial", [1, 6, 12], { warmup: 2, total: 10, lr: 1e-3, power: 2 }), [0.5, 0.250075, 1e-4], "polynomial");
  close(lrsOf("constant", [0, 7], { warmup: 3, total: 10 }), [1, 1], "constant");
  close(lrsOf("constant_with_warmup", [1, 4, 9], { warmup: 4, total: 10 }), [0.25, 1, 1], "constant_with_warmup");
  close(lrsOf("inverse_sqrt", [2, 4, 16], { warmup: 4, total: 10 }), [0.5, 1, 0.5], "inverse_sqrt");
  close(lrsOf("inverse_sqrt", [20000], { warmup: 0, total: 10 }), [1 / Math.sqrt(3)], "inverse_sqrt without warmup uses timescale 10000");
  assert.deepEqual(SCHEDULER_TYPES.length, 7);
  assert.equal(warmupStepsFor(1377, { warmupRatio: 0.1 }), 138);
  assert.equal(warmupStepsFor(1377, { warmupSteps: 5, warmupRatio: 0.1 }), 5);
  // transformers 5: a warmup_steps below 1 is a ratio.
  assert.equal(warmupStepsFor(1377, { warmupSteps: 0.1 }), 138);
  assert.equal(warmupStepsFor(1377, { warmupSteps: 1 }), 1);
  const p = torch.zeros([1], { requiresGrad: true });
  assert.throws(() => getScheduler("exponential", new SGD([p])), /'exponential' is not a valid SchedulerType/);
  assert.throws(() => getScheduler("linear", new SGD([p]), { numWarmupSteps: 1 }), /linear requires `num_training_steps`/);
  assert.throws(() => getScheduler("cosine", new SGD([p])), /cosine requires `num_warmup_steps`/);
  p.dispose();
});

test("AdamW: one step by hand (decoupled decay, bias correction, eps outside the sqrt)", () => {
  const p = torch.tensor([1], { dtype: "float64", requiresGrad: true });
  const opt = new AdamW([p], { lr: 0.1, weightDecay: 0.1 });
  torch.tidy(() => p.mul(0.5).sum().backward());
  opt.step();
  // p ← 1·(1 − 0.1·0.1) = 0.99; m = 0.05, v = 0.00025; m̂/ (√v̂ + eps) = 0.5 / (0.5 + 1e-8)
  assertNumClose(p.item(), 0.99 - (0.1 * (0.05 / 0.1)) / (Math.sqrt(0.00025 / 0.001) + 1e-8), 1e-15, "p after one step");
  assert.throws(() => new AdamW([p], { betas: [1, 0.9] }), /invalid beta parameter at index 0: 1/);
  assert.throws(() => new AdamW([]), /empty parameter list/);
  assert.throws(() => new AdamW([{ params: [p] }, { params: [p] }]), /more than one parameter group/);
  opt.dispose();
  p.dispose();
});

test("SGD: momentum and Nesterov by hand", () => {
  for (const [nesterov, want] of [
    [false, [0.9, 0.71]],
    [true, [0.81, 1 - 0.19 - 0.1 * (1 + 0.9 * 1.9)]],
  ] as const) {
    const p = torch.tensor([1], { dtype: "float64", requiresGrad: true });
    const opt = new SGD([p], { lr: 0.1, momentum: 0.9, nesterov });
    for (const w of want) {
      opt.zeroGrad();
      torch.tidy(() => p.sum().backward());
      opt.step();
      assertNumClose(p.item(), w, 1e-12, `SGD nesterov=${nesterov}`);
    }
    opt.dispose();
    p.dispose();
  }
});

test("optimizer and scheduler state dicts resume exactly", () => {
  torch.manualSeed(0);
  const make = () => torch.randn([3, 2], { dtype: "float64", requiresGrad: true });
  const a = make();
  const b = torch.keep(a.detach().clone().requiresGrad_(true));
  const step = (p: torch.Tensor, opt: AdamW, s: LambdaLR) => {
    opt.zeroGrad();
    torch.tidy(() => p.pow(2).sum().backward());
    opt.step();
    s.step();
  };
  const optA = new AdamW([a], { lr: 0.1 });
  const sA = getScheduler("linear", optA, { numWarmupSteps: 1, numTrainingSteps: 10 });
  for (let i = 0; i < 3; i++) step(a, optA, sA);
  const optB = new AdamW([b], { lr: 0.1 });
  const sB = getScheduler("linear", optB, { numWarmupSteps: 1, numTrainingSteps: 10 });
  torch.noGrad(() => b.copy_(a));
  // Through a real file, as a checkpoint holds it.
  const file = join(mkdtempSync(join(tmpdir(), "ft-optim-")), "optimizer.safetensors");
  saveOptimizerState(optA, file);
  const loaded = loadOptimizerState(file);
  optB.loadStateDict(loaded);
  torch.dispose(loaded.state);
  assert.throws(() => loadOptimizerState(fixture("golden", "rng.safetensors")), /not an optimizer state/);
  sB.loadStateDict(sA.stateDict());
  assert.equal(optB.paramGroups[0].lr, optA.paramGroups[0].lr);
  step(a, optA, sA);
  step(b, optB, sB);
  assert.ok(a.equal(b), "the resumed run matches bit for bit");
  assert.equal(optB.stateDict().state[0].step, 4);
  optA.dispose();
  optB.dispose();
  torch.dispose([a, b]);
});

test("clipGradNorm returns the total norm and scales gradients to maxNorm", () => {
  const p1 = torch.zeros([2], { dtype: "float64", requiresGrad: true });
  const p2 = torch.zeros([1], { dtype: "float64", requiresGrad: true });
  torch.tidy(() =>
    p1
      .mul(torch.tensor([3, 4], { dtype: "float64" }))
      .sum()
      .add(p2.mul(12).sum())
      .backward(),
  );
  const total = clipGradNorm([p1, p2], 6.5);
  assertNumClose(total, 13, 1e-12, "total norm");
  const coef = 6.5 / (13 + 1e-6);
  torch.tidy(() => {
    assert.ok(p1.grad!.allclose(torch.tensor([3 * coef, 4 * coef], { dtype: "float64" }), 1e-12, 0));
    assert.ok(p2.grad!.allclose(torch.tensor([12 * coef], { dtype: "float64" }), 1e-12, 0));
  });
  assertNumClose(clipGradNorm([p1, p2], 100), (6.5 / (13 + 1e-6)) * 13, 1e-12, "no clipping under the limit");
  torch.dispose([p1, p2]);
});

test("GradScaler: scales the loss, unscales, skips overflowed steps and adapts the scale", () => {
  const p = torch.tensor([1], { dtype: "float32", requiresGrad: true });
  const opt = new SGD([p], { lr: 0.5 });
  const scaler = new GradScaler({ initScale: 4, growthInterval: 2 });
  const run = (lossOf: (p: torch.Tensor) => torch.Tensor) => {
    opt.zeroGrad();
    torch.tidy(() => scaler.scaleLoss(lossOf(p)).backward());
    const stepped = scaler.step(opt);
    scaler.update();
    return stepped;
  };
  assert.equal(
    run((x) => x.sum()),
    true,
  );
  assert.equal(p.item(), 0.5, "the unscaled gradient (1) was applied");
  assert.equal(scaler.scale, 4);
  assert.equal(
    run((x) => x.mul(Infinity).sum()),
    false,
    "an inf gradient skips the step",
  );
  assert.equal(p.item(), 0.5);
  assert.equal(scaler.scale, 2, "and backs the scale off");
  run((x) => x.sum());
  run((x) => x.sum());
  assert.equal(scaler.scale, 4, "two clean steps grow it again");
  const sd = scaler.stateDict();
  const other = new GradScaler();
  other.loadStateDict(sd);
  assert.equal(other.scale, 4);
  opt.dispose();
  p.dispose();
});

test("AdamW fused (one pass per tensor) equals torch's op-by-op update to float rounding over 20 steps", () => {
  torch.manualSeed(5);
  const shapes = [[300, 128], [128], [7, 3]];
  const make = () => shapes.map((s) => torch.keep(torch.randn(s).requiresGrad_(true)));
  const a = make();
  const b = a.map((p) => torch.keep(p.detach().clone().requiresGrad_(true)));
  const exact = new AdamW(a, { lr: 1e-2, weightDecay: 0.1 });
  const fused = new AdamW(b, { lr: 1e-2, weightDecay: 0.1, fused: true });
  for (let step = 0; step < 20; step++) {
    torch.tidy(() => {
      const grads = shapes.map((s) => torch.randn(s));
      a.forEach((p, i) => (p.grad = torch.keep(grads[i].clone())));
      b.forEach((p, i) => (p.grad = torch.keep(grads[i].clone())));
    });
    exact.step();
    fused.step();
  }
  a.forEach((p, i) => assertClose(b[i], p, { rtol: 1e-5, atol: 1e-6, what: `parameter ${i}` }));
  for (const [k, s] of exact.state)
    assertClose(fused.state.get(b[a.indexOf(k)])!.exp_avg_sq as torch.Tensor, s.exp_avg_sq as torch.Tensor, { rtol: 1e-5, atol: 1e-9, what: "exp_avg_sq" });
  torch.dispose([a, b]);
  exact.dispose();
  fused.dispose();
});
