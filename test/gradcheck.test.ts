// Finite-difference checks of libtorch's gradients for every op that has a backward, in float64:
// d/dx of sum(op(x) · w) by autograd equals central differences.
import "./hermetic.js";
import { test } from "node:test";
import assert from "node:assert/strict";
import * as torch from "../src/torch/index.js";
import { F } from "../src/nn/index.js";
import type { Tensor } from "../src/torch/index.js";
import { DIFFERENTIABLE_OPS } from "../src/torch/ops_gen.js";

type Op = (...xs: Tensor[]) => Tensor;

function gradcheck(name: string, op: Op, shapes: number[][], o: { positive?: boolean; seed?: number } = {}): void {
  torch.manualSeed(7);
  const base = shapes.map((s) => {
    const r = torch.randn(s, { dtype: "float64" });
    const v = o.positive ? r.abs().add(0.5) : r;
    return Float64Array.from(v.dataSync() as Float64Array);
  });
  const make = (vals: Float64Array[], grad: boolean) => vals.map((v, i) => torch.tensor(v, { shape: shapes[i], requiresGrad: grad }));
  // Ops that draw random numbers (dropout) are reseeded before every evaluation.
  const evalOp = (xs: Tensor[]) => {
    torch.manualSeed(o.seed ?? 11);
    return op(...xs);
  };
  torch.tidy(() => {
    const xs = make(base, true);
    const out = evalOp(xs);
    torch.manualSeed(3);
    const w = torch.randn(out.shape, { dtype: "float64" });
    out.mul(w).sum().backward();
    const wv = w;
    const eps = 1e-6;
    base.forEach((vals, i) => {
      const analytic = xs[i].grad!.dataSync() as Float64Array;
      for (let j = 0; j < vals.length; j++) {
        const f = (delta: number) =>
          torch.tidy(() => {
            const pert = base.map((b) => Float64Array.from(b));
            pert[i][j] += delta;
            return torch.noGrad(() => evalOp(make(pert, false)).mul(wv).sum().item());
          });
        const numeric = (f(eps) - f(-eps)) / (2 * eps);
        const tol = 1e-5 + 1e-4 * Math.abs(numeric);
        assert.ok(Math.abs(numeric - analytic[j]) <= tol, `${name}: input ${i} element ${j}: autograd ${analytic[j]}, finite difference ${numeric}`);
      }
    });
  });
}

const s23 = [2, 3];
const cases: [string, Op, number[][], { positive?: boolean }?][] = [
  ["add", (a, b) => a.add(b, 2), [s23, [3]]],
  ["sub", (a, b) => a.sub(b), [s23, s23]],
  ["mul", (a, b) => a.mul(b), [s23, [2, 1]]],
  ["div", (a, b) => a.div(b), [s23, s23], { positive: true }],
  ["pow scalar", (a) => a.pow(3), [s23]],
  ["pow tensor", (a, b) => a.pow(b), [s23, s23], { positive: true }],
  ["rpow", (a) => a.rpow(2), [s23]],
  ["neg", (a) => a.neg(), [s23]],
  ["abs", (a) => a.abs(), [s23]],
  ["exp", (a) => a.exp(), [s23]],
  ["log", (a) => a.log(), [s23], { positive: true }],
  ["log1p", (a) => a.log1p(), [s23], { positive: true }],
  ["expm1", (a) => a.expm1(), [s23]],
  ["sqrt", (a) => a.sqrt(), [s23], { positive: true }],
  ["rsqrt", (a) => a.rsqrt(), [s23], { positive: true }],
  ["tanh", (a) => a.tanh(), [s23]],
  ["sigmoid", (a) => a.sigmoid(), [s23]],
  ["relu", (a) => a.relu(), [s23]],
  ["erf", (a) => a.erf(), [s23]],
  ["sin", (a) => a.sin(), [s23]],
  ["cos", (a) => a.cos(), [s23]],
  ["square", (a) => a.square(), [s23]],
  ["reciprocal", (a) => a.reciprocal(), [s23], { positive: true }],
  ["maximum", (a, b) => a.maximum(b), [s23, s23]],
  ["minimum", (a, b) => a.minimum(b), [s23, s23]],
  ["where", (a, b) => torch.where(a.gt(0), a, b), [s23, s23]],
  ["maskedFill", (a) => a.maskedFill(a.gt(0.5), 0), [s23]],
  ["clamp", (a) => a.clamp(-0.5, 0.5), [s23]],
  ["lerp", (a, b) => a.lerp(b, 0.3), [s23, s23]],
  ["reshape", (a) => a.reshape(3, 2), [s23]],
  ["view", (a) => a.view([6]), [s23]],
  ["permute", (a) => a.permute(2, 0, 1), [[2, 3, 2]]],
  ["transpose", (a) => a.transpose(0, 1), [s23]],
  ["squeeze/unsqueeze", (a) => a.unsqueeze(1).squeeze(1), [s23]],
  ["expand", (a) => a.expand(2, 4, 3), [[2, 1, 3]]],
  ["narrow", (a) => a.narrow(1, 1, 2), [s23]],
  ["select", (a) => a.select(1, 2), [s23]],
  ["slice", (a) => a.slice(1, 0, null, 2), [s23]],
  ["flatten", (a) => a.flatten(), [[2, 2, 2]]],
  ["indexSelect", (a) => a.indexSelect(1, torch.tensor([2, 0, 2])), [s23]],
  ["scatterRows", (a) => torch.scatterRows(a, torch.tensor([3, 0], { dtype: "int64" }), 5), [s23]],
  [
    "dropoutRows",
    (a) => {
      // The same noise at every evaluation: the draw is seeded.
      torch.manualSeed(3);
      return torch.dropoutRows(a, torch.tensor([3, 0], { dtype: "int64" }), 5, 0.4);
    },
    [s23],
  ],
  [
    "gather",
    (a) =>
      a.gather(
        1,
        torch.tensor([
          [0, 0],
          [2, 1],
        ]),
      ),
    [s23],
  ],
  ["scatter", (a, b) => a.scatter(1, torch.tensor([[2], [0]]), b), [s23, [2, 1]]],
  [
    "scatterAdd",
    (a, b) =>
      a.scatterAdd(
        1,
        torch.tensor([
          [2, 2],
          [0, 1],
        ]),
        b,
      ),
    [s23, [2, 2]],
  ],
  ["cat", (a, b) => torch.cat([a, b], 1), [s23, [2, 2]]],
  ["stack", (a, b) => torch.stack([a, b], 0), [s23, s23]],
  ["split", (a) => a.split([1, 2], 1)[1], [s23]],
  ["chunk", (a) => a.chunk(2, 0)[0], [[4, 2]]],
  ["tril", (a) => a.tril(), [[3, 3]]],
  ["triu", (a) => a.triu(1), [[3, 3]]],
  ["repeat", (a) => a.repeat(2, 1), [s23]],
  ["flip", (a) => a.flip([1]), [s23]],
  ["sum dim", (a) => a.sum(1, true), [s23]],
  ["mean", (a) => a.mean([0, 1]), [s23]],
  ["prod", (a) => a.prod(1), [s23]],
  ["max", (a) => a.max(1).values, [s23]],
  ["min", (a) => a.min(), [s23]],
  ["norm", (a) => a.norm(2, 1), [s23]],
  ["norm p=3", (a) => a.norm(3), [s23]],
  ["var", (a) => a.var(1), [s23]],
  ["std", (a) => a.std(null, { unbiased: false }), [s23]],
  ["logsumexp", (a) => a.logsumexp(1), [s23]],
  ["cumsum", (a) => a.cumsum(1), [s23]],
  [
    "matmul",
    (a, b) => a.matmul(b),
    [
      [2, 2, 3],
      [3, 4],
    ],
  ],
  ["mm", (a, b) => a.mm(b), [s23, [3, 2]]],
  [
    "bmm",
    (a, b) => a.bmm(b),
    [
      [2, 2, 3],
      [2, 3, 2],
    ],
  ],
  ["linear", (x, w, b) => torch.linear(x, w, b), [s23, [4, 3], [4]]],
  ["addmm", (c, a, b) => torch.addmm(c, a, b, { beta: 0.5, alpha: 2 }), [[2, 2], s23, [3, 2]]],
  [
    "baddbmm",
    (c, a, b) => torch.baddbmm(c, a, b, { beta: 0.5, alpha: 2 }),
    [
      [2, 2, 2],
      [2, 2, 3],
      [2, 3, 2],
    ],
  ],
  ["softmax", (a) => a.softmax(-1), [s23]],
  ["logSoftmax", (a) => a.logSoftmax(0), [s23]],
  ["layerNorm", (x, w, b) => torch.layerNorm(x, [3], w, b, 1e-5), [s23, [3], [3]]],
  ["gelu", (a) => torch.gelu(a), [s23]],
  ["gelu tanh", (a) => torch.gelu(a, "tanh"), [s23]],
  ["silu", (a) => torch.silu(a), [s23]],
  ["dropout", (a) => torch.dropout(a, 0.4, true), [[4, 4]]],
  [
    "embedding",
    (w) =>
      torch.embedding(
        torch.tensor([
          [0, 2],
          [2, 3],
        ]),
        w,
      ),
    [[4, 3]],
  ],
  ["crossEntropy", (x) => F.crossEntropy(x, torch.tensor([2, -100, 0]), { labelSmoothing: 0.1 }), [[3, 4]]],
  ["crossEntropy sum", (x) => F.crossEntropy(x, torch.tensor([1, 0]), { reduction: "sum" }), [[2, 3]]],
  ["mseLoss", (a, b) => F.mseLoss(a, b), [s23, s23]],
  [
    "bceWithLogits",
    (x) =>
      F.binaryCrossEntropyWithLogits(
        x,
        torch.tensor(
          [
            [1, 0, 1],
            [0, 0, 1],
          ],
          { dtype: "float64" },
        ),
      ),
    [s23],
  ],
  [
    "sdpa composed",
    (q, k, v) => F.scaledDotProductAttention(q, k, v, { composed: true, isCausal: true }),
    [
      [1, 3, 2],
      [1, 3, 2],
      [1, 3, 2],
    ],
  ],
  [
    "sdpa",
    (q, k, v) => F.scaledDotProductAttention(q, k, v, { attnMask: torch.tensor([[true, false, true]]) }),
    [
      [1, 3, 2],
      [1, 3, 2],
      [1, 3, 2],
    ],
  ],
  [
    "scaledDotProductAttention",
    (q, k, v) => torch.scaledDotProductAttention(q, k, v),
    [
      [1, 3, 2],
      [1, 3, 2],
      [1, 3, 2],
    ],
  ],
  ["atan2", (a, b) => a.atan2(b), [s23, s23], { positive: true }],
  ["outer", (a, b) => torch.outer(a, b), [[3], [2]]],
  ["nllLoss", (x) => F.nllLoss(x.logSoftmax(1), torch.tensor([2, 0])), [s23]],
  ["asStrided", (a) => a.asStrided([2, 2], [1, 2], 1), [s23]],
  [
    "maskedSelect",
    (a) =>
      a.maskedSelect(
        torch.tensor([
          [true, false, true],
          [false, true, true],
        ]),
      ),
    [s23],
  ],
  ["sort", (a) => a.sort(1).values, [s23]],
  ["topk", (a) => a.topk(2, 1).values, [s23]],
];

test("every op native/ops.yaml marks differentiable has a finite-difference check here", () => {
  const checked = new Set(cases.flatMap(([name]) => name.split(" ")[0].split("/")));
  assert.deepEqual(
    DIFFERENTIABLE_OPS.filter((op) => !checked.has(op)),
    [],
  );
});

for (const [name, op, shapes, o] of cases) {
  test(`gradcheck ${name}`, () => gradcheck(name, op, shapes, o));
}
