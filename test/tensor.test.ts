// Tensor creation, dtypes, readback, views, math and errors, against hand-computed values.
import "./hermetic.js";
import { test } from "node:test";
import assert from "node:assert/strict";
import * as torch from "../src/torch/index.js";
import { native } from "../src/torch/native.js";
import type { DType } from "../src/torch/index.js";

test("tensor() infers shape and dtype like torch.tensor", () => {
  torch.tidy(() => {
    const i = torch.tensor([
      [1, 2, 3],
      [4, 5, 6],
    ]);
    assert.deepEqual([i.shape, i.dtype], [[2, 3], "int64"]);
    const f = torch.tensor([1.5, 2]);
    assert.equal(f.dtype, "float32");
    assert.equal(torch.tensor([true, false]).dtype, "bool");
    assert.deepEqual(torch.tensor(3.5).shape, []);
    assert.equal(torch.tensor(3.5).item(), 3.5);
    assert.equal(torch.tensor(new Int32Array([1, 2, 3, 4]), { shape: [2, 2] }).dtype, "int32");
    assert.deepEqual(torch.tensor(new Float64Array([1, 2, 3, 4]), { shape: [2, 2] }).toArray(), [
      [1, 2],
      [3, 4],
    ]);
    assert.deepEqual(torch.tensor([[1, 2]], { dtype: "float64" }).dataSync(), new Float64Array([1, 2]));
    assert.deepEqual(torch.tensor([]).shape, [0]);
    assert.equal(torch.tensor([0.1], { dtype: "float64" }).item(), 0.1, "float64 keeps every digit");
    assert.equal(torch.tensor([0.1]).item(), Math.fround(0.1), "the default is float32");
  });
});

test("every dtype round-trips through tensor(), to() and dataSync()", () => {
  const dtypes: DType[] = ["float32", "float16", "bfloat16", "float64", "int64", "int32", "int16", "int8", "uint8", "bool"];
  torch.tidy(() => {
    for (const d of dtypes) {
      const t = torch.tensor(
        [
          [0, 1],
          [1, 0],
        ],
        { dtype: d },
      );
      assert.equal(t.dtype, d);
      assert.deepEqual(
        t.to("float32").toArray(),
        [
          [0, 1],
          [1, 0],
        ],
        d,
      );
      if (d !== "bool") assert.equal(Number(t.dataSync()[1]), 1, d);
    }
    assert.deepEqual(torch.tensor([1.5, -2.25]).to("bfloat16").dataSync(), new Float32Array([1.5, -2.25]));
    assert.deepEqual(torch.tensor([1, 2]).dataSync(), new BigInt64Array([1n, 2n]));
    assert.deepEqual(torch.tensor([true, false]).toArray(), [true, false]);
  });
});

test("factories: zeros, ones, full, arange, eye, rand*, *Like", () => {
  torch.tidy(() => {
    assert.deepEqual(torch.zeros([2, 2]).toArray(), [
      [0, 0],
      [0, 0],
    ]);
    assert.deepEqual(torch.ones([3], { dtype: "int32" }).toArray(), [1, 1, 1]);
    assert.deepEqual(torch.full([2], 7).toArray(), [7, 7]);
    assert.deepEqual(torch.arange(4).toArray(), [0, 1, 2, 3]);
    assert.equal(torch.arange(4).dtype, "int64");
    assert.deepEqual(torch.arange(1, 2, 0.25).toArray(), [1, 1.25, 1.5, 1.75]);
    assert.deepEqual(torch.eye(2).toArray(), [
      [1, 0],
      [0, 1],
    ]);
    assert.deepEqual(torch.linspace(0, 1, 3).toArray(), [0, 0.5, 1]);
    const r = torch.rand([1000]);
    assert.ok(r.min().item() >= 0 && r.max().item() < 1);
    const ri = torch.randint(3, 5, [100]);
    assert.equal(ri.dtype, "int64");
    assert.ok(ri.min().item() >= 3 && ri.max().item() <= 4);
    const z = torch.zerosLike(torch.tensor([[1.5]]), { dtype: "float64" });
    assert.deepEqual([z.shape, z.dtype], [[1, 1], "float64"]);
    assert.deepEqual(torch.randperm(5).sort().values.toArray(), [0, 1, 2, 3, 4]);
    assert.throws(() => torch.zeros([2, -1]), /shape must be an array of non-negative integers/);
    assert.throws(() => torch.zeros([2], { dtype: "float8" }), /unknown dtype 'float8'/);
    assert.throws(() => torch.zeros([2], { device: "tpu" }), /device: expected "cpu", "cuda", "cuda:N" or "mps", got "tpu"/);
  });
});

test("broadcasting arithmetic with scalar overloads and Python's int/float promotion", () => {
  torch.tidy(() => {
    const a = torch.tensor(
      [
        [1, 2],
        [3, 4],
      ],
      { dtype: "float32" },
    );
    const b = torch.tensor([10, 20], { dtype: "float32" });
    assert.deepEqual(a.add(b).toArray(), [
      [11, 22],
      [13, 24],
    ]);
    assert.deepEqual(a.sub(b, 0.5).toArray(), [
      [-4, -8],
      [-2, -6],
    ]);
    assert.deepEqual(a.mul(2).toArray(), [
      [2, 4],
      [6, 8],
    ]);
    assert.deepEqual(
      a.div(b).toArray(),
      [
        [0.1, 0.1],
        [0.3, 0.2],
      ].map((r) => r.map((v) => Math.fround(v))),
    );
    assert.deepEqual(a.pow(2).toArray(), [
      [1, 4],
      [9, 16],
    ]);
    assert.deepEqual(a.rpow(2).toArray(), [
      [2, 4],
      [8, 16],
    ]);
    const i = torch.tensor([1, 2]);
    assert.equal(i.add(1).dtype, "int64");
    assert.equal(i.mul(0.5).dtype, "float32");
    assert.deepEqual(i.remainder(2).toArray(), [1, 0]);
    assert.deepEqual(a.gt(2).toArray(), [
      [false, false],
      [true, true],
    ]);
    assert.deepEqual(a.eq(b.div(5)).toArray(), [
      [false, false],
      [false, true],
    ]);
    assert.deepEqual(torch.where(a.gt(2), a, 0).toArray(), [
      [0, 0],
      [3, 4],
    ]);
    assert.deepEqual(a.maskedFill(a.lt(3), -1).toArray(), [
      [-1, -1],
      [3, 4],
    ]);
    assert.deepEqual(a.clamp(2, 3).toArray(), [
      [2, 2],
      [3, 3],
    ]);
    assert.deepEqual(a.clamp(null, 1.5).toArray(), [
      [1, 1.5],
      [1.5, 1.5],
    ]);
    assert.throws(() => a.clamp(), /at least one of min and max/);
    assert.deepEqual(torch.tensor([0, 1, 4]).to("float32").sqrt().toArray(), [0, 1, 2]);
    // JS has no 1.0 distinct from 1: whole numbers give int64 unless a dtype is given.
    assert.ok(
      torch
        .tensor([1, 2])
        .to("float32")
        .equal(torch.tensor([1.0, 2.0], { dtype: "float32" })),
    );
    assert.ok(torch.tensor([1, 2.0000001]).allclose(torch.tensor([1, 2], { dtype: "float32" })));
  });
});

test("views and indexing", () => {
  torch.tidy(() => {
    const x = torch.arange(24).reshape(2, 3, 4);
    assert.deepEqual(x.permute(2, 0, 1).shape, [4, 2, 3]);
    assert.deepEqual(x.transpose(0, 2).shape, [4, 3, 2]);
    assert.deepEqual(x.view(6, 4).shape, [6, 4]);
    assert.deepEqual(x.unsqueeze(0).shape, [1, 2, 3, 4]);
    assert.deepEqual(x.unsqueeze(0).squeeze(0).shape, [2, 3, 4]);
    assert.deepEqual(x.select(1, 2).toArray(), [
      [8, 9, 10, 11],
      [20, 21, 22, 23],
    ]);
    assert.deepEqual(x.narrow(2, 1, 2).select(0, 0).toArray(), [
      [1, 2],
      [5, 6],
      [9, 10],
    ]);
    assert.deepEqual(x.slice(2, -2).select(0, 1).select(0, 0).toArray(), [14, 15]);
    assert.deepEqual(x.slice(2, 0, null, 2).select(0, 0).select(0, 0).toArray(), [0, 2]);
    assert.deepEqual(
      torch
        .tensor([[1], [2]])
        .expand(2, 3)
        .toArray(),
      [
        [1, 1, 1],
        [2, 2, 2],
      ],
    );
    assert.equal(x.transpose(0, 1).isContiguous(), false);
    assert.equal(x.transpose(0, 1).contiguous().isContiguous(), true);
    const m = torch.tensor([
      [1, 2, 3],
      [4, 5, 6],
    ]);
    assert.deepEqual(m.indexSelect(1, torch.tensor([2, 0])).toArray(), [
      [3, 1],
      [6, 4],
    ]);
    assert.deepEqual(m.gather(1, torch.tensor([[0], [2]])).toArray(), [[1], [6]]);
    assert.deepEqual(
      torch
        .zeros([2, 3], { dtype: "int64" })
        .scatter(1, torch.tensor([[1], [2]]), 9)
        .toArray(),
      [
        [0, 9, 0],
        [0, 0, 9],
      ],
    );
    assert.deepEqual(torch.cat([m, m], 0).shape, [4, 3]);
    assert.deepEqual(torch.stack([m, m], 1).shape, [2, 2, 3]);
    assert.deepEqual(
      m.split(1, 1).map((t) => t.shape),
      [
        [2, 1],
        [2, 1],
        [2, 1],
      ],
    );
    assert.deepEqual(
      m.split([1, 2], 1).map((t) => t.toArray()),
      [
        [[1], [4]],
        [
          [2, 3],
          [5, 6],
        ],
      ],
    );
    assert.deepEqual(
      m.chunk(2, 0).map((t) => t.toArray()),
      [[[1, 2, 3]], [[4, 5, 6]]],
    );
    assert.deepEqual(torch.ones([3, 3]).tril().sum().item(), 6);
    assert.deepEqual(m.flip([1]).toArray(), [
      [3, 2, 1],
      [6, 5, 4],
    ]);
    assert.deepEqual(m.t().shape, [3, 2]);
    assert.deepEqual(m.flatten().toArray(), [1, 2, 3, 4, 5, 6]);
    assert.throws(() => m.view(4, 2), /shape '\[4, 2\]' is invalid for input of size 6/);
  });
});

test("reductions with dims and keepdim", () => {
  torch.tidy(() => {
    const m = torch.tensor(
      [
        [1, 5, 3],
        [4, 2, 6],
      ],
      { dtype: "float32" },
    );
    assert.equal(m.sum().item(), 21);
    assert.deepEqual(m.sum(0).toArray(), [5, 7, 9]);
    assert.deepEqual(m.sum(1, true).shape, [2, 1]);
    assert.deepEqual(m.mean(1).toArray(), [3, 4]);
    const { values, indices } = m.max(1);
    assert.deepEqual(
      [values.toArray(), indices.toArray()],
      [
        [5, 6],
        [1, 2],
      ],
    );
    assert.equal(m.max().item(), 6);
    assert.equal(m.min(0).values.toArray().toString(), "1,2,3");
    assert.deepEqual(m.argmax(-1).toArray(), [1, 2]);
    assert.equal(m.argmax().item(), 5);
    assert.deepEqual(m.argmin(0).toArray(), [0, 1, 0]);
    assert.equal(torch.tensor([3, 4], { dtype: "float32" }).norm().item(), 5);
    assert.equal(torch.tensor([3, -4], { dtype: "float32" }).norm(1).item(), 7);
    assert.equal(torch.tensor([1, 2, 3, 4], { dtype: "float32" }).var().item(), Math.fround(5 / 3));
    assert.ok(Math.abs(torch.tensor([1, 2, 3, 4], { dtype: "float32" }).std(null, { unbiased: false }).item() - Math.sqrt(1.25)) < 1e-6);
    assert.deepEqual(m.prod(1).toArray(), [15, 48]);
    assert.equal(m.gt(0).all().item(), 1);
    assert.deepEqual(m.cumsum(1).toArray(), [
      [1, 6, 9],
      [4, 6, 12],
    ]);
    assert.ok(Math.abs(m.logsumexp(1).select(0, 0).item() - Math.log(Math.exp(1) + Math.exp(5) + Math.exp(3))) < 1e-5);
    assert.deepEqual(m.topk(2, 1).indices.toArray(), [
      [1, 2],
      [2, 0],
    ]);
  });
});

test("products and nn ops by hand", () => {
  torch.tidy(() => {
    const a = torch.tensor(
      [
        [1, 2],
        [3, 4],
      ],
      { dtype: "float32" },
    );
    const b = torch.tensor(
      [
        [5, 6],
        [7, 8],
      ],
      { dtype: "float32" },
    );
    assert.deepEqual(a.matmul(b).toArray(), [
      [19, 22],
      [43, 50],
    ]);
    assert.deepEqual(a.mm(b).toArray(), [
      [19, 22],
      [43, 50],
    ]);
    assert.deepEqual(torch.linear(a, b, torch.tensor([1, 1], { dtype: "float32" })).toArray(), [
      [18, 24],
      [40, 54],
    ]);
    assert.deepEqual(torch.addmm(torch.ones([2, 2]), a, b, { beta: 2, alpha: 1 }).toArray(), [
      [21, 24],
      [45, 52],
    ]);
    const sm = torch
      .tensor([0, Math.log(3)])
      .softmax(0)
      .toArray() as number[];
    assert.ok(Math.abs(sm[0] - 0.25) < 1e-7 && Math.abs(sm[1] - 0.75) < 1e-7);
    const ln = torch.layerNorm(torch.tensor([[1, 3]], { dtype: "float32" }), [2], null, null, 0).toArray() as number[][];
    assert.deepEqual(ln, [[-1, 1]]);
    const g = torch.gelu(torch.tensor([1], { dtype: "float64" })).item();
    assert.ok(Math.abs(g - 0.8413447460685429) < 1e-12); // x·Φ(x) at 1
    const gt = torch.gelu(torch.tensor([1], { dtype: "float64" }), "tanh").item();
    assert.ok(Math.abs(gt - 0.5 * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (1 + 0.044715)))) < 1e-12);
    const ce = torch.crossEntropy(torch.tensor([[0, 0]], { dtype: "float32" }), torch.tensor([1])).item();
    assert.ok(Math.abs(ce - Math.log(2)) < 1e-6);
    const ignored = torch
      .crossEntropy(
        torch.tensor(
          [
            [0, 0],
            [5, 0],
          ],
          { dtype: "float32" },
        ),
        torch.tensor([1, -100]),
      )
      .item();
    assert.ok(Math.abs(ignored - Math.log(2)) < 1e-6, "ignoreIndex -100 rows leave the mean");
    // label smoothing 0.2 over 2 classes, uniform logits: still log 2.
    assert.ok(
      Math.abs(torch.crossEntropy(torch.tensor([[0, 0]], { dtype: "float32" }), torch.tensor([0]), { labelSmoothing: 0.2 }).item() - Math.log(2)) < 1e-6,
    );
    assert.equal(torch.mseLoss(torch.tensor([1, 2], { dtype: "float32" }), torch.tensor([3, 2], { dtype: "float32" })).item(), 2);
    const bce = torch.binaryCrossEntropyWithLogits(torch.tensor([0], { dtype: "float32" }), torch.tensor([1], { dtype: "float32" })).item();
    assert.ok(Math.abs(bce - Math.log(2)) < 1e-6);
    assert.deepEqual(
      torch
        .embedding(
          torch.tensor([2, 0]),
          torch.tensor(
            [
              [1, 1],
              [2, 2],
              [3, 3],
            ],
            { dtype: "float32" },
          ),
        )
        .toArray(),
      [
        [3, 3],
        [1, 1],
      ],
    );
    assert.throws(() => torch.crossEntropy(a, torch.tensor([0, 1]), { reduction: "avg" as never }), /reduction must be 'none', 'mean' or 'sum'/);
  });
});

test("dropout: identity in eval, zeroes about p and rescales in train", () => {
  torch.tidy(() => {
    const x = torch.ones([10000]);
    assert.ok(torch.dropout(x, 0.3, false).equal(x));
    const y = torch.dropout(x, 0.3, true);
    const kept = y.ne(0).sum().item();
    assert.ok(Math.abs(kept / 10000 - 0.7) < 0.03);
    assert.ok(Math.abs(y.max().item() - 1 / 0.7) < 1e-6);
  });
});

test("scaledDotProductAttention: masks, causal, and the composed path agree", () => {
  torch.tidy(() => {
    torch.manualSeed(0);
    const [q, k, v] = [torch.randn([2, 2, 4, 8]), torch.randn([2, 2, 5, 8]), torch.randn([2, 2, 5, 8])];
    const mask = torch.tensor([[true, true, false, true, false]]);
    const a = torch.scaledDotProductAttention(q, k, v, { attnMask: mask });
    const b = torch.scaledDotProductAttention(q, k, v, { attnMask: mask, composed: true });
    assert.ok(a.allclose(b, 1e-5, 1e-6));
    // By hand: masked keys get no weight, so changing their values changes nothing.
    const v2 = v.clone().indexSelect(2, torch.tensor([0, 1, 0, 3, 0]));
    assert.ok(torch.scaledDotProductAttention(q, k, v2, { attnMask: mask }).allclose(a, 1e-5, 1e-6));
    const qs = torch.randn([1, 1, 3, 4]);
    const causal = torch.scaledDotProductAttention(qs, qs, qs, { isCausal: true });
    const ks = qs.select(2, 0).unsqueeze(2);
    assert.ok(causal.select(2, 0).unsqueeze(2).allclose(ks, 1e-6, 1e-6), "first query attends only to itself");
    assert.throws(() => torch.scaledDotProductAttention(q, k, v, { attnMask: mask, isCausal: true }), /not both/);
  });
});

test("libtorch errors become JS errors with libtorch's message; bad handles never crash", () => {
  torch.tidy(() => {
    assert.throws(() => torch.zeros([2, 3]).matmul(torch.zeros([2, 3])), /mat1 and mat2 shapes cannot be multiplied \(2x3 and 2x3\)/);
    assert.throws(() => torch.ones([2]).add(torch.ones([3])), /size of tensor a \(2\) must match the size of tensor b \(3\)/);
    assert.throws(() => torch.tensor([[1, 2], [3]]), /ragged/);
    assert.throws(() => torch.tensor([1]).item.call(torch.ones([2])), /2 elements, not 1/);
    assert.throws(() => torch.ones([2]).to("cuda:7"), /./);
  });
  const fn = native as unknown as Record<string, (...a: unknown[]) => unknown>;
  assert.throws(() => fn.neg({}), /argument 0: expected a tensor handle/);
  assert.throws(() => fn.neg(42), /argument 0: expected a tensor handle/);
  assert.throws(() => fn.reshape(torch.ones([2]).handle, "x"), /argument 1: expected an array of integers/);
  assert.throws(() => fn.zeros([2], 999), /unsupported dtype code 999/);
  assert.throws(() => fn.cat([1, 2], 0), /array of tensor handles/);
  assert.throws(() => fn.to(torch.ones([1]).handle, "gpu:0"), /device string/i);
  const t = torch.ones([2]);
  const handle = t.handle;
  t.dispose();
  assert.throws(() => t.add(1), /this tensor was disposed/);
  assert.throws(() => fn.neg(handle), /the tensor was disposed/);
});

test("noGrad, enableGrad and autograd basics", () => {
  torch.tidy(() => {
    const x = torch.tensor([1, 2, 3], { dtype: "float32", requiresGrad: true });
    const y = torch.noGrad(() => x.mul(2));
    assert.equal(y.requiresGrad, false);
    const z = torch.noGrad(() => torch.enableGrad(() => x.mul(2)));
    assert.throws(() => torch.noGrad(async () => x.mul(2)), /noGrad\(fn\): fn returned a Promise; grad-mode scopes are synchronous/);
    assert.throws(() => torch.enableGrad(async () => 1), /enableGrad\(fn\): fn returned a Promise/);
    assert.equal(torch.isGradEnabled(), true, "the mode is restored after the refusal");
    assert.equal(z.requiresGrad, true);
    assert.equal(torch.isGradEnabled(), true);
    const loss = x.mul(x).sum();
    loss.backward();
    assert.deepEqual(x.grad!.toArray(), [2, 4, 6]);
    x.mul(x).sum().backward();
    assert.deepEqual(x.grad!.toArray(), [4, 8, 12], "gradients accumulate");
    x.grad = null;
    assert.equal(x.grad, null);
    const h = x.mul(3);
    h.retainGrad();
    h.sum().backward(undefined);
    assert.deepEqual(h.grad!.toArray(), [1, 1, 1]);
    assert.equal(x.isLeaf && !h.isLeaf, true);
    x.grad = null;
    x.mul(1).backward(torch.tensor([1, 0, 2], { dtype: "float32" }));
    assert.deepEqual(x.grad!.toArray(), [1, 0, 2]);
    assert.equal(x.detach().requiresGrad, false);
  });
});

test("autocast: bf16 matmul on CPU, nested scopes, state restored", () => {
  torch.tidy(() => {
    const a = torch.randn([4, 8]);
    const w = torch.randn([3, 8]);
    const out = torch.autocast({ deviceType: "cpu" }, () => {
      const y = torch.linear(a, w);
      assert.equal(y.dtype, "bfloat16");
      assert.equal(torch.isAutocastEnabled("cpu").enabled, true);
      const inner = torch.autocast({ deviceType: "cpu", enabled: false }, () => torch.linear(a, w));
      assert.equal(inner.dtype, "float32");
      assert.equal(torch.isAutocastEnabled("cpu").enabled, true);
      return y;
    });
    assert.equal(out.dtype, "bfloat16");
    assert.equal(torch.linear(a, w).dtype, "float32", "no autocast outside the scope");
    assert.equal(torch.isAutocastEnabled("cpu").enabled, false);
    const exact = torch.linear(a, w);
    assert.ok(
      torch
        .autocast({ deviceType: "cpu" }, () => torch.linear(a, w))
        .to("float32")
        .allclose(exact, 0.05, 0.1),
    );
    assert.throws(() => torch.autocast({ deviceType: "cpu", dtype: "float16" }, () => 0), /only bfloat16/);
  });
});

test("threads and devices are explicit settings", () => {
  const before = torch.getNumThreads();
  torch.setNumThreads(1);
  assert.equal(torch.getNumThreads(), 1);
  torch.setNumThreads(before);
  assert.throws(() => torch.setNumThreads(0), /integer >= 1/);
  const blas = torch.getBlasThreads();
  if (blas !== null) {
    assert.equal(torch.setBlasThreads(1), true);
    assert.equal(torch.getBlasThreads(), 1);
    torch.setBlasThreads(blas);
  }
  assert.equal(typeof torch.cuda.isAvailable(), "boolean");
  assert.equal(torch.cuda.deviceCount() > 0, torch.cuda.isAvailable());
  assert.match(torch.torchVersion, /^\d+\.\d+/);
});

test("torch.cuda's memory counters and torch.backends.cuda's switches: clear errors where they cannot apply", () => {
  assert.throws(() => torch.cuda.memoryAllocated("cpu"), /memory statistics are kept for CUDA devices, got 'cpu'/);
  if (!torch.cuda.isAvailable()) {
    assert.throws(() => torch.cuda.memoryAllocated(), /CUDA is not available/);
    assert.doesNotThrow(() => torch.cuda.emptyCache(), "emptyCache without CUDA does nothing, as in PyTorch");
  }
  const tf32 = torch.backends.cuda.matmul.allowTf32;
  assert.equal(tf32, false, "TF32 matmuls are off by default");
  torch.backends.cuda.matmul.allowTf32 = true;
  assert.equal(torch.backends.cuda.matmul.allowTf32, true);
  torch.backends.cuda.matmul.allowTf32 = tf32;
  assert.equal(torch.backends.cuda.matmul.allowTf32, false);
  if (torch._native.hasSdpa) {
    assert.equal(torch.backends.cuda.mathSdpEnabled(), true);
    torch.backends.cuda.enableMathSdp(false);
    assert.equal(torch.backends.cuda.mathSdpEnabled(), false);
    torch.backends.cuda.enableMathSdp(true);
  } else {
    assert.throws(() => torch.backends.cuda.enableFlashSdp(true), /needs libtorch >= 2\.0/);
  }
});

test("tidy frees what it does not return; keep() and nested scopes; dispose is idempotent", () => {
  const start = torch.liveTensors();
  const kept = torch.tidy(() => {
    const a = torch.ones([2]);
    const b = a.mul(2);
    torch.tidy(() => a.add(b));
    return { b, list: [a.add(1)] };
  });
  assert.equal(torch.liveTensors(), start + 2);
  assert.deepEqual(kept.b.toArray(), [2, 2]);
  torch.dispose(kept);
  assert.equal(torch.liveTensors(), start);
  const outer = torch.tidy(() => torch.keep(torch.zeros([1])));
  assert.equal(outer.isDisposed, false);
  outer.dispose();
  outer.dispose();
  assert.equal(torch.liveTensors(), start);
  assert.throws(() => torch.tidy(() => Promise.resolve(1)), /synchronous/);
  assert.throws(
    () =>
      torch.tidy(() => {
        torch.ones([1]);
        throw new Error("boom");
      }),
    /boom/,
  );
  assert.equal(torch.liveTensors(), start, "a throwing scope frees its tensors too");
  {
    using t = torch.ones([3]);
    assert.equal(t.numel(), 3);
  }
  assert.equal(torch.liveTensors(), start, "`using` disposes");
});

test("RNG state can be saved and restored for exact resume", () => {
  torch.tidy(() => {
    torch.manualSeed(5);
    const state = torch.getRngState();
    const a = torch.randn([4]);
    torch.setRngState(state);
    assert.ok(torch.randn([4]).equal(a));
    assert.throws(() => torch.setRngState(torch.zeros([3])), /uint8/);
  });
});

test("configureThreads: OMP_NUM_THREADS is honoured as PyTorch honours it; FINETUNE_THREADS and an explicit count win over it", async () => {
  const { withEnv } = await import("./helpers.js");
  const before = torch.getNumThreads();
  try {
    await withEnv({ OMP_NUM_THREADS: "1", FINETUNE_THREADS: undefined, LOCAL_WORLD_SIZE: undefined }, () =>
      assert.equal(torch.configureThreads({ precision: "fp32" }).threads, 1),
    );
    await withEnv({ OMP_NUM_THREADS: "1", FINETUNE_THREADS: "2" }, () => assert.equal(torch.configureThreads({ precision: "fp32" }).threads, 2));
    await withEnv({ OMP_NUM_THREADS: "1" }, () => assert.equal(torch.configureThreads({ threads: 2 }).threads, 2));
  } finally {
    torch.setNumThreads(before);
  }
});
