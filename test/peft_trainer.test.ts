// The Trainer with a PeftModel, as HF's Trainer with PEFT: only the adapter's tensors reach the
// optimizer and the checkpoints (adapter_model.safetensors + adapter_config.json, no base weights), a
// resumed run ends bit for bit where the uninterrupted one does, loadBestModelAtEnd loads the best
// checkpoint's adapter, and the final saveModel writes the adapter folder that PeftModel.fromPretrained reads.
import { test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, readdirSync } from "node:fs";
import { join } from "node:path";
import * as torch from "../src/torch/index.js";
import { Trainer, TrainingArguments } from "../src/trainer/index.js";
import { LoraConfig, PeftModel, getPeftModel } from "../src/peft/index.js";
import { out, padCollator, quiet, silenced, interruptedRun, tinyModel, toyDataset, zip } from "./trainer_helpers.js";

const lora = () => {
  const base = tinyModel();
  torch.manualSeed(1);
  return getPeftModel(base, new LoraConfig({ r: 4, loraAlpha: 8, loraDropout: 0.1, taskType: "SEQ_CLS" }));
};

test("a LoRA run's checkpoints hold the adapter only, and resuming from one ends bit for bit where the uninterrupted run ends", async () => {
  const ds = toyDataset(40, 3);
  const { full, dir, argsFor } = await interruptedRun(lora, ds, 2);
  const files = readdirSync(join(dir, "checkpoint-7")).sort();
  assert.ok(files.includes("adapter_model.safetensors") && files.includes("adapter_config.json"), files.join(", "));
  assert.ok(!files.includes("model.safetensors") && !files.includes("config.json"), files.join(", "));
  // The adapter's tensors: lora A/B of query and value, and the classifier's trained copy (PEFT's modules_to_save).
  const saved = torch.loadFile(join(dir, "checkpoint-7", "adapter_model.safetensors"));
  assert.deepEqual([...saved.keys()].sort(), [
    "base_model.model.bert.encoder.layer.0.attention.self.query.lora_A.weight",
    "base_model.model.bert.encoder.layer.0.attention.self.query.lora_B.weight",
    "base_model.model.bert.encoder.layer.0.attention.self.value.lora_A.weight",
    "base_model.model.bert.encoder.layer.0.attention.self.value.lora_B.weight",
    "base_model.model.classifier.bias",
    "base_model.model.classifier.weight",
  ]);
  // The optimizer holds the trainable tensors only: exp_avg and exp_avg_sq of each of the 6.
  const opt = torch.loadFile(join(dir, "checkpoint-7", "optimizer.safetensors"));
  assert.equal([...opt.keys()].filter((k) => /exp_avg_sq/.test(k)).length, 6);
  torch.dispose([saved, opt]);

  const resumed = lora();
  torch.manualSeed(999); // resuming restores the RNG
  const r = await silenced(() =>
    new Trainer({ model: resumed, args: argsFor(dir), trainDataset: ds, dataCollator: padCollator }).train({ resumeFromCheckpoint: join(dir, "checkpoint-7") }),
  );
  assert.equal(r.globalStep, 20);
  for (const [[n, p], [, q]] of zip([...resumed.namedParameters()], [...full.namedParameters()]))
    assert.ok(p.equal(q), `${n}: resumed run differs from the uninterrupted one`);
  // The base stayed frozen through it all.
  const base = tinyModel();
  for (const [n, p] of base.namedParameters()) {
    const key = n.startsWith("classifier.")
      ? n.replace("classifier.", "classifier.original_module.")
      : n.replace(/(query|value)\.(weight|bias)$/, "$1.base_layer.$2");
    const q = [...resumed.model.namedParameters()].find(([k]) => k === key)?.[1];
    assert.ok(q, `no ${key}`);
    assert.ok(p.equal(q), `${key} moved`);
  }
});

test("loadBestModelAtEnd loads the best checkpoint's adapter; saveModel writes the adapter folder PeftModel.fromPretrained reads", async () => {
  const ds = toyDataset(32, 5);
  const evalDs = toyDataset(16, 6);
  const dir = out();
  const model = lora();
  const trainer = new Trainer({
    model,
    // "Best" = the highest eval loss, so the best checkpoint is the first epoch's and not the last
    // (eval loss falls every epoch here): loading it must move the adapter away from the final weights.
    args: new TrainingArguments({
      outputDir: dir,
      perDeviceTrainBatchSize: 4,
      numTrainEpochs: 4,
      learningRate: 1e-1,
      evalStrategy: "epoch",
      saveStrategy: "epoch",
      loadBestModelAtEnd: true,
      metricForBestModel: "loss",
      greaterIsBetter: true,
      seed: 3,
      ...quiet,
    }),
    trainDataset: ds,
    evalDataset: evalDs,
    dataCollator: padCollator,
  });
  await silenced(() => trainer.train());
  const best = trainer.state.best_model_checkpoint;
  assert.equal(best, join(dir, "checkpoint-8"));
  assert.ok(existsSync(join(best, "adapter_model.safetensors")));
  const last = torch.loadFile(join(dir, "checkpoint-32", "adapter_model.safetensors"));
  assert.ok(
    [...last].some(([k, t]) => !t.equal(model.adapterStateDict().get(k)!)),
    "the last checkpoint differs from the best",
  );
  const bestTensors = torch.loadFile(join(best, "adapter_model.safetensors"));
  for (const [k, t] of model.adapterStateDict()) assert.ok(t.equal(bestTensors.get(k)!), `${k} is not the best checkpoint's`);
  const final = join(dir, "final");
  trainer.saveModel(final);
  assert.deepEqual(
    readdirSync(final)
      .filter((f) => !f.startsWith("training_args"))
      .sort(),
    ["adapter_config.json", "adapter_model.safetensors"],
  );
  const back = PeftModel.fromPretrained(tinyModel(), final);
  for (const [k, t] of back.adapterStateDict()) assert.ok(t.equal(bestTensors.get(k)!), k);
  torch.dispose([bestTensors, last]);
});
