// Gradient checkpointing (HF's gradient_checkpointing_enable, torch.utils.checkpoint): every layer of
// the stack recomputed in backward gives the same loss and the same gradients as the run that kept
// its activations, dropout included (the recompute replays the forward's RNG state), for every
// architecture; LoRA's parameters get their gradients although nothing before them requires grad;
// the memory a step holds at its peak goes down.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { join } from "node:path";
import * as torch from "../src/torch/index.js";
import {
  AutoModelForCausalLM,
  AutoModelForSequenceClassification,
  GPT2LMHeadModel,
  PreTrainedModel,
  PretrainedConfig,
  type ModelOutput,
} from "../src/models/index.js";
import { LoraConfig, getPeftModel } from "../src/peft/index.js";
import type { Json } from "../src/models/configuration_utils.js";
import { KvCache } from "../src/models/cache_utils.js";
import { assertClose } from "./helpers.js";
import { out, padCollator, quiet, silenced, tinyModel, toyDataset, zip } from "./trainer_helpers.js";
import { Trainer, TrainingArguments } from "../src/trainer/index.js";

const dist = (p: string) => join(fileURLToPath(new URL("..", import.meta.url)), p);

const DECODERS: Record<string, Json> = {
  llama: {
    model_type: "llama",
    vocab_size: 50,
    hidden_size: 32,
    intermediate_size: 48,
    num_hidden_layers: 3,
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
  gpt2: { model_type: "gpt2", vocab_size: 50, n_embd: 32, n_layer: 3, n_head: 4, n_positions: 64, resid_pdrop: 0.2, embd_pdrop: 0.2, attn_pdrop: 0.2 },
};
const ENCODERS: Record<string, Json> = {
  bert: {
    model_type: "bert",
    vocab_size: 50,
    hidden_size: 32,
    num_hidden_layers: 2,
    num_attention_heads: 4,
    intermediate_size: 48,
    hidden_dropout_prob: 0.2,
    attention_probs_dropout_prob: 0.2,
    max_position_embeddings: 64,
  },
  roberta: {
    model_type: "roberta",
    vocab_size: 50,
    hidden_size: 32,
    num_hidden_layers: 2,
    num_attention_heads: 4,
    intermediate_size: 48,
    hidden_dropout_prob: 0.2,
    attention_probs_dropout_prob: 0.2,
    max_position_embeddings: 70,
    pad_token_id: 1,
  },
  distilbert: {
    model_type: "distilbert",
    vocab_size: 50,
    dim: 32,
    n_layers: 2,
    n_heads: 4,
    hidden_dim: 48,
    dropout: 0.2,
    attention_dropout: 0.2,
    max_position_embeddings: 64,
  },
  modernbert: {
    model_type: "modernbert",
    vocab_size: 50,
    hidden_size: 32,
    num_hidden_layers: 3,
    num_attention_heads: 4,
    intermediate_size: 48,
    attention_dropout: 0.2,
    mlp_dropout: 0.2,
    max_position_embeddings: 64,
    global_attn_every_n_layers: 2,
    local_attention: 8,
    pad_token_id: 0,
  },
};

function batch(decoder: boolean) {
  torch.manualSeed(5);
  const ids = torch.randint(3, 50, [3, 12]);
  const mask = torch.tensor([Array(12).fill(1), [...Array(9).fill(1), 0, 0, 0], [...Array(5).fill(1), ...Array(7).fill(0)]], { dtype: "int64" });
  return decoder
    ? { input_ids: ids, attention_mask: mask, labels: ids.maskedFill(mask.eq(0), -100) }
    : { input_ids: ids, attention_mask: mask, labels: torch.tensor([0, 1, 1], { dtype: "int64" }) };
}

/** One training step's loss and gradients (by parameter name), from seed 9. */
function step(model: PreTrainedModel, decoder: boolean): { loss: number; grads: Map<string, torch.Tensor> } {
  model.zeroGrad();
  model.train();
  return torch.tidy(() => {
    const inputs = batch(decoder);
    torch.manualSeed(9);
    const l = model.forward(inputs).loss!;
    l.backward();
    const grads = new Map<string, torch.Tensor>();
    for (const [n, p] of model.namedParameters()) if (p.grad) grads.set(n, p.grad.clone());
    // The next draw of the generator: the checkpointed run must leave it where the plain run does.
    grads.set("<next draw>", torch.rand([4]));
    return { loss: l.item(), grads };
  });
}

function assertSameStep(a: ReturnType<typeof step>, b: ReturnType<typeof step>, what: string): void {
  assert.ok(Math.abs(a.loss - b.loss) <= 1e-6 * Math.abs(a.loss), `${what}: loss ${a.loss} vs ${b.loss}`);
  assert.deepEqual([...b.grads.keys()], [...a.grads.keys()], `${what}: the same parameters get gradients`);
  for (const [n, g] of a.grads) assertClose(b.grads.get(n)!, g, { rtol: 1e-6, atol: 1e-6, what: `${what}: ${n}` });
}

for (const [name, config, decoder] of [
  ...Object.entries(DECODERS).map((e) => [...e, true] as const),
  ...Object.entries(ENCODERS).map((e) => [...e, false] as const),
]) {
  test(`${name}: a checkpointed step has the plain step's loss and gradients, dropout included`, () => {
    torch.manualSeed(0);
    const model = decoder ? AutoModelForCausalLM.fromConfig(config) : AutoModelForSequenceClassification.fromConfig(config);
    const plain = step(model, decoder);
    assert.equal(model.isGradientCheckpointing, false);
    model.gradientCheckpointingEnable();
    assert.equal(model.isGradientCheckpointing, true);
    const before = torch.liveTensors();
    const checkpointed = step(model, decoder);
    assertSameStep(plain, checkpointed, name);
    // The recompute leaves nothing behind: no tensors, no registered backward.
    torch.dispose(checkpointed.grads);
    assert.equal(torch.liveTensors(), before);
    assert.equal(torch.liveCheckpoints(), 0);
    model.gradientCheckpointingDisable();
    torch.dispose(plain.grads);
  });
}

test("LoRA with gradient checkpointing: the adapter's gradients equal the plain run's although the embeddings do not require grad", () => {
  torch.manualSeed(0);
  const base = AutoModelForCausalLM.fromConfig(DECODERS.llama);
  torch.manualSeed(1);
  const model = getPeftModel(base, new LoraConfig({ r: 4, loraAlpha: 8, loraDropout: 0.1, targetModules: "all-linear", taskType: "CAUSAL_LM" }));
  // PEFT's B starts at zero: move it so that A's gradients are not zero too.
  torch.noGrad(() => {
    for (const [n, p] of model.namedParameters()) if (n.includes("lora_B")) p.copy_(torch.randn(p.shape).mul(0.1));
  });
  const plain = step(model, true);
  model.gradientCheckpointingEnable();
  const checkpointed = step(model, true);
  assert.ok(
    [...plain.grads.keys()].every((n) => n.includes("lora_") || n === "<next draw>"),
    [...plain.grads.keys()].join(", "),
  );
  assert.equal(plain.grads.size, 1 + 2 * 7 * 3);
  assertSameStep(plain, checkpointed, "llama + LoRA");
});

test("gradient checkpointing refuses a cache while training and a model without layers to checkpoint", () => {
  torch.manualSeed(0);
  const model = GPT2LMHeadModel.fromConfig(DECODERS.gpt2);
  model.gradientCheckpointingEnable();
  model.train();
  const ids = torch.tensor([[4, 5, 6]], { dtype: "int64" });
  assert.throws(
    () => model.forward({ input_ids: ids, pastKeyValues: new KvCache() }),
    /pastKeyValues cannot be used while training with gradient checkpointing/,
  );
  // Without a graph (generation runs under noGrad) the cache is fine.
  torch.noGrad(() => model.forward({ input_ids: ids, pastKeyValues: new KvCache() }));
  class NoStack extends PreTrainedModel {
    forward(): ModelOutput {
      return {};
    }
  }
  assert.throws(() => new NoStack(new PretrainedConfig({})).gradientCheckpointingEnable(), /^Error: NoStack does not support gradient checkpointing\.$/);
});

test("gradient checkpointing lowers a step's peak memory (RSS of one step in a fresh process)", () => {
  const probe = (gc: boolean) => `
    const torch = await import(${JSON.stringify(dist("src/torch/index.js"))});
    const { AutoModelForCausalLM } = await import(${JSON.stringify(dist("src/models/index.js"))});
    torch.manualSeed(0);
    const model = AutoModelForCausalLM.fromConfig({ model_type: "llama", vocab_size: 1000, hidden_size: 256, intermediate_size: 688,
      num_hidden_layers: 8, num_attention_heads: 4, num_key_value_heads: 4, max_position_embeddings: 512 });
    if (${gc}) model.gradientCheckpointingEnable();
    const ids = torch.randint(0, 1000, [4, 512]);
    const baseMiB = process.resourceUsage().maxRSS / 1024;
    const loss = torch.tidy(() => { const l = model.forward({ input_ids: ids, labels: ids }).loss; l.backward(); return l.item(); });
    console.log(JSON.stringify({ baseMiB, peakMiB: process.resourceUsage().maxRSS / 1024, loss }));
  `;
  const peak = (gc: boolean) => {
    // Large blocks from mmap, so that RSS follows the memory in use (the addon tunes malloc to keep freed heap,
    // which is faster and makes peak RSS depend on fragmentation).
    const r = spawnSync(process.execPath, ["--input-type=module", "-e", probe(gc)], {
      encoding: "utf8",
      env: { ...process.env, MALLOC_MMAP_THRESHOLD_: "131072" },
    });
    assert.equal(r.status, 0, r.stderr);
    return JSON.parse(r.stdout.trim().split("\n").at(-1)!) as { peakMiB: number; baseMiB: number; loss: number };
  };
  const plain = peak(false);
  const gc = peak(true);
  assert.ok(Math.abs(plain.loss - gc.loss) < 1e-5, `loss ${plain.loss} vs ${gc.loss}`);
  // The activations of 8 layers at 4×512 tokens are ~hundreds of MiB; checkpointed, one layer's.
  const grewPlain = plain.peakMiB - plain.baseMiB;
  const grewGc = gc.peakMiB - gc.baseMiB;
  assert.ok(grewGc < 0.5 * grewPlain, `peak growth with checkpointing ${grewGc} MiB vs ${grewPlain} MiB without`);
});

test("TrainingArguments.gradientCheckpointing: a LoRA Trainer run ends where the run without it ends", async () => {
  const ds = toyDataset(24, 3);
  const run = async (gradientCheckpointing: boolean) => {
    const base = tinyModel();
    torch.manualSeed(1);
    const model = getPeftModel(base, new LoraConfig({ r: 4, loraAlpha: 8, loraDropout: 0.1, taskType: "SEQ_CLS" }));
    const args = new TrainingArguments({
      outputDir: out(),
      perDeviceTrainBatchSize: 4,
      numTrainEpochs: 2,
      learningRate: 5e-3,
      saveStrategy: "no",
      seed: 11,
      gradientCheckpointing,
      ...quiet,
    });
    const r = await silenced(() => new Trainer({ model, args, trainDataset: ds, dataCollator: padCollator }).train());
    return { model, loss: r.trainingLoss };
  };
  const plain = await run(false);
  const gc = await run(true);
  assert.equal(plain.model.isGradientCheckpointing, false);
  assert.equal(gc.model.isGradientCheckpointing, true);
  assert.ok(Math.abs(plain.loss - gc.loss) < 1e-6, `training loss ${plain.loss} vs ${gc.loss}`);
  for (const [[n, p], [, q]] of zip([...gc.model.namedParameters()], [...plain.model.namedParameters()]))
    assertClose(p, q, { rtol: 1e-5, atol: 1e-6, what: n });
});
