// Dropout's noise drawn in one pass (native/src/dropout_ops.cc) is libtorch's at::dropout bit for
// bit: the same outputs and gradients, and the generator left where bernoulli_ leaves it — checked
// against libtorch's own kernel (torch.backends.cpu.dropoutInOnePass off) and against PyTorch.
import { test } from "node:test";
import assert from "node:assert/strict";
import * as torch from "../src/torch/index.js";
import { F } from "../src/nn/index.js";

const cpu = torch.backends.cpu;

/** fn on two threads: the noise of a large tensor is tempered in pieces, one per thread. */
function onTwoThreads(fn: () => void): void {
  const before = torch.getNumThreads();
  torch.setNumThreads(2);
  try {
    torch.tidy(fn);
  } finally {
    torch.setNumThreads(before);
  }
}

/** Dropout of x under seed, with the next three uniform draws (where the generator was left) and x's gradient of Σ y·w. */
function drawn(x: torch.Tensor, p: number, seed: number, onePass: boolean, drawnBefore = 0): { y: torch.Tensor; next: torch.Tensor; grad: torch.Tensor } {
  const before = cpu.dropoutInOnePass;
  cpu.dropoutInOnePass = onePass;
  try {
    torch.manualSeed(seed);
    // Each float of torch.rand takes one mt19937 word: the dropout then starts inside a state block.
    if (drawnBefore > 0) torch.rand([drawnBefore]);
    const leaf = x.detach().requiresGrad_(true);
    const y = F.dropout(leaf, p, true);
    const next = torch.rand([3]);
    const w = torch.arange(0, y.numel()).reshape(y.shape).to("float32").sin().to(x.dtype);
    y.mul(w).sum().backward();
    return { y: y.detach(), next, grad: leaf.grad! };
  } finally {
    cpu.dropoutInOnePass = before;
  }
}

test("dropout in one pass equals libtorch's at::dropout bit for bit: outputs, gradients and the generator after", () => {
  assert.equal(cpu.dropoutInOnePass, true, "on by default");
  onTwoThreads(() => {
    torch.manualSeed(0);
    const shapes = [[1], [3, 5, 7], [8, 70, 128], [2, 2, 33, 33]];
    const cases = shapes.flatMap((shape) => (["float32", "float64", "bfloat16"] as const).map((dtype) => [shape, dtype] as const));
    for (const [shape, dtype] of cases) {
      for (const p of [0.1, 0.5, 0.9]) {
        const x = torch.randn(shape).to(dtype);
        const ours = drawn(x, p, 11, true);
        const theirs = drawn(x, p, 11, false);
        const what = `${dtype} [${shape}] p=${p}`;
        assert.ok(ours.y.equal(theirs.y), `${what}: outputs`);
        assert.ok(ours.grad.equal(theirs.grad), `${what}: gradients`);
        assert.ok(ours.next.equal(theirs.next), `${what}: the generator's next draws`);
        const kept = ours.y.ne(0).to("float32").mean().item();
        if (ours.y.numel() > 10000) assert.ok(Math.abs(kept - (1 - p)) < 0.02, `${what}: ${kept} kept`);
      }
    }
    // Started inside the generator's state block (an odd word, the block's last), and a tensor of more
    // than one chunk (2¹⁸ elements, drawn and then tempered chunk by chunk over the threads).
    for (const [shape, drawnBefore] of [
      [[5, 7], 1],
      [[3, 111], 622],
      [[2, 300, 500], 623],
      [[1, 1 << 18], 3],
    ] as const) {
      const x = torch.randn([...shape]);
      const ours = drawn(x, 0.1, 13, true, drawnBefore);
      const theirs = drawn(x, 0.1, 13, false, drawnBefore);
      assert.ok(ours.y.equal(theirs.y) && ours.next.equal(theirs.next), `[${shape}] after ${drawnBefore} words`);
    }
    // Not contiguous, and p at the ends, take libtorch's path and stay its numbers.
    const t = torch.randn([6, 9]).transpose(0, 1);
    assert.ok(drawn(t, 0.3, 5, true).y.equal(drawn(t, 0.3, 5, false).y), "transposed");
    assert.ok(drawn(t, 0, 5, true).y.equal(t), "p = 0");
    assert.equal(drawn(t, 1, 5, true).y.abs().sum().item(), 0, "p = 1");
  });
});

test("dropout in one pass draws PyTorch's mask for the same seed", () => {
  // PyTorch 1.13 and 2.13 (CPU, mt19937 path), the same:
  //   torch.manual_seed(7); y = torch.nn.functional.dropout(torch.ones(4, 6), 0.25); torch.rand(3)
  const mask = ["110100", "110011", "111010", "100011"];
  const next = [0.7368624210357666, 0.03311049938201904, 0.09137779474258423];
  torch.tidy(() => {
    torch.manualSeed(7);
    const y = F.dropout(torch.ones([4, 6]), 0.25, true);
    const rows = (y.toArray() as number[][]).map((r) => r.map((v) => (v > 0 ? "1" : "0")).join(""));
    assert.deepEqual(rows, mask);
    assert.equal(y.max().item(), Math.fround(1 / 0.75));
    assert.deepEqual(torch.rand([3]).toArray(), next.map(Math.fround));
  });
});

test("dropoutRows is libtorch's dropout of the whole [rows, h] tensor on index's rows: only those rows' noise written, every row's drawn", () => {
  onTwoThreads(() => {
    const rows = 9;
    const indexes: [string, number[]][] = [
      ["ascending", [0, 2, 3, 7]],
      ["unordered", [7, 0, 5]],
      ["repeated (drawn whole, then picked)", [4, 4, 1]],
      ["every row", [...Array(rows).keys()]],
      ["no row", []],
    ];
    for (const dtype of ["float32", "float64", "bfloat16"] as const) {
      for (const h of [1, 5, 700, 3000, 40000]) {
        const full = torch.randn([rows, h]).to(dtype);
        for (const [what, rowsKept] of indexes) {
          const index = torch.tensor(rowsKept, { dtype: "int64" });
          const x = full.indexSelect(0, index);
          const before = cpu.dropoutInOnePass;
          cpu.dropoutInOnePass = false;
          torch.manualSeed(3);
          const want = F.dropout(full, 0.3, true).indexSelect(0, index);
          const wantNext = torch.rand([3]);
          cpu.dropoutInOnePass = before;
          torch.manualSeed(3);
          const got = torch.dropoutRows(x, index, rows, 0.3);
          const gotNext = torch.rand([3]);
          const label = `${dtype} h=${h} ${what}`;
          assert.ok(got.equal(want), `${label}: the rows' outputs`);
          assert.ok(gotNext.equal(wantNext), `${label}: the generator after`);
        }
      }
    }
    assert.throws(() => torch.dropoutRows(torch.ones([1, 4]), torch.tensor([9], { dtype: "int64" }), 9, 0.3), /index 9 is outside the 9 rows/);
  });
});
