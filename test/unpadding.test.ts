// Only real tokens computed (models/unpadding.ts): BERT's, RoBERTa's and DistilBERT's sequence classifiers run their
// encoders on the real tokens' rows of a dynamically padded batch, and their last layer for the first
// tokens alone. In training, with dropout on, the loss, the logits and every gradient equal the full
// padded computation's (dropout's noise is drawn for every position and the computed rows' kept), the
// generator ends where it would, and a token-level head given the switch keeps its real positions'
// logits; left-padded rows and asked-for hidden states take the padded path.
import { test } from "node:test";
import assert from "node:assert/strict";
import * as torch from "../src/torch/index.js";
import type { Tensor } from "../src/torch/index.js";
import {
  AutoModelForSequenceClassification,
  AutoModelForTokenClassification,
  BertModel,
  DistilBertModel,
  RobertaModel,
  type PreTrainedModel,
} from "../src/models/index.js";
import { Unpadded, rowsExact } from "../src/models/unpadding.js";
import { LoraConfig, getPeftModel } from "../src/peft/index.js";
import { assertClose } from "./helpers.js";

const CONFIGS = {
  bert: {
    model_type: "bert",
    vocab_size: 60,
    hidden_size: 32,
    num_hidden_layers: 2,
    num_attention_heads: 4,
    intermediate_size: 48,
    max_position_embeddings: 64,
  },
  roberta: {
    model_type: "roberta",
    vocab_size: 60,
    hidden_size: 32,
    num_hidden_layers: 2,
    num_attention_heads: 4,
    intermediate_size: 48,
    max_position_embeddings: 70,
    pad_token_id: 1,
  },
  distilbert: { model_type: "distilbert", vocab_size: 60, dim: 32, n_layers: 2, n_heads: 4, hidden_dim: 48, max_position_embeddings: 64 },
};

function batch(leftPadded = false) {
  const lengths = [12, 7, 3, 9];
  const ids = lengths.map((n, r) => Array.from({ length: 12 }, (_, i) => (i < n ? 3 + ((r * 7 + i * 5) % 50) : 1)));
  const mask = lengths.map((n) => Array.from({ length: 12 }, (_, i) => (i < n ? 1 : 0)));
  const flip = (rows: number[][]) => (leftPadded ? rows.map((r) => [...r].reverse()) : rows);
  return {
    input_ids: torch.tensor(flip(ids), { dtype: "int64" }),
    attention_mask: torch.tensor(flip(mask), { dtype: "int64" }),
    labels: torch.tensor([0, 1, 1, 0], { dtype: "int64" }),
  };
}

function encoder(model: PreTrainedModel): BertModel | RobertaModel | DistilBertModel {
  for (const [, m] of model.namedModules()) if (m instanceof BertModel || m instanceof RobertaModel || m instanceof DistilBertModel) return m;
  throw new Error("no encoder");
}

/**
 * A training step from seed 7: loss, logits, gradients by name, and the generator's next draw; first
 * says whether the last layer computes the first tokens alone.
 */
function step(model: PreTrainedModel, unpad: boolean, inputs: Record<string, Tensor>, first = false) {
  encoder(model).unpadTokens = unpad;
  encoder(model).firstTokenOnly = first;
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

for (const [name, config] of Object.entries(CONFIGS)) {
  test(`${name} sequence classification: the real tokens' computation gives the padded batch's loss, logits and gradients, dropout included`, () => {
    torch.manualSeed(0);
    const model = AutoModelForSequenceClassification.fromConfig(config);
    assert.equal(encoder(model).unpadTokens, true, "on by default for the sequence classifier");
    assert.equal(encoder(model).firstTokenOnly, true, "the last layer for the first tokens alone: on by default for the sequence classifier");
    const inputs = batch();
    const padded = step(model, false, inputs);
    const unpadded = step(model, true, inputs);
    assert.ok(Math.abs(padded.loss - unpadded.loss) <= 1e-6, `loss ${padded.loss} vs ${unpadded.loss}`);
    assertClose(unpadded.logits, padded.logits, { rtol: 1e-5, atol: 1e-6, what: `${name} logits` });
    assert.deepEqual([...unpadded.grads.keys()], [...padded.grads.keys()]);
    for (const [n, g] of padded.grads) assertClose(unpadded.grads.get(n)!, g, { rtol: 1e-5, atol: 1e-6, what: `${name} ${n}` });
    assert.ok(unpadded.next.equal(padded.next), "the generator ends where the padded run leaves it");
    // The last layer for the first tokens alone, on the real tokens' rows, on the padded batch, and
    // on left-padded rows (which take the padded path): the full computation's numbers each time.
    for (const [what, unpad, leftPadded] of [
      ["unpadded", true, false],
      ["padded", false, false],
      ["left-padded", true, true],
    ] as const) {
      const rows = batch(leftPadded);
      const full = leftPadded ? step(model, false, rows) : padded;
      const pruned = step(model, unpad, rows, true);
      assert.ok(Math.abs(full.loss - pruned.loss) <= 1e-6, `${what}: loss ${full.loss} vs ${pruned.loss}`);
      assertClose(pruned.logits, full.logits, { rtol: 1e-5, atol: 1e-6, what: `${name} ${what} first tokens: logits` });
      assert.deepEqual([...pruned.grads.keys()], [...full.grads.keys()]);
      for (const [n, g] of full.grads) assertClose(pruned.grads.get(n)!, g, { rtol: 1e-5, atol: 1e-6, what: `${name} ${what} first tokens: ${n}` });
      assert.ok(pruned.next.equal(full.next), `${what}: the generator ends where the full run leaves it`);
    }
    // Dropout is on, so the exactness above rests on the noise: a different seed changes the loss.
    torch.manualSeed(8);
    const other = torch.tidy(() => model.forward(inputs).loss!.item());
    assert.notEqual(other, padded.loss);
  });
}

test("the last layer for the first tokens alone under gradient checkpointing: the recomputed layer gives the full step's numbers", () => {
  torch.manualSeed(0);
  const model = AutoModelForSequenceClassification.fromConfig(CONFIGS.bert);
  const inputs = batch();
  const full = step(model, false, inputs);
  model.gradientCheckpointingEnable();
  for (const unpad of [true, false]) {
    const pruned = step(model, unpad, inputs, true);
    assert.ok(Math.abs(full.loss - pruned.loss) <= 1e-6, `loss ${full.loss} vs ${pruned.loss}`);
    for (const [n, g] of full.grads) assertClose(pruned.grads.get(n)!, g, { rtol: 1e-5, atol: 1e-6, what: `checkpointed, unpad ${unpad}: ${n}` });
    assert.ok(pruned.next.equal(full.next), "the generator ends where the full run leaves it");
  }
});

test("a token classifier given the switch keeps every real position's logits; its padded positions are zeros-based", () => {
  torch.manualSeed(0);
  const model = AutoModelForTokenClassification.fromConfig({ ...CONFIGS.bert, num_labels: 3 });
  assert.equal(encoder(model).unpadTokens, false, "off by default: padded positions would differ");
  const inputs = batch();
  const labels = torch.tensor(
    (inputs.attention_mask.toArray() as number[][]).map((r) => r.map((m, i) => (m ? i % 3 : -100))),
    { dtype: "int64" },
  );
  const padded = step(model, false, { ...inputs, labels });
  const unpadded = step(model, true, { ...inputs, labels });
  assert.ok(Math.abs(padded.loss - unpadded.loss) <= 1e-6);
  const real = inputs.attention_mask.ne(0).unsqueeze(2).expand([4, 12, 3]);
  assertClose(unpadded.logits.maskedSelect(real), padded.logits.maskedSelect(real), { rtol: 1e-5, atol: 1e-6, what: "real positions" });
});

test("the padded path where unpadding is not exact or gains nothing: left padding, no padding, hidden states asked for", () => {
  assert.equal(Unpadded.of(batch(true).attention_mask), null, "left-padded rows: the pooled first token is padding");
  assert.equal(Unpadded.of(torch.ones([2, 5], { dtype: "int64" })), null, "nothing padded");
  const u = Unpadded.of(batch().attention_mask)!;
  assert.deepEqual(u.index.toArray(), [
    ...Array(12).keys(),
    ...[0, 1, 2, 3, 4, 5, 6].map((i) => 12 + i),
    24,
    25,
    26,
    ...[...Array(9).keys()].map((i) => 36 + i),
  ]);
  // gather then scatter puts each real row back, zeros elsewhere.
  const x = torch.randn([4, 12, 5]);
  const back = u.scatter(u.gather(x));
  const m = batch().attention_mask.unsqueeze(2).to("float32");
  assert.ok(back.equal(x.mul(m)));
  torch.manualSeed(0);
  const model = AutoModelForSequenceClassification.fromConfig(CONFIGS.bert);
  model.eval();
  const inputs = batch();
  const withStates = model.forward(inputs, { outputHiddenStates: true });
  assert.equal(withStates.hiddenStates!.length, 3);
  encoder(model).unpadTokens = false;
  assert.ok(model.forward(inputs, { outputHiddenStates: true }).logits!.equal(withStates.logits!));
});

test("LoRA's dropout draws per row of its input: while it draws, the encoder computes the padded batch, so the step is the padded one", () => {
  for (const loraDropout of [0.1, 0]) {
    torch.manualSeed(0);
    const base = AutoModelForSequenceClassification.fromConfig(CONFIGS.bert);
    const model = getPeftModel(base, new LoraConfig({ r: 4, loraAlpha: 8, loraDropout, taskType: "SEQ_CLS" }));
    const inputs = batch();
    const run = (unpad: boolean) => {
      encoder(base).unpadTokens = unpad;
      encoder(base).firstTokenOnly = unpad;
      model.train();
      model.zeroGrad();
      torch.manualSeed(7);
      return torch.tidy(() => {
        const loss = model.forward(inputs).loss!;
        loss.backward();
        const grads = [...model.namedParameters()].filter(([, p]) => p.grad).map(([n, p]) => [n, p.grad!.clone()] as const);
        return { loss: loss.item(), grads, next: torch.rand([3]) };
      });
    };
    assert.equal(rowsExact(encoder(base), "cpu"), loraDropout === 0, `lora_dropout ${loraDropout}: rows exact`);
    const padded = run(false);
    const switched = run(true);
    assert.ok(Math.abs(padded.loss - switched.loss) <= 1e-6, `lora_dropout ${loraDropout}: loss ${padded.loss} vs ${switched.loss}`);
    for (const [i, [n, g]] of padded.grads.entries())
      assertClose(switched.grads[i][1], g, { rtol: 1e-5, atol: 1e-6, what: `lora_dropout ${loraDropout}: ${n}` });
    assert.ok(switched.next.equal(padded.next), `lora_dropout ${loraDropout}: the generator ends where the padded run leaves it`);
    model.eval();
    assert.ok(rowsExact(encoder(base), "cpu"), "in evaluation no noise is drawn");
  }
});

test("off the CPU the rows are exact only where no dropout draws: CUDA's fused dropout kernel draws other noise than dropoutRows", () => {
  torch.manualSeed(0);
  const model = AutoModelForSequenceClassification.fromConfig(CONFIGS.bert);
  const bert = encoder(model);
  model.train();
  assert.equal(rowsExact(bert, "cpu"), true, "on the CPU dropoutRows draws at::dropout's noise");
  assert.equal(rowsExact(bert, "cuda:0"), false, "training with dropout on a GPU: the padded batch");
  model.eval();
  assert.equal(rowsExact(bert, "cuda:0"), true, "evaluation draws nothing");
  model.train();
  const noDropout = encoder(AutoModelForSequenceClassification.fromConfig({ ...CONFIGS.bert, hidden_dropout_prob: 0, attention_probs_dropout_prob: 0 }));
  noDropout.train();
  assert.equal(rowsExact(noDropout, "cuda:0"), true, "dropout 0 draws nothing");
});
