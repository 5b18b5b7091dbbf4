// ModernBERT equals a PyTorch golden written from transformers 5's modeling_modernbert.py
// (scripts/golden/modernbert.py): every head's logits, loss and gradients for a padded batch longer
// than the sliding window, with old (global/local_rope_theta) and new (rope_parameters, layer_types)
// config keys, cls and mean pooling, biases on and off; the windowing itself; HF's config errors.
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as torch from "../src/torch/index.js";
import {
  AutoModel,
  AutoModelForMaskedLM,
  AutoModelForQuestionAnswering,
  AutoModelForSequenceClassification,
  AutoModelForTokenClassification,
  type ModelOutput,
  type PreTrainedModel,
} from "../src/models/index.js";
import { assertClose, fixture, sdpaGolden } from "./helpers.js";

const dir = (...p: string[]) => fixture("golden", "modernbert", ...p);
type Loader = { fromPretrained(d: string, o?: { attnImplementation?: "eager" | "sdpa" }): Promise<PreTrainedModel> };
const CASES: [string, Loader, string, string[]][] = [
  ["mlm", AutoModelForMaskedLM, "mlm_labels", []],
  ["seqcls-cls", AutoModelForSequenceClassification, "seq_labels", []],
  ["seqcls-mean", AutoModelForSequenceClassification, "seq_labels", []],
  ["tokcls", AutoModelForTokenClassification, "tok_labels", []],
  ["qa", AutoModelForQuestionAnswering, "", ["start_positions", "end_positions"]],
];

// SDPA (the default) gives 0 to a padded query whose window holds only padding from torch 2.5 on, as
// transformers' does (expected_sdpa; scripts/golden/check_against_transformers.py checks both goldens
// against transformers itself); eager and libtorch without SDPA give eager's numbers.
const sdpaFile = sdpaGolden();

for (const [name, auto, labels, extra] of CASES) {
  for (const attn of ["sdpa", "eager"] as const) {
    const golden = attn === "eager" ? "expected" : sdpaFile;
    const skip = golden ? false : `libtorch ${torch.torchVersion}: HF's sdpa masks for torch < 2.5 have no golden`;
    test(`ModernBERT ${name} (${attn}): logits, loss and every gradient equal PyTorch (window 4 over 12 tokens, padding)`, { skip }, async () => {
      const all = torch.loadFile(dir("inputs.safetensors"));
      const expected = torch.loadFile(dir(name, `${golden}.safetensors`));
      const model = await auto.fromPretrained(dir(name), { attnImplementation: attn });
      model.train();
      const inputs: Record<string, torch.Tensor> = { input_ids: all.get("input_ids")!, attention_mask: all.get("attention_mask")! };
      if (labels) inputs.labels = all.get(labels)!;
      for (const k of extra) inputs[k] = all.get(k)!;
      torch.tidy(() => {
        const out: ModelOutput = model.forward(inputs);
        const logits = out.startLogits ? torch.stack([out.startLogits, out.endLogits!]) : out.logits!;
        assertClose(logits, expected.get("logits")!, { rtol: 1e-5, atol: 1e-5, what: `${name} logits` });
        assertClose(out.loss!.reshape(1), expected.get("loss")!, { rtol: 1e-5, atol: 1e-6, what: `${name} loss` });
        out.loss!.backward();
      });
      const grads = [...expected.keys()].filter((k) => k.startsWith("grad.")).map((k) => k.slice(5));
      const ours = new Map(model.namedParameters());
      assert.deepEqual([...ours.keys()].sort(), grads.sort(), `${name}: HF's parameter names`);
      for (const [n, p] of ours) torch.tidy(() => assertClose(p.grad!, expected.get(`grad.${n}`)!, { rtol: 1e-4, atol: 1e-6, what: `${name} grad of ${n}` }));
      torch.dispose([all, expected, model.parameters()]);
    });
  }
}

test("ModernBERT: local layers attend within ±local_attention/2, global layers everywhere; the tied decoder saves once", async () => {
  const all = torch.loadFile(dir("inputs.safetensors"));
  const model = await AutoModel.fromPretrained(dir("mlm"), { attnImplementation: "eager" });
  const out = torch.noGrad(() => model.forward({ input_ids: all.get("input_ids")!, attention_mask: all.get("attention_mask")! }, { outputAttentions: true }));
  const [global, local] = [out.attentions![0].toArray() as number[][][][], out.attentions![1].toArray() as number[][][][]];
  for (let i = 0; i < 12; i++) {
    for (let j = 0; j < 12; j++) {
      if (Math.abs(i - j) > 2) assert.equal(local[0][0][i][j], 0, `layer 1 (local): ${i} does not see ${j}`);
    }
  }
  assert.ok(global[0][0][0][11] > 0, "layer 0 (global) sees the whole sequence");
  assert.equal(global[1][0][0][8], 0, "padding is never attended");
  // SDPA and eager agree at the real tokens (a padded query whose window is all padding differs, as in transformers).
  const sdpa = await AutoModel.fromPretrained(dir("mlm"));
  torch.tidy(() => {
    const real = all.get("attention_mask")!.ne(0);
    const ofReal = (t: torch.Tensor) => t.maskedSelect(real.unsqueeze(2));
    const got = sdpa.forward({ input_ids: all.get("input_ids")!, attention_mask: all.get("attention_mask")! }).lastHiddenState!;
    assertClose(ofReal(got), ofReal(out.lastHiddenState!), { rtol: 1e-5, atol: 1e-5, what: "sdpa vs eager" });
  });
  const mlm = await AutoModelForMaskedLM.fromPretrained(dir("mlm"));
  const saved = mkdtempSync(join(tmpdir(), "ft-modernbert-"));
  mlm.savePretrained(saved);
  const keys = new torch.SafetensorsFile(join(saved, "model.safetensors")).keys();
  assert.ok(!keys.includes("decoder.weight") && keys.includes("decoder.bias") && keys.includes("model.embeddings.tok_embeddings.weight"));
  const back = await AutoModelForMaskedLM.fromPretrained(saved);
  torch.tidy(() => assert.ok(back.forward({ input_ids: all.get("input_ids")! }).logits.equal(mlm.forward({ input_ids: all.get("input_ids")! }).logits)));
  torch.dispose([all, out, model.parameters(), sdpa.parameters(), mlm.parameters(), back.parameters()]);
});

test("ModernBERT: HF's errors for a bad pooling, an unknown RoPE type, and a sequence past max_position_embeddings", () => {
  const base = {
    model_type: "modernbert",
    vocab_size: 20,
    pad_token_id: 0,
    hidden_size: 8,
    intermediate_size: 8,
    num_hidden_layers: 1,
    num_attention_heads: 2,
    max_position_embeddings: 8,
  };
  assert.throws(() => AutoModelForSequenceClassification.fromConfig({ ...base, classifier_pooling: "max" }), /should be either "cls" or "mean", but is max/);
  assert.throws(
    () =>
      AutoModel.fromConfig({ ...base, rope_parameters: { full_attention: { rope_type: "yarn", rope_theta: 10 } } }).forward({
        input_ids: torch.tensor([[1, 2]]),
      }),
    /rope_type 'yarn' for full_attention is not supported/,
  );
  assert.throws(
    () => AutoModel.fromConfig(base).forward({ input_ids: torch.zeros([1, 9], { dtype: "int64" }) }),
    /9 tokens is longer than max_position_embeddings \(8\)/,
  );
});
