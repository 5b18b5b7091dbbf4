// bfloat16 matrix products through float32 GEMMs (torch.backends.cpu.bf16GemmInFp32, on by default where
// the CPU lacks bfloat16 arithmetic): the same result as libtorch's bfloat16 GEMM — operands rounded to
// bfloat16, float32 sums, the result rounded — up to the order of the sums (at most one bfloat16 step
// apart, nearly every element bit for bit), for each product op under autocast and on bfloat16
// operands; the same gradients through autocast's casts; float32 products untouched.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync, existsSync } from "node:fs";
import * as torch from "../src/torch/index.js";
import type { Tensor } from "../src/torch/index.js";

const BF16_STEP = 2 ** -7; // the gap between bfloat16 numbers, relative (8 significant bits)

function withSwitch<T>(on: boolean, fn: () => T): T {
  const prev = torch.backends.cpu.bf16GemmInFp32;
  torch.backends.cpu.bf16GemmInFp32 = on;
  try {
    return fn();
  } finally {
    torch.backends.cpu.bf16GemmInFp32 = prev;
  }
}

/** Elementwise within one bfloat16 step of the reference (relative to the larger magnitude), and bit-equal nearly everywhere. */
function assertSameBf16(actual: Tensor, expected: Tensor, what: string): void {
  assert.equal(actual.dtype, "bfloat16", `${what}: dtype`);
  assert.equal(expected.dtype, "bfloat16", `${what}: reference dtype`);
  assert.deepEqual(actual.shape, expected.shape, `${what}: shape`);
  torch.tidy(() => {
    const a = actual.float();
    const e = expected.float();
    const scale = a.abs().maximum(e.abs()).clamp(1e-3, Infinity);
    const worst = a.sub(e).abs().div(scale).max().item();
    assert.ok(worst <= BF16_STEP, `${what}: differs by ${worst} (relative) somewhere`);
    const equal = a.eq(e).float().mean().item();
    assert.ok(equal > 0.99, `${what}: only ${equal} of the elements are bit-equal`);
  });
}

test("the default follows the CPU: on where /proc/cpuinfo shows no AVX512-BF16 or AMX-BF16", () => {
  const info = existsSync("/proc/cpuinfo") ? readFileSync("/proc/cpuinfo", "utf8") : null;
  const native = info === null ? null : /\b(avx512_bf16|amx_bf16)\b/.test(info);
  assert.equal(torch.cpuHasBf16(), native);
  // The process started with the default (the tests do not change it at import).
  assert.equal(torch.backends.cpu.bf16GemmInFp32, native === false);
});

test("every product op, under autocast and on bfloat16 operands: the bfloat16 GEMM's result (operands rounded, exact products summed, one rounding)", () => {
  torch.manualSeed(0);
  const x = torch.randn([37, 64]);
  const w = torch.randn([48, 64]);
  const b = torch.randn([48]);
  const a3 = torch.randn([3, 37, 64]);
  const b3 = torch.randn([3, 64, 29]);
  const m2 = torch.randn([64, 29]);
  const bias2 = torch.randn([37, 29]);
  const bias3 = torch.randn([3, 37, 29]);
  // The reference, independently: float64 arithmetic on the operands rounded to bfloat16, then one rounding.
  const r = (t: Tensor) => t.to({ dtype: "bfloat16" }).to({ dtype: "float64" });
  const cases: [string, () => Tensor, () => Tensor][] = [
    ["linear", () => torch.linear(x, w, b), () => r(x).matmul(r(w).t()).add(r(b))],
    ["linear without bias", () => torch.linear(x, w, null), () => r(x).matmul(r(w).t())],
    ["matmul 2-d", () => x.matmul(m2), () => r(x).matmul(r(m2))],
    ["matmul batched", () => a3.matmul(b3), () => r(a3).matmul(r(b3))],
    ["mm", () => x.mm(m2), () => r(x).mm(r(m2))],
    ["bmm", () => a3.bmm(b3), () => r(a3).bmm(r(b3))],
    [
      "addmm",
      () => torch.addmm(bias2, x, m2, { beta: 0.5, alpha: 2 }),
      () =>
        r(bias2)
          .mul(0.5)
          .add(r(x).mm(r(m2)).mul(2)),
    ],
    ["baddbmm", () => torch.baddbmm(bias3, a3, b3, { alpha: 0.25 }), () => r(bias3).add(r(a3).bmm(r(b3)).mul(0.25))],
  ];
  for (const [name, op, reference] of cases) {
    const expected = reference().to({ dtype: "bfloat16" });
    assertSameBf16(
      withSwitch(true, () => torch.autocast({ deviceType: "cpu", dtype: "bfloat16" }, op)),
      expected,
      `${name} under autocast`,
    );
  }
  // Operands already bfloat16, no autocast.
  const [xb, wb, bb] = [x, w, b].map((t) => t.to({ dtype: "bfloat16" }));
  assertSameBf16(
    withSwitch(true, () => torch.linear(xb, wb, bb)),
    r(x).matmul(r(w).t()).add(r(b)).to({ dtype: "bfloat16" }),
    "linear on bfloat16 operands",
  );
  // float32 products outside autocast are libtorch's own, bit for bit.
  assert.ok(withSwitch(true, () => x.matmul(m2)).equal(withSwitch(false, () => x.matmul(m2))));
  assert.equal(withSwitch(true, () => x.matmul(m2)).dtype, "float32");
});

test("gradients through autocast: a two-layer step's weight and input gradients as with libtorch's bfloat16 GEMMs", () => {
  torch.manualSeed(1);
  const w1 = torch.randn([96, 64]).mul(0.1).requiresGrad_(true);
  const w2 = torch.randn([32, 96]).mul(0.1).requiresGrad_(true);
  const x0 = torch.randn([40, 64]);
  const step = (on: boolean) =>
    withSwitch(on, () => {
      const x = x0.clone().requiresGrad_(true);
      const loss = torch.autocast({ deviceType: "cpu", dtype: "bfloat16" }, () =>
        torch
          .linear(torch.linear(x, w1, null).tanh(), w2, null)
          .float()
          .pow(2)
          .sum(),
      );
      loss.backward();
      const out = { loss: loss.item(), w1: w1.grad!.clone(), w2: w2.grad!.clone(), x: x.grad!.clone() };
      for (const p of [w1, w2]) torch._native.setGrad(p.handle, null);
      return out;
    });
  const on = step(true);
  const off = step(false);
  assert.ok(Math.abs(on.loss - off.loss) <= 4 * BF16_STEP * Math.abs(off.loss), `loss ${on.loss} vs ${off.loss}`);
  for (const k of ["w1", "w2", "x"] as const) {
    assert.equal(on[k].dtype, "float32", k);
    torch.tidy(() => {
      const rel = on[k].sub(off[k]).norm().item() / off[k].norm().item();
      assert.ok(rel < 2 * BF16_STEP, `${k}: gradients differ by ${rel} (relative norm)`);
    });
  }
});
