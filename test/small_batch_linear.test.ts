// The decoding path of linear() (native/src/linear_ops.cc): inputs of at most 8 rows without autograd
// or autocast go through a kernel of ours. Checked against float64 sums (an independent path: BLAS's
// dgemm), and shown not to touch what autograd, autocast or larger inputs get from at::linear.
import "./hermetic.js";
import { test } from "node:test";
import assert from "node:assert/strict";
import * as torch from "../src/torch/index.js";
import type { Tensor } from "../src/torch/index.js";

const available = torch.backends.cpu.smallBatchLinear;

/** at::linear with the path switched off (BLAS's GEMM, or ATen's own kernel for bf16). */
function plain(x: Tensor, w: Tensor, b: Tensor | null): Tensor {
  const was = torch.backends.cpu.smallBatchLinear;
  torch.backends.cpu.smallBatchLinear = false;
  try {
    return torch.linear(x, w, b);
  } finally {
    torch.backends.cpu.smallBatchLinear = was;
  }
}

/** The float64 result and the float64 sum of |x_i w_i| + |b|, which bounds float32's rounding error. */
function reference(x: Tensor, w: Tensor, b: Tensor | null): [Float64Array, Float64Array] {
  const xd = x.double(),
    wd = w.double(),
    bd = b?.double() ?? null;
  const exact = torch.linear(xd, wd, bd).dataSync() as Float64Array;
  const scale = torch.linear(xd.abs(), wd.abs(), bd?.abs() ?? null).dataSync() as Float64Array;
  return [exact, scale];
}

const SHAPES: [rows: number, inFeatures: number, outFeatures: number][] = [
  [1, 576, 1536], // a decoder's MLP at batch 1
  [1, 13, 9], // tails: 13 = 8 + 5 inputs, 9 = 8 + 1 outputs
  [2, 7, 3], // fewer inputs than a vector, fewer outputs than a block
  [3, 64, 1000], // an odd row count (a block of two and one) over several threads' chunks
  [5, 1, 17],
  [8, 576, 4097], // the largest row count on the path
];

test(
  "float32: within float32 rounding of the float64 result, for every row count and tail",
  { skip: !available && "this CPU has no AVX2 + FMA: the path is off" },
  () => {
    torch.manualSeed(0);
    let differsFromBlas = false;
    for (const [rows, inF, outF] of SHAPES) {
      for (const bias of [true, false]) {
        torch.tidy(() => {
          const x = torch.randn([rows, 1, inF]);
          const w = torch.randn([outF, inF]);
          const b = bias ? torch.randn([outF]) : null;
          const y = torch.noGrad(() => torch.linear(x, w, b));
          assert.deepEqual(y.shape, [rows, 1, outF]);
          assert.equal(y.dtype, "float32");
          const got = y.dataSync() as Float32Array;
          const [exact, scale] = reference(x, w, b);
          for (let k = 0; k < got.length; k++) {
            // Any order of float32 sums is within (inF + 1) · 2⁻²⁴ · Σ|x_i w_i| of the exact value.
            const bound = (inF + 2) * 2 ** -24 * scale[k];
            assert.ok(Math.abs(got[k] - exact[k]) <= bound, `[${rows}, ${inF}] → ${outF}, bias ${bias}: element ${k} is ${got[k]}, exact ${exact[k]}`);
          }
          const blas = plain(x, w, b).dataSync() as Float32Array;
          if (got.some((v, k) => v !== blas[k])) differsFromBlas = true;
        });
      }
    }
    // The kernel sums in its own order: somewhere it must differ from BLAS in the last bit, or the
    // path was never taken and this test checked BLAS against itself.
    assert.ok(differsFromBlas, "every result equals BLAS's bit for bit: the small-batch path did not run");
  },
);

test("bfloat16: the float64 result rounded once, to within one bfloat16 step", { skip: !available && "this CPU has no AVX2 + FMA: the path is off" }, () => {
  torch.manualSeed(1);
  for (const [rows, inF, outF] of SHAPES) {
    torch.tidy(() => {
      const x = torch.randn([rows, inF]).to({ dtype: "bfloat16" });
      const w = torch.randn([outF, inF]).to({ dtype: "bfloat16" });
      const b = torch.randn([outF]).to({ dtype: "bfloat16" });
      const y = torch.noGrad(() => torch.linear(x, w, b));
      assert.equal(y.dtype, "bfloat16");
      const got = y.float().dataSync() as Float32Array;
      const [exact] = reference(x, w, b);
      for (let k = 0; k < got.length; k++) {
        // One bfloat16 step at the exact value's magnitude: 2^(exponent − 7).
        const step = 2 ** (Math.floor(Math.log2(Math.max(Math.abs(exact[k]), 2 ** -126))) - 7);
        assert.ok(Math.abs(got[k] - exact[k]) <= step, `[${rows}, ${inF}] → ${outF}: element ${k} is ${got[k]}, exact ${exact[k]}`);
      }
    });
  }
});

test("autograd, autocast, 9 rows and other dtypes get at::linear's result bit for bit", () => {
  torch.manualSeed(2);
  torch.tidy(() => {
    const x = torch.randn([1, 576]);
    const w = torch.randn([1536, 576]).requiresGrad_(true);
    const b = torch.randn([1536]);
    // A parameter that records a gradient: at::linear, and the gradient flows.
    const y = torch.linear(x, w, b);
    assert.deepEqual(y.dataSync(), torch.noGrad(() => plain(x, w.detach(), b)).dataSync());
    y.sum().backward();
    assert.equal(w.grad!.sub(x).abs().max().item(), 0, "d sum(y) / dW: every row is x");
    const wd = w.detach();
    // Autocast casts to bfloat16 as at::linear does under it.
    const cast = torch.noGrad(() => torch.autocast({ deviceType: "cpu", dtype: "bfloat16" }, () => torch.linear(x, wd, b)));
    assert.equal(cast.dtype, "bfloat16");
    const castPlain = torch.noGrad(() => torch.autocast({ deviceType: "cpu", dtype: "bfloat16" }, () => plain(x, wd, b)));
    assert.deepEqual(cast.float().dataSync(), castPlain.float().dataSync());
    // Nine rows: BLAS's GEMM.
    const nine = torch.randn([9, 576]);
    assert.deepEqual(torch.noGrad(() => torch.linear(nine, wd, b)).dataSync(), plain(nine, wd, b).dataSync());
    // float64: not on the path.
    const xd = x.double(),
      w64 = wd.double();
    assert.deepEqual(torch.noGrad(() => torch.linear(xd, w64, null)).dataSync(), plain(xd, w64, null).dataSync());
  });
});

test("the switch turns the path off and reads back what it was set to", () => {
  const was = torch.backends.cpu.smallBatchLinear;
  try {
    torch.backends.cpu.smallBatchLinear = false;
    assert.equal(torch.backends.cpu.smallBatchLinear, false);
    torch.backends.cpu.smallBatchLinear = true;
    assert.equal(torch.backends.cpu.smallBatchLinear, available);
  } finally {
    torch.backends.cpu.smallBatchLinear = was;
  }
});
