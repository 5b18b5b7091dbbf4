// The causal LMs equal PyTorch goldens written from transformers 5's modeling files
// (scripts/golden/decoders.py): GPT-2, Llama with GQA and default/linear/dynamic/llama3 RoPE, Qwen2's
// biases and sliding-window layer, Qwen3's q/k norms and explicit head_dim, Mistral's sliding window —
// logits, ForCausalLMLoss (mean, and the sum over num_items_in_batch) and every gradient, on a batch
// with right and left padding, eager and SDPA (whose left-padded rows differ from eager's on torch >= 2.5,
// as transformers' do; scripts/golden/check_against_transformers.py checks both goldens against
// transformers itself); tied heads saved once; HF's errors for bad configs and long inputs.
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as torch from "../src/torch/index.js";
import { AutoModel, AutoModelForCausalLM, causalLmLoss } from "../src/models/index.js";
import { assertClose, fixture, sdpaGolden } from "./helpers.js";

const dir = (...p: string[]) => fixture("golden", "decoders", ...p);
const NAMES = ["gpt2", "llama-llama3", "llama-linear", "llama-dynamic", "qwen2", "qwen3", "mistral"];

// SDPA's left-padded rows: 0 from torch 2.5 on, as in transformers (sdpaGolden says which golden).
const sdpaFile = sdpaGolden();

for (const name of NAMES) {
  for (const attn of ["sdpa", "eager"] as const) {
    const golden = attn === "eager" ? "expected" : sdpaFile;
    const skip = golden ? false : `libtorch ${torch.torchVersion}: HF's sdpa masks for torch < 2.5 (allow_torch_fix) have no golden`;
    test(`${name} (${attn}): logits, loss (mean and over num_items_in_batch) and every gradient equal PyTorch`, { skip }, async () => {
      const inputs = Object.fromEntries(torch.loadFile(dir("inputs.safetensors")));
      const expected = torch.loadFile(dir(name, `${golden}.safetensors`));
      const model = await AutoModelForCausalLM.fromPretrained(dir(name), { attnImplementation: attn });
      model.train();
      torch.tidy(() => {
        const out = model.forward(inputs);
        assertClose(out.logits, expected.get("logits")!, { rtol: 1e-5, atol: 1e-5, what: `${name} logits` });
        assertClose(out.loss!.reshape(1), expected.get("loss")!, { rtol: 1e-5, atol: 1e-6, what: `${name} loss` });
        const summed = causalLmLoss(out.logits, inputs.labels, { numItemsInBatch: torch.tensor(7) });
        assertClose(summed.reshape(1), expected.get("loss_num_items_7")!, { rtol: 1e-5, atol: 1e-6, what: `${name} loss / num_items_in_batch` });
        out.loss!.backward();
      });
      const grads = [...expected.keys()].filter((k) => k.startsWith("grad.")).map((k) => k.slice(5));
      const ours = new Map(model.namedParameters());
      assert.deepEqual([...ours.keys()].sort(), grads.sort(), `${name}: HF's parameter names (a tied head once)`);
      for (const [n, p] of ours) torch.tidy(() => assertClose(p.grad!, expected.get(`grad.${n}`)!, { rtol: 1e-4, atol: 1e-5, what: `${name} grad of ${n}` }));
      torch.dispose([inputs, expected, model.parameters()]);
    });
  }
}

test("a tied head is saved once and loads back; untied heads are saved", async () => {
  for (const [name, tied] of [
    ["gpt2", true],
    ["qwen3", true],
    ["mistral", false],
  ] as const) {
    const model = await AutoModelForCausalLM.fromPretrained(dir(name));
    const out = mkdtempSync(join(tmpdir(), `ft-${name}-`));
    model.savePretrained(out);
    const keys = new torch.SafetensorsFile(join(out, "model.safetensors")).keys();
    assert.equal(keys.includes("lm_head.weight"), !tied, `${name}: lm_head.weight ${tied ? "not " : ""}saved`);
    const back = await AutoModelForCausalLM.fromPretrained(out);
    const ids = torch.tensor([[5, 6, 7]]);
    torch.tidy(() => assert.ok(back.forward({ input_ids: ids }).logits.equal(model.forward({ input_ids: ids }).logits), name));
    torch.dispose([model.parameters(), back.parameters()]);
  }
});

test("HF's errors: an unknown model_type or RoPE type names the supported ones; a prompt past the positions is refused", async () => {
  assert.throws(
    () => AutoModelForCausalLM.fromConfig({ model_type: "falcon" }),
    /Unrecognized model type 'falcon': should be one of .*gpt2, llama, qwen2, qwen3, mistral/,
  );
  assert.throws(
    () => AutoModelForCausalLM.fromConfig({ model_type: "bert" }),
    /AutoModelForCausalLM: model_type 'bert'\. Model type should be one of gpt2, llama, qwen2, qwen3, mistral/,
  );
  const small = {
    model_type: "llama",
    vocab_size: 20,
    hidden_size: 8,
    intermediate_size: 8,
    num_hidden_layers: 1,
    num_attention_heads: 2,
    max_position_embeddings: 4,
  };
  assert.throws(
    () => AutoModel.fromConfig({ ...small, rope_scaling: { rope_type: "yarn", factor: 2 } }),
    /Unrecognized RoPE type 'yarn'.*supported are default, linear, dynamic, llama3/,
  );
  assert.throws(() => AutoModel.fromConfig({ ...small, rope_scaling: { rope_type: "llama3", factor: 2 } }), /RoPE type 'llama3' needs 'low_freq_factor'/);
  assert.throws(() => AutoModel.fromConfig(small).forward({ input_ids: torch.tensor([[1, 2, 3, 4, 5]]) }), /position 5, past max_position_embeddings \(4\)/);
  const gpt2 = AutoModelForCausalLM.fromConfig({ model_type: "gpt2", vocab_size: 20, n_embd: 8, n_layer: 1, n_head: 2, n_positions: 4 });
  assert.throws(() => gpt2.forward({ input_ids: torch.tensor([[1, 2, 3, 4, 5]]) }), /position 5, past n_positions \(4\)/);
  assert.throws(() => gpt2.forward({ input_ids: torch.tensor([[1, 25]]) }), /25/);
});

test("a bf16 checkpoint: dtype 'auto' reads transformers 5's `dtype` key (or the older torch_dtype) and gives the same logits in bf16", async () => {
  const { readFileSync: read, writeFileSync: write } = await import("node:fs");
  const model = await AutoModelForCausalLM.fromPretrained(dir("qwen3"));
  model.to({ dtype: "bfloat16" });
  const out = mkdtempSync(join(tmpdir(), "ft-bf16-"));
  model.savePretrained(out);
  const config = JSON.parse(read(join(out, "config.json"), "utf8")) as Record<string, unknown>;
  delete config.torch_dtype;
  write(join(out, "config.json"), JSON.stringify({ ...config, dtype: "bfloat16" }));
  const back = await AutoModelForCausalLM.fromPretrained(out, { dtype: "auto" });
  assert.equal(back.parameters()[0].dtype, "bfloat16");
  const ids = torch.tensor([[5, 6, 7, 8]]);
  torch.tidy(() => assert.ok(back.forward({ input_ids: ids }).logits.equal(model.forward({ input_ids: ids }).logits)));
  const asFloat = await AutoModelForCausalLM.fromPretrained(out);
  assert.equal(asFloat.parameters()[0].dtype, "float32", "without dtype the weights are float32");
  torch.dispose([model.parameters(), back.parameters(), asFloat.parameters()]);
});
