// Padding-free packed rows, as transformers 5's masking_utils reads them: without an attention mask or
// a cache, position ids that restart mark sequences packed into one row, and no token attends across a
// boundary. Each sequence's logits in the packed row equal its logits alone; changing a neighbour's
// tokens changes nothing in the others; the loss with each sequence's first label ignored is the
// token-weighted mean of the sequences' losses.
import { test } from "node:test";
import assert from "node:assert/strict";
import * as torch from "../src/torch/index.js";
import { AutoModelForCausalLM, LlamaForCausalLM } from "../src/models/index.js";
import { assertClose, fixture } from "./helpers.js";

const seqs = [
  [5, 45, 17, 8, 93],
  [11, 56, 70],
  [7, 9, 3, 4, 2, 61, 33],
];

for (const name of ["llama-llama3", "mistral", "qwen3", "gpt2"]) {
  test(`${name}: a packed row's sequences see only themselves (logits, a perturbed neighbour, the loss)`, async () => {
    const model = await AutoModelForCausalLM.fromPretrained(fixture("golden", "decoders", name));
    model.eval();
    const packed = (rows: number[][]) => ({
      input_ids: torch.tensor([rows.flat()], { dtype: "int64" }),
      position_ids: torch.tensor([rows.flatMap((r) => r.map((_, i) => i))], { dtype: "int64" }),
    });
    torch.noGrad(() =>
      torch.tidy(() => {
        const logits = model.forward(packed(seqs)).logits!;
        let at = 0;
        for (const s of seqs) {
          const alone = model.forward({ input_ids: torch.tensor([s], { dtype: "int64" }) }).logits!;
          assertClose(logits.narrow(1, at, s.length), alone, { rtol: 1e-5, atol: 1e-5, what: `${name}: sequence at ${at}` });
          at += s.length;
        }
        // The middle sequence's tokens changed: the first and last sequences' logits stay bit for bit.
        const other = model.forward(packed([seqs[0], [90, 91, 92], seqs[2]])).logits!;
        assert.ok(other.narrow(1, 0, 5).equal(logits.narrow(1, 0, 5)), "first sequence moved");
        assert.ok(other.narrow(1, 8, 7).equal(logits.narrow(1, 8, 7)), "last sequence moved");
        assert.ok(!other.narrow(1, 5, 3).equal(logits.narrow(1, 5, 3)), "the perturbed sequence itself changes");
        // Labels with each sequence's first token ignored (TRL's padding-free collator): the packed loss is the
        // mean over all predicted tokens, i.e. the sequences' losses weighted by their token counts.
        const labels = torch.tensor([seqs.flatMap((s) => s.map((t, i) => (i === 0 ? -100 : t)))], { dtype: "int64" });
        const loss = model.forward({ ...packed(seqs), labels }).loss!.item();
        let sum = 0;
        let count = 0;
        for (const s of seqs) {
          const l = model.forward({ input_ids: torch.tensor([s], { dtype: "int64" }), labels: torch.tensor([s], { dtype: "int64" }) }).loss!.item();
          sum += l * (s.length - 1);
          count += s.length - 1;
        }
        assert.ok(Math.abs(loss - sum / count) <= 1e-5, `${name}: packed loss ${loss} vs ${sum / count}`);
        // Positions that never restart are one sequence: the plain causal mask (HF returns no packed mask).
        const plain = model.forward({ input_ids: torch.tensor([seqs.flat()], { dtype: "int64" }), position_ids: torch.arange(0, 15, 1).unsqueeze(0) }).logits!;
        assert.ok(plain.equal(model.forward({ input_ids: torch.tensor([seqs.flat()], { dtype: "int64" }) }).logits!));
      }),
    );
  });
}

for (const name of ["llama-llama3", "mistral", "qwen3"]) {
  test(`${name}: a packed row attending per sequence gives the masked row's logits and gradients (training, sliding windows included)`, async () => {
    const model = await AutoModelForCausalLM.fromPretrained(fixture("golden", "decoders", name));
    assert.ok(model instanceof LlamaForCausalLM);
    model.train();
    const inputs = () => ({
      input_ids: torch.tensor([seqs.flat()], { dtype: "int64" }),
      position_ids: torch.tensor([seqs.flatMap((r) => r.map((_, i) => i))], { dtype: "int64" }),
      labels: torch.tensor([seqs.flatMap((s) => s.map((t, i) => (i === 0 ? -100 : t)))], { dtype: "int64" }),
    });
    const run = (mode: "segments" | "mask") => {
      model.model.packedAttention = mode;
      model.zeroGrad();
      const out = model.forward(inputs());
      out.loss!.backward();
      return { logits: out.logits!, grads: model.parameters().map((p) => p.grad!.clone()) };
    };
    const mask = run("mask");
    const segments = run("segments");
    assertClose(segments.logits, mask.logits, { rtol: 1e-5, atol: 1e-5, what: `${name}: logits` });
    segments.grads.forEach((g, i) => assertClose(g, mask.grads[i], { rtol: 1e-5, atol: 1e-6, what: `${name}: gradient ${i}` }));
  });
}

test("attention dropout in training keeps the masked row (its draws are the masked row's), bit for bit", () => {
  torch.manualSeed(0);
  const model = AutoModelForCausalLM.fromConfig({
    model_type: "llama",
    vocab_size: 97,
    hidden_size: 32,
    intermediate_size: 40,
    num_hidden_layers: 2,
    num_attention_heads: 4,
    num_key_value_heads: 2,
    attention_dropout: 0.3,
  });
  assert.ok(model instanceof LlamaForCausalLM);
  model.train();
  const run = (mode: "segments" | "mask") => {
    model.model.packedAttention = mode;
    torch.manualSeed(4);
    return model.forward({
      input_ids: torch.tensor([seqs.flat()], { dtype: "int64" }),
      position_ids: torch.tensor([seqs.flatMap((r) => r.map((_, i) => i))], { dtype: "int64" }),
    }).logits!;
  };
  assert.ok(run("segments").equal(run("mask")));
});
