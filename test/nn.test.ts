// Module trees: HF-style dotted names, state dicts, train/eval, moves and layer behaviour.
import "./hermetic.js";
import { test } from "node:test";
import assert from "node:assert/strict";
import * as torch from "../src/torch/index.js";
import { Dropout, Embedding, LayerNorm, Linear, Module, ModuleList, init } from "../src/nn/index.js";

class Block extends Module {
  dense: Linear;
  LayerNorm: LayerNorm;
  dropout: Dropout;
  constructor() {
    super();
    this.dense = this.registerModule("dense", new Linear(4, 4));
    this.LayerNorm = this.registerModule("LayerNorm", new LayerNorm(4, { eps: 1e-12 }));
    this.dropout = this.registerModule("dropout", new Dropout(0.1));
  }
}
class Net extends Module {
  embeddings: Embedding;
  layer: ModuleList<Block>;
  constructor() {
    super();
    this.embeddings = this.registerModule("embeddings", new Embedding(10, 4, { paddingIdx: 0 }));
    this.layer = this.registerModule("layer", new ModuleList([new Block(), new Block()]));
    this.registerBuffer("position_ids", torch.arange(8).unsqueeze(0));
    this.registerBuffer("scratch", torch.zeros([1]), { persistent: false });
  }
}

test("dotted names, parameters, buffers and state dict keys as HF has them", () => {
  const net = new Net();
  assert.deepEqual(
    [...net.namedParameters()].map(([n]) => n),
    [
      "embeddings.weight",
      "layer.0.dense.weight",
      "layer.0.dense.bias",
      "layer.0.LayerNorm.weight",
      "layer.0.LayerNorm.bias",
      "layer.1.dense.weight",
      "layer.1.dense.bias",
      "layer.1.LayerNorm.weight",
      "layer.1.LayerNorm.bias",
    ],
  );
  assert.deepEqual(
    [...net.stateDict().keys()].filter((k) => !k.includes("layer.")),
    ["position_ids", "embeddings.weight"],
  );
  assert.equal([...net.stateDict().keys()].includes("scratch"), false, "non-persistent buffers stay out");
  assert.equal(net.numParameters(), 40 + 2 * (20 + 8));
  assert.ok(net.parameters().every((p) => p.requiresGrad));
  assert.equal(net.layer.length, 2);
  assert.throws(() => net.registerParameter("a.b", torch.zeros([1])), /without '\.'/);
  assert.throws(() => net.layer.at(5), /out of range/);
});

test("loadStateDict copies values and reports missing, unexpected and mismatched keys like PyTorch", () => {
  const a = new Net();
  const b = new Net();
  b.loadStateDict(a.stateDict());
  for (const [k, t] of a.stateDict()) assert.ok(t.equal(b.stateDict().get(k)!), k);
  const partial = new Map(a.stateDict());
  partial.delete("layer.1.dense.bias");
  partial.set("cls.bias", torch.zeros([2]));
  assert.throws(
    () => b.loadStateDict(partial),
    (e: Error) => {
      assert.match(e.message, /Error\(s\) in loading state_dict for Net/);
      assert.match(e.message, /Missing key\(s\) in state_dict: "layer.1.dense.bias"/);
      assert.match(e.message, /Unexpected key\(s\) in state_dict: "cls.bias"/);
      return true;
    },
  );
  assert.deepEqual(b.loadStateDict(partial, { strict: false }), { missingKeys: ["layer.1.dense.bias"], unexpectedKeys: ["cls.bias"] });
  const wrong = new Map(a.stateDict());
  wrong.set("embeddings.weight", torch.zeros([11, 4]));
  assert.throws(
    () => b.loadStateDict(wrong),
    /size mismatch for embeddings.weight: copying a param with shape \[11, 4\] from checkpoint, the shape in current model is \[10, 4\]/,
  );
});

test("train/eval reach every submodule; dropout follows them", () => {
  const net = new Net();
  net.eval();
  assert.ok([...net.namedModules()].every(([, m]) => !m.training));
  torch.tidy(() => {
    const x = torch.ones([100]);
    assert.equal(net.layer.at(0).dropout.forward(x), x, "eval dropout is the identity");
    net.train();
    assert.ok(
      net.layer
        .at(0)
        .dropout.forward(torch.ones([1000]))
        .eq(0)
        .any()
        .item(),
    );
  });
});

test("to(dtype) casts parameters in place, keeping identity and requiresGrad; integer buffers stay", () => {
  const net = new Net();
  const w = net.layer.at(0).dense.weight;
  net.to("float64");
  assert.equal(w.dtype, "float64");
  assert.equal(net.layer.at(0).dense.weight, w);
  assert.equal(w.requiresGrad, true);
  assert.equal(net.stateDict().get("position_ids")!.dtype, "int64");
  net.to({ dtype: "bfloat16" });
  assert.equal(w.dtype, "bfloat16");
  assert.equal(net.device, "cpu");
});

test("apply visits children before parents; init functions work in place", () => {
  const net = new Net();
  const order: string[] = [];
  net.apply((m) => order.push(m.constructor.name));
  assert.deepEqual(order.slice(-3), ["Block", "ModuleList", "Net"]);
  net.apply((m) => {
    if (m instanceof Linear) {
      init.normal_(m.weight, 0, 0.02);
      init.zeros_(m.bias!);
    }
    if (m instanceof LayerNorm) init.ones_(m.weight!);
  });
  const w = net.layer.at(1).dense.weight;
  torch.tidy(() => {
    assert.ok(w.std().item() < 0.05);
    assert.equal(net.layer.at(1).dense.bias!.abs().sum().item(), 0);
  });
  assert.throws(() => init.kaimingUniform_(torch.zeros([3])), /at least 2 dims/);
});

test("Embedding: the padding row starts at zero and gets no gradient", () => {
  const emb = new Embedding(5, 3, { paddingIdx: 0 });
  torch.tidy(() => {
    assert.equal(emb.weight.select(0, 0).abs().sum().item(), 0);
    emb
      .forward(torch.tensor([[0, 1, 0, 2]]))
      .sum()
      .backward();
    assert.deepEqual(emb.weight.grad!.select(0, 0).toArray(), [0, 0, 0]);
    assert.deepEqual(emb.weight.grad!.select(0, 1).toArray(), [1, 1, 1]);
  });
  assert.throws(() => new Embedding(5, 3, { paddingIdx: 5 }), /paddingIdx must be within \[-5, 5\)/);
  assert.throws(() => new Linear(0, 3), /inFeatures must be a positive integer/);
});
