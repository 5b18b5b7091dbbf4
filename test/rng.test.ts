// The same seed gives PyTorch's draws and PyTorch's initialised layers (fixture: scripts/golden/rng.py).
import { test } from "node:test";
import assert from "node:assert/strict";
import * as torch from "../src/torch/index.js";
import { Embedding, Linear } from "../src/nn/index.js";
import { fixture } from "./helpers.js";

test("manualSeed(1234) reproduces torch's randn, rand, randint, randperm, Linear, Embedding and dropout", () => {
  const want = torch.loadFile(fixture("golden", "rng.safetensors"));
  torch.tidy(() => {
    torch.manualSeed(1234);
    assert.ok(torch.randn([5]).equal(want.get("randn")!), "randn");
    assert.ok(torch.rand([2, 3]).equal(want.get("rand")!), "rand");
    assert.ok(torch.randint(0, 10, [6]).equal(want.get("randint")!), "randint");
    assert.ok(torch.randperm(7).equal(want.get("randperm")!), "randperm");
    const lin = new Linear(4, 3);
    assert.ok(lin.weight.equal(want.get("linear.weight")!), "Linear weight (kaiming uniform)");
    assert.ok(lin.bias!.equal(want.get("linear.bias")!), "Linear bias");
    const emb = new Embedding(6, 4, { paddingIdx: 0 });
    assert.ok(emb.weight.equal(want.get("embedding.weight")!), "Embedding weight with zero padding row");
    assert.ok(torch.dropout(torch.ones([2, 5]), 0.5, true).equal(want.get("dropout")!), "dropout mask");
    torch.dispose([lin.parameters(), emb.parameters()]);
  });
  torch.dispose(want);
});
