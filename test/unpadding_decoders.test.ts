// Only real tokens computed in the causal LMs (models/unpadding.ts, causalLmForward): GPT-2's and the
// Llama family's LM heads run their decoder and the vocabulary projection on the real tokens' rows of
// a padded batch when the loss reads no padded position's logits. In training, with every dropout on,
// right- or left-padded, eager or SDPA, checkpointed or not: the loss, the real positions' logits and
// every gradient equal the padded computation's and the generator ends where it would. Where the
// labels read a padded position, without labels, or while LoRA's dropout draws, the padded path runs.
import { test } from "node:test";
import assert from "node:assert/strict";
import * as torch from "../src/torch/index.js";
import type { Tensor } from "../src/torch/index.js";
import { AutoModelForCausalLM, GPT2Model, LlamaModel, type PreTrainedModel } from "../src/models/index.js";
import type { Json } from "../src/models/configuration_utils.js";
import { LoraConfig, getPeftModel } from "../src/peft/index.js";
import { assertClose } from "./helpers.js";

const DECODERS: Record<string, Json> = {
  llama: {
    model_type: "llama",
    vocab_size: 50,
    hidden_size: 32,
    intermediate_size: 48,
    num_hidden_layers: 2,
    num_attention_heads: 4,
    num_key_value_heads: 2,
    attention_dropout: 0.2,
    max_position_embeddings: 64,
  },
  qwen3: {
    model_type: "qwen3",
    vocab_size: 50,
    hidden_size: 32,
    intermediate_size: 48,
    num_hidden_layers: 2,
    num_attention_heads: 4,
    num_key_value_heads: 2,
    head_dim: 8,
    attention_dropout: 0.2,
    max_position_embeddings: 64,
  },
  "qwen2 (sliding window)": {
    model_type: "qwen2",
    vocab_size: 50,
    hidden_size: 32,
    intermediate_size: 48,
    num_hidden_layers: 2,
    num_attention_heads: 4,
    num_key_value_heads: 2,
    max_position_embeddings: 64,
    use_sliding_window: true,
    sliding_window: 4,
    max_window_layers: 1,
    attention_dropout: 0.2,
  },
  gpt2: { model_type: "gpt2", vocab_size: 50, n_embd: 32, n_layer: 2, n_head: 4, n_positions: 64, resid_pdrop: 0.2, embd_pdrop: 0.2, attn_pdrop: 0.2 },
};

const LENGTHS = [10, 6, 3, 8];
const L = 10;

/**
 * A padded batch (right or left) with DataCollatorForLanguageModeling's labels: the ids, -100 at
 * padding, and (a prompt's masking) at each row's first `prompt` tokens. Left-padded rows need a
 * masked first token for the rows path: the last padded position predicts it in ForCausalLMLoss.
 */
function batch(left: boolean, o: { labelPadding?: boolean; prompt?: number } = {}): Record<string, Tensor> {
  const rows = LENGTHS.map((n, r) => {
    const tokens = Array.from({ length: n }, (_, i) => 2 + ((r * 11 + i * 7) % 45));
    const pads = Array<number>(L - n).fill(-1);
    return left ? [...pads, ...tokens] : [...tokens, ...pads];
  });
  return {
    input_ids: torch.tensor(
      rows.map((r) => r.map((v) => (v < 0 ? 0 : v))),
      { dtype: "int64" },
    ),
    attention_mask: torch.tensor(
      rows.map((r) => r.map((v) => (v < 0 ? 0 : 1))),
      { dtype: "int64" },
    ),
    labels: torch.tensor(
      rows.map((r) => r.map((v, i) => (v < 0 ? (o.labelPadding ? 0 : -100) : i - (left ? r.filter((t) => t < 0).length : 0) < (o.prompt ?? 0) ? -100 : v))),
      { dtype: "int64" },
    ),
  };
}

function decoder(model: PreTrainedModel): LlamaModel | GPT2Model {
  for (const [, m] of model.namedModules()) if (m instanceof LlamaModel || m instanceof GPT2Model) return m;
  throw new Error("no decoder");
}

/** A training step from seed 7: loss, logits, gradients by name and the generator's next draw. */
function step(model: PreTrainedModel, unpad: boolean, inputs: Record<string, Tensor>) {
  decoder(model).unpadTokens = unpad;
  model.train();
  model.zeroGrad();
  torch.manualSeed(7);
  return torch.tidy(() => {
    const out = model.forward(inputs);
    out.loss!.backward();
    const grads = new Map([...model.namedParameters()].filter(([, p]) => p.grad).map(([n, p]) => [n, p.grad!.clone()] as [string, Tensor]));
    return { loss: out.loss!.item(), logits: out.logits!.detach(), grads, next: torch.rand([3]) };
  });
}

type Step = ReturnType<typeof step>;

function assertSameStep(got: Step, want: Step, mask: Tensor, what: string): void {
  assert.ok(Math.abs(got.loss - want.loss) <= 1e-6 * Math.max(1, Math.abs(want.loss)), `${what}: loss ${got.loss} vs ${want.loss}`);
  const real = mask.ne(0).unsqueeze(2).expand(want.logits.shape);
  assertClose(got.logits.maskedSelect(real), want.logits.maskedSelect(real), { rtol: 1e-5, atol: 1e-6, what: `${what}: real positions' logits` });
  assert.deepEqual([...got.grads.keys()], [...want.grads.keys()]);
  for (const [n, g] of want.grads) assertClose(got.grads.get(n)!, g, { rtol: 1e-5, atol: 1e-6, what: `${what}: ${n}` });
  assert.ok(got.next.equal(want.next), `${what}: the generator ends where the padded run leaves it`);
}

/** Whether logits [b, l, vocab] are zero at every padded position (the rows path). */
function padLogitsZero(logits: Tensor, mask: Tensor): boolean {
  const pads = mask.eq(0).unsqueeze(2).expand(logits.shape);
  return logits.maskedSelect(pads).abs().max().item() === 0;
}

for (const [name, config] of Object.entries(DECODERS)) {
  for (const attn of ["sdpa", "eager"]) {
    test(`${name} (${attn}): the LM head on the real tokens gives the padded batch's loss, logits and gradients, right- and left-padded, dropout on`, () => {
      torch.manualSeed(0);
      const model = AutoModelForCausalLM.fromConfig({ ...config, _attn_implementation: attn });
      assert.equal(decoder(model).unpadTokens, true, "on by default under the LM head");
      for (const left of [false, true]) {
        const side = left ? "left-padded" : "right-padded";
        const inputs = batch(left, { prompt: 2 });
        const padded = step(model, false, inputs);
        const unpadded = step(model, true, inputs);
        assert.ok(padLogitsZero(unpadded.logits, inputs.attention_mask), `${side}: the rows path ran (padded positions' logits are zeros)`);
        assert.ok(!padLogitsZero(padded.logits, inputs.attention_mask), `${side}: the padded path computes its padded positions`);
        assertSameStep(unpadded, padded, inputs.attention_mask, `${name} ${attn} ${side}`);
        model.gradientCheckpointingEnable();
        assertSameStep(step(model, true, inputs), padded, inputs.attention_mask, `${name} ${attn} ${side}, checkpointed`);
        model.gradientCheckpointingDisable();
      }
      // Dropout is on, so the exactness above rests on the noise: another seed changes the loss.
      const inputs = batch(false);
      torch.manualSeed(8);
      const other = torch.tidy(() => model.forward(inputs).loss!.item());
      assert.notEqual(other, step(model, true, inputs).loss);
    });
  }
}

test("the padded path where the rows path is not exact: labels a padded position predicts, no labels, LoRA's dropout", () => {
  torch.manualSeed(0);
  const model = AutoModelForCausalLM.fromConfig(DECODERS.llama);
  // A padded position's next label counts (labels not masked at padding): its logits are read.
  // So does a left-padded row's last padded position when the first real token's label counts.
  for (const reading of [batch(false, { labelPadding: true }), batch(true)]) {
    const padded = step(model, false, reading);
    const switched = step(model, true, reading);
    assert.ok(!padLogitsZero(switched.logits, reading.attention_mask));
    assert.equal(switched.loss, padded.loss);
  }
  // No labels: the logits are the user's output, every position computed.
  model.eval();
  const inputs = batch(false);
  const { labels: _labels, ...unlabelled } = inputs;
  void _labels;
  const logits = torch.tidy(() => model.forward(unlabelled).logits!);
  assert.ok(!padLogitsZero(logits, inputs.attention_mask));
  // The base model alone, switched on, returns zeros at the padded positions and the padded batch's real rows.
  const base = decoder(model);
  const full = torch.tidy(() => {
    base.unpadTokens = false;
    return base.forward(unlabelled).lastHiddenState;
  });
  base.unpadTokens = true;
  const rows = torch.tidy(() => base.forward(unlabelled).lastHiddenState);
  const real = inputs.attention_mask.unsqueeze(2).to("float32");
  assertClose(rows, full.mul(real), { rtol: 1e-5, atol: 1e-6, what: "base model's hidden states" });
  // LoRA with dropout: each adapted layer draws noise per input row, so the padded batch runs.
  for (const loraDropout of [0.1, 0]) {
    torch.manualSeed(0);
    const peft = getPeftModel(
      AutoModelForCausalLM.fromConfig(DECODERS.llama),
      new LoraConfig({ r: 4, loraAlpha: 8, loraDropout, targetModules: "all-linear", taskType: "CAUSAL_LM" }),
    );
    peft.train();
    torch.manualSeed(7);
    const got = torch.tidy(() => peft.forward(inputs).logits!.detach());
    assert.equal(padLogitsZero(got, inputs.attention_mask), loraDropout === 0, `lora_dropout ${loraDropout}`);
  }
});
