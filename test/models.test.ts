// The BERT family equals PyTorch (fixtures from scripts/golden/models.py): logits, loss and every
// gradient for tiny BERT, DistilBERT and RoBERTa checkpoints, in eval mode and in train mode with
// dropout 0; loading like HF (warnings word for word, key renaming, .bin files); saving round-trips.
import { test } from "node:test";
import assert from "node:assert/strict";
import { copyFileSync, mkdtempSync, readFileSync, writeFileSync, truncateSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as torch from "../src/torch/index.js";
import {
  AutoConfig,
  AutoModel,
  AutoModelForMaskedLM,
  AutoModelForQuestionAnswering,
  AutoModelForSequenceClassification,
  AutoModelForTokenClassification,
  BertForSequenceClassification,
  PreTrainedModel,
  setVerbosity,
  setWarningSink,
} from "../src/models/index.js";
import { assertClose, fixture } from "./helpers.js";

const dir = (...p: string[]) => fixture("golden", "models", ...p);

function captureWarnings<T>(fn: () => Promise<T>): Promise<{ value: T; warnings: string[] }> {
  const warnings: string[] = [];
  setWarningSink((m) => warnings.push(m));
  return fn()
    .then((value) => ({ value, warnings }))
    .finally(() => setWarningSink(null));
}

async function checkGolden(name: string, inputs: Record<string, torch.Tensor>): Promise<void> {
  const expected = torch.loadFile(dir(name, "expected.safetensors"));
  for (const mode of ["eval", "train"] as const) {
    const model = (await AutoModelForSequenceClassification.fromPretrained(dir(name), {
      configOverrides: { hidden_dropout_prob: 0, attention_probs_dropout_prob: 0, dropout: 0, attention_dropout: 0, seq_classif_dropout: 0 },
    })) as PreTrainedModel;
    model.train(mode === "train");
    torch.tidy(() => {
      const out = model.forward(inputs);
      assertClose(out.logits!, expected.get(`${mode}.logits`)!, { rtol: 1e-5, atol: 1e-6, what: `${name} ${mode} logits` });
      assertClose(out.loss!.reshape(1), expected.get(`${mode}.loss`)!, { rtol: 1e-5, atol: 1e-6, what: `${name} ${mode} loss` });
      out.loss!.backward();
    });
    const names = [...model.namedParameters()].map(([n]) => n);
    assert.deepEqual(
      names.sort(),
      [...expected.keys()]
        .filter((k) => k.startsWith(`${mode}.grad.`))
        .map((k) => k.slice(`${mode}.grad.`.length))
        .sort(),
      `${name}: the same parameters as PyTorch's`,
    );
    for (const [n, p] of model.namedParameters()) {
      torch.tidy(() => assertClose(p.grad!, expected.get(`${mode}.grad.${n}`)!, { rtol: 1e-4, atol: 1e-6, what: `${name} ${mode} grad of ${n}` }));
    }
    torch.dispose(model.parameters());
  }
  torch.dispose(expected);
}

test("BERT, DistilBERT and RoBERTa equal PyTorch: logits, loss, every gradient, eval and train", async () => {
  const inputs = Object.fromEntries(torch.loadFile(dir("inputs.safetensors")));
  await checkGolden("tiny-bert", inputs);
  await checkGolden("tiny-distilbert", { input_ids: inputs.input_ids, attention_mask: inputs.attention_mask, labels: inputs.labels });
  const rob = torch.loadFile(dir("roberta_inputs.safetensors"));
  await checkGolden("tiny-roberta", {
    input_ids: rob.get("input_ids")!,
    attention_mask: inputs.attention_mask,
    token_type_ids: torch.zerosLike(inputs.input_ids),
    labels: inputs.labels,
  });
  torch.dispose([inputs, rob]);
});

test("eager and SDPA attention give the same numbers; dropout follows train/eval", async () => {
  const inputs = Object.fromEntries(torch.loadFile(dir("inputs.safetensors")));
  const sdpa = (await BertForSequenceClassification.fromPretrained(dir("tiny-bert"), { attnImplementation: "sdpa" })) as PreTrainedModel;
  const eager = (await BertForSequenceClassification.fromPretrained(dir("tiny-bert"), { attnImplementation: "eager" })) as PreTrainedModel;
  torch.tidy(() => {
    assertClose(sdpa.forward(inputs).logits!, eager.forward(inputs).logits!, { rtol: 1e-5, atol: 1e-6, what: "sdpa vs eager" });
    const withAttn = sdpa.forward(inputs, { outputAttentions: true, outputHiddenStates: true });
    assert.equal(withAttn.attentions!.length, 2);
    assert.deepEqual(withAttn.attentions![0].shape, [3, 4, 10, 10]);
    assert.equal(withAttn.hiddenStates!.length, 3);
    const a = sdpa.forward(inputs).logits!;
    assert.ok(a.equal(sdpa.forward(inputs).logits!), "eval is deterministic");
    sdpa.train();
    assert.ok(!sdpa.forward(inputs).logits!.allclose(a, 1e-4, 1e-5), "train mode applies dropout (p = 0.1)");
  });
  torch.dispose([inputs, sdpa.parameters(), eager.parameters()]);
});

test("an encoder-only checkpoint (bert.* + cls.*, gamma/beta names) gives HF's two messages and a new classifier", async () => {
  const at = dir("tiny-bert-pretraining");
  // At the default verbosity only the new classifier is news: the unused cls.* weights of a
  // BertForPreTraining checkpoint are expected, so HF logs them at info.
  const quiet = await captureWarnings(() => AutoModelForSequenceClassification.fromPretrained(at, { numLabels: 2 }));
  assert.equal(quiet.warnings.length, 1);
  assert.match(quiet.warnings[0], /^Some weights of BertForSequenceClassification were not initialized/);
  torch.manualSeed(0);
  setVerbosity("info");
  const { value: model, warnings } = await captureWarnings(() => AutoModelForSequenceClassification.fromPretrained(at, { numLabels: 2 })).finally(() =>
    setVerbosity("warning"),
  );
  assert.deepEqual(warnings, [
    `Some weights of the model checkpoint at ${at} were not used when initializing BertForSequenceClassification: ['cls.predictions.bias', 'cls.predictions.transform.LayerNorm.bias', 'cls.predictions.transform.LayerNorm.weight', 'cls.predictions.transform.dense.bias', 'cls.predictions.transform.dense.weight', 'cls.seq_relationship.bias', 'cls.seq_relationship.weight']\n- This IS expected if you are initializing BertForSequenceClassification from the checkpoint of a model trained on another task or with another architecture (e.g. initializing a BertForSequenceClassification model from a BertForPreTraining model).\n- This IS NOT expected if you are initializing BertForSequenceClassification from the checkpoint of a model that you expect to be exactly identical (initializing a BertForSequenceClassification model from a BertForSequenceClassification model).`,
    `Some weights of BertForSequenceClassification were not initialized from the model checkpoint at ${at} and are newly initialized: ['classifier.bias', 'classifier.weight']\nYou should probably TRAIN this model on a down-stream task to be able to use it for predictions and inference.`,
  ]);
  const m = model as BertForSequenceClassification;
  assert.equal(m.config.numLabels, 2);
  assert.deepEqual(m.classifier.weight.shape, [2, 32]);
  const ckpt = torch.loadFile(dir("tiny-bert-pretraining", "model.safetensors"));
  assert.ok(m.bert.embeddings.LayerNorm.weight!.equal(ckpt.get("bert.embeddings.LayerNorm.gamma")!), "gamma is loaded as weight");
  torch.tidy(() => {
    assert.equal(m.classifier.bias!.abs().sum().item(), 0, "HF init: zero bias");
    const std = m.classifier.weight.std().item();
    assert.ok(std > 0.005 && std < 0.05, `HF init: normal(0, 0.02), got std ${std}`);
  });
  assert.equal(m.training, false, "fromPretrained returns eval mode");
  torch.dispose([ckpt, m.parameters()]);
});

test("savePretrained → fromPretrained gives the same logits; .bin and sharded checkpoints load", async () => {
  const inputs = Object.fromEntries(torch.loadFile(dir("inputs.safetensors")));
  const model = (await AutoModelForSequenceClassification.fromPretrained(dir("tiny-bert"))) as PreTrainedModel;
  const out = mkdtempSync(join(tmpdir(), "ft-model-"));
  const files = model.savePretrained(out);
  assert.deepEqual(
    files.map((f) => f.slice(out.length + 1)),
    ["model.safetensors", "config.json"],
  );
  const cfg = JSON.parse(readFileSync(join(out, "config.json"), "utf8"));
  assert.deepEqual([cfg.architectures, cfg.model_type, cfg.torch_dtype, cfg.hidden_size], [["BertForSequenceClassification"], "bert", "float32", 32]);
  assert.deepEqual(Object.keys(cfg), Object.keys(cfg).sort(), "sorted keys, as HF writes config.json");
  assert.deepEqual(torch.loadMetadata(join(out, "model.safetensors")), { format: "pt" });
  const back = (await AutoModelForSequenceClassification.fromPretrained(out)) as PreTrainedModel;
  const bin = (await AutoModelForSequenceClassification.fromPretrained(dir("tiny-bert-bin"))) as PreTrainedModel;
  const sharded = mkdtempSync(join(tmpdir(), "ft-sharded-"));
  const shardFiles = model.savePretrained(sharded, { maxShardSize: 20_000 });
  assert.ok(shardFiles.some((f) => f.endsWith("model.safetensors.index.json")) && shardFiles.length > 3);
  const fromShards = (await AutoModelForSequenceClassification.fromPretrained(sharded)) as PreTrainedModel;
  torch.tidy(() => {
    const want = model.forward(inputs).logits!;
    for (const [what, m] of [
      ["saved", back],
      ["pytorch_model.bin", bin],
      ["sharded", fromShards],
    ] as const) {
      assert.ok(m.forward(inputs).logits!.equal(want), what);
    }
  });
  // MLM: the decoder is tied to the word embeddings and saved once.
  const mlm = AutoModelForMaskedLM.fromConfig({
    model_type: "bert",
    vocab_size: 50,
    hidden_size: 16,
    num_hidden_layers: 1,
    num_attention_heads: 2,
    intermediate_size: 20,
  });
  const mlmDir = mkdtempSync(join(tmpdir(), "ft-mlm-"));
  mlm.savePretrained(mlmDir);
  const keys = new torch.SafetensorsFile(join(mlmDir, "model.safetensors")).keys();
  assert.ok(!keys.includes("cls.predictions.decoder.weight") && keys.includes("bert.embeddings.word_embeddings.weight"));
  const mlmBack = (await captureWarnings(() => AutoModelForMaskedLM.fromPretrained(mlmDir))).value;
  mlm.eval();
  torch.tidy(() => {
    const ids = torch.tensor([[1, 5, 7, 2]]);
    assert.ok(mlmBack.forward({ input_ids: ids }).logits!.equal(mlm.forward({ input_ids: ids }).logits!));
  });
  torch.dispose([inputs]);
});

test("the heads: token classification, question answering, masked LM, and HF's problem_type rules", async () => {
  torch.manualSeed(1);
  const base = {
    model_type: "bert",
    vocab_size: 50,
    hidden_size: 16,
    num_hidden_layers: 1,
    num_attention_heads: 2,
    intermediate_size: 20,
    hidden_dropout_prob: 0,
    attention_probs_dropout_prob: 0,
  };
  const ids = torch.tensor([
    [2, 7, 9, 3, 0],
    [2, 4, 3, 0, 0],
  ]);
  const mask = ids.ne(0).to("int64");
  torch.tidy(() => {
    const tok = AutoModelForTokenClassification.fromConfig({ ...base, num_labels: 4 });
    const labels = torch.tensor([
      [-100, 1, 2, -100, -100],
      [-100, 3, -100, -100, -100],
    ]);
    const o = tok.forward({ input_ids: ids, attention_mask: mask, labels });
    assert.deepEqual(o.logits!.shape, [2, 5, 4]);
    const manual = torch.crossEntropy(o.logits!.view(-1, 4), labels.view(-1));
    assert.ok(Math.abs(o.loss!.item() - manual.item()) < 1e-6);
    const qa = AutoModelForQuestionAnswering.fromConfig(base);
    const q = qa.forward({ input_ids: ids, attention_mask: mask, start_positions: torch.tensor([1, 2]), end_positions: torch.tensor([2, 9]) });
    assert.deepEqual(
      [q.startLogits!.shape, q.endLogits!.shape],
      [
        [2, 5],
        [2, 5],
      ],
    );
    const want = torch
      .crossEntropy(q.startLogits!, torch.tensor([1, 2]))
      .add(torch.crossEntropy(q.endLogits!.narrow(0, 0, 1), torch.tensor([2])))
      .div(2);
    assert.ok(Math.abs(q.loss!.item() - want.item()) < 1e-6, "an end position past the sequence is ignored");
    const mlm = AutoModelForMaskedLM.fromConfig(base);
    assert.deepEqual(mlm.forward({ input_ids: ids }).logits!.shape, [2, 5, 50]);
    const reg = AutoModelForSequenceClassification.fromConfig({ ...base, num_labels: 1 });
    const r = reg.forward({ input_ids: ids, attention_mask: mask, labels: torch.tensor([0.5, 2.0]) });
    assert.equal(reg.config.problemType, "regression");
    assert.ok(Math.abs(r.loss!.item() - torch.mseLoss(r.logits!.squeeze(), torch.tensor([0.5, 2.0])).item()) < 1e-6);
    const multi = AutoModelForSequenceClassification.fromConfig({ ...base, num_labels: 3 });
    const y = torch.tensor(
      [
        [1, 0, 1],
        [0, 0, 1],
      ],
      { dtype: "float32" },
    );
    const m = multi.forward({ input_ids: ids, attention_mask: mask, labels: y });
    assert.equal(multi.config.problemType, "multi_label_classification");
    assert.ok(Math.abs(m.loss!.item() - torch.binaryCrossEntropyWithLogits(m.logits!, y).item()) < 1e-6);
    const single = AutoModelForSequenceClassification.fromConfig({ ...base, num_labels: 3 });
    single.forward({ input_ids: ids, labels: torch.tensor([2, 0]) });
    assert.equal(single.config.problemType, "single_label_classification");
    const enc = AutoModel.fromConfig(base).forward({ input_ids: ids });
    assert.deepEqual(
      [enc.lastHiddenState!.shape, enc.poolerOutput!.shape],
      [
        [2, 5, 16],
        [2, 16],
      ],
    );
  });
  torch.tidy(() => {
    const fromFile = AutoModelForSequenceClassification.fromConfig(dir("tiny-roberta"));
    assert.equal(fromFile.constructor.name, "RobertaForSequenceClassification");
    torch.dispose(fromFile.parameters());
  });
  const cfg = await AutoConfig.fromPretrained(dir("tiny-distilbert"));
  assert.deepEqual([cfg.modelType, cfg.numLabels, cfg.get("dim")], ["distilbert", 3, 32]);
  assert.throws(() => AutoConfig.forModel("gpt9"), /Unrecognized model type 'gpt9'/);
});

test("bad checkpoints: missing config keys, shapes that do not fit, truncated weights, no weights", async () => {
  const work = mkdtempSync(join(tmpdir(), "ft-bad-model-"));
  const cfg = JSON.parse(readFileSync(dir("tiny-bert", "config.json"), "utf8"));
  const noHidden = join(work, "no-hidden");
  (await import("node:fs")).mkdirSync(noHidden);
  delete cfg.num_hidden_layers;
  writeFileSync(join(noHidden, "config.json"), JSON.stringify({ ...cfg, hidden_size: null }));
  copyFileSync(dir("tiny-bert", "model.safetensors"), join(noHidden, "model.safetensors"));
  await assert.rejects(AutoModelForSequenceClassification.fromPretrained(noHidden), /config.json of this bert model has no 'hidden_size'/);

  await assert.rejects(AutoModelForSequenceClassification.fromPretrained(dir("tiny-bert"), { numLabels: 5 }), (e: Error) => {
    assert.match(
      e.message,
      /size mismatch for classifier.weight: copying a param with shape torch.Size\(\[3, 32\]\) from checkpoint, the shape in current model is torch.Size\(\[5, 32\]\)/,
    );
    assert.match(e.message, /ignoreMismatchedSizes: true/);
    return true;
  });
  const { value: resized, warnings } = await captureWarnings(() =>
    AutoModelForSequenceClassification.fromPretrained(dir("tiny-bert"), { numLabels: 5, ignoreMismatchedSizes: true }),
  );
  assert.equal(resized.config.numLabels, 5);
  assert.match(
    warnings.join("\n"),
    /newly initialized because the shapes did not match:\n- classifier.weight: found shape torch.Size\(\[3, 32\]\) in the checkpoint and torch.Size\(\[5, 32\]\) in the model instantiated\n- classifier.bias: found shape torch.Size\(\[3\]\) in the checkpoint and torch.Size\(\[5\]\) in the model instantiated\nYou should probably TRAIN/,
  );

  const truncated = join(work, "truncated");
  (await import("node:fs")).mkdirSync(truncated);
  copyFileSync(dir("tiny-bert", "config.json"), join(truncated, "config.json"));
  copyFileSync(dir("tiny-bert", "model.safetensors"), join(truncated, "model.safetensors"));
  truncateSync(join(truncated, "model.safetensors"), statSync(join(truncated, "model.safetensors")).size - 100);
  await assert.rejects(AutoModelForSequenceClassification.fromPretrained(truncated), /model.safetensors: invalid safetensors file: .*truncated/);
  const noWeights = join(work, "no-weights");
  (await import("node:fs")).mkdirSync(noWeights);
  copyFileSync(dir("tiny-bert", "config.json"), join(noWeights, "config.json"));
  await assert.rejects(
    AutoModelForSequenceClassification.fromPretrained(noWeights),
    /Error no file named model.safetensors, model.safetensors.index.json or pytorch_model.bin found in directory/,
  );
  const badBin = join(work, "bad-bin");
  (await import("node:fs")).mkdirSync(badBin);
  copyFileSync(dir("tiny-bert", "config.json"), join(badBin, "config.json"));
  writeFileSync(join(badBin, "pytorch_model.bin"), "not a zip");
  await assert.rejects(AutoModelForSequenceClassification.fromPretrained(badBin), /pytorch_model.bin: not a zip archive/);
  await assert.rejects(
    AutoModelForSequenceClassification.fromPretrained(join(work, "nowhere")),
    /nowhere does not exist: it is written as a local path, so it was not looked up on the hub/,
  );
});

test("after manualSeed, fromPretrained draws only the missing weights, in HF's order (equal to torch.manual_seed + from_pretrained)", async () => {
  const golden = torch.loadFile(dir("init_missing.safetensors"));
  const checkpoint = torch.loadFile(dir("tiny-bert-pretraining", "model.safetensors"));
  setWarningSink(() => {});
  try {
    torch.manualSeed(1234);
    const m = (await AutoModelForSequenceClassification.fromPretrained(dir("tiny-bert-pretraining"), { numLabels: 3 })) as PreTrainedModel;
    const next = torch.rand([4]);
    const state = m.stateDict();
    assert.ok(state.get("classifier.weight")!.equal(golden.get("classifier_only.classifier.weight")!), "classifier.weight: PyTorch's draw");
    assert.ok(state.get("classifier.bias")!.equal(torch.zeros([3])), "classifier.bias: zeros");
    assert.ok(next.equal(golden.get("classifier_only.next")!), "the generator was consumed by exactly that draw");
    assert.ok(state.get("bert.pooler.dense.weight")!.equal(checkpoint.get("bert.pooler.dense.weight")!), "loaded weights are the checkpoint's");

    // Without the pooler in the checkpoint: the pooler is drawn first (post-order), then the classifier.
    const noPooler = mkdtempSync(join(tmpdir(), "ft-no-pooler-"));
    torch.saveFile(new Map([...checkpoint].filter(([k]) => !k.startsWith("bert.pooler."))), join(noPooler, "model.safetensors"));
    writeFileSync(join(noPooler, "config.json"), readFileSync(dir("tiny-bert-pretraining", "config.json")));
    torch.manualSeed(1234);
    const p = (await AutoModelForSequenceClassification.fromPretrained(noPooler, { numLabels: 3 })) as PreTrainedModel;
    const pNext = torch.rand([4]);
    const ps = p.stateDict();
    assert.ok(ps.get("bert.pooler.dense.weight")!.equal(golden.get("with_pooler.bert.pooler.dense.weight")!));
    assert.ok(ps.get("classifier.weight")!.equal(golden.get("with_pooler.classifier.weight")!));
    assert.ok(pNext.equal(golden.get("with_pooler.next")!));
    torch.dispose([next, pNext]);
  } finally {
    setWarningSink(null);
    torch.dispose([...golden.values(), ...checkpoint.values()]);
  }
});

test("regression under bf16 autocast: the MSE takes the float32 labels as they are (HF's MSELoss under autocast), not labels rounded to bf16", () => {
  torch.manualSeed(3);
  const model = AutoModelForSequenceClassification.fromConfig({
    model_type: "bert",
    vocab_size: 30,
    hidden_size: 16,
    num_hidden_layers: 1,
    num_attention_heads: 2,
    intermediate_size: 16,
    max_position_embeddings: 16,
    num_labels: 1,
  });
  model.eval();
  // Targets bf16 cannot hold (3.8 becomes 3.796875): the loss shows which were used.
  const targets = [1.1, 2.3, 3.8, 4.9];
  torch.noGrad(() =>
    torch.tidy(() => {
      const input_ids = torch.tensor([
        [2, 5, 6, 3],
        [2, 7, 3, 0],
        [2, 8, 9, 3],
        [2, 4, 3, 0],
      ]);
      const attention_mask = torch.tensor([
        [1, 1, 1, 1],
        [1, 1, 1, 0],
        [1, 1, 1, 1],
        [1, 1, 1, 0],
      ]);
      const labels = torch.tensor(Float32Array.from(targets));
      const out = torch.autocast({ deviceType: "cpu", dtype: "bfloat16" }, () => model.forward({ input_ids, attention_mask, labels }));
      assert.equal(out.logits!.dtype, "bfloat16");
      assert.equal(out.loss!.dtype, "float32");
      // Independent: the bf16 logits widened, against the float32 targets, in doubles.
      const logits = Array.from(out.logits!.float().dataSync() as Float32Array);
      const f32 = Array.from(Float32Array.from(targets));
      const want = logits.reduce((s, x, i) => s + (x - f32[i]) ** 2, 0) / logits.length;
      assert.ok(Math.abs(out.loss!.item() - want) <= 1e-5 * Math.max(1, want), `loss ${out.loss!.item()} vs ${want}`);
      const rounded = Array.from(torch.tensor(Float32Array.from(targets)).to("bfloat16").float().dataSync() as Float32Array);
      const wrong = logits.reduce((s, x, i) => s + (x - rounded[i]) ** 2, 0) / logits.length;
      assert.ok(Math.abs(want - wrong) > 1e-4, "the two readings differ on these targets");
    }),
  );
});
