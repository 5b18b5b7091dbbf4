// The same seed gives Hugging Face's numbers: a run of the Trainer equals
// scripts/golden/hf_trainer_rng.py, which replays HF's Trainer with every random draw in HF's order
// (the missing classifier drawn after manualSeed, the Trainer's seed, per-epoch permutations, the
// DataLoader base-seed draws, dropout) — on MRPC, dropout on, accumulation 2 with a short last group.
import { test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as torch from "../src/torch/index.js";
import { loadDataset } from "../src/datasets/index.js";
import { AutoTokenizer } from "../src/tokenizers/index.js";
import { AutoModelForSequenceClassification, setWarningSink, type PreTrainedModel } from "../src/models/index.js";
import { Trainer, TrainingArguments } from "../src/trainer/index.js";
import { fixture, repoRoot, withEnv, needs } from "./helpers.js";
import { silenced } from "./trainer_helpers.js";

const shared = join(repoRoot, "..", "shared", "data");
const noShared = needs("shared", existsSync(join(shared, "hf-home")), "../shared/data is absent");

test("the same seed gives HF's numbers: every loss, grad_norm, learning rate and eval loss of a 42-step run with dropout", { skip: noShared }, async () => {
  const golden = JSON.parse(readFileSync(fixture("golden", "trainer", "hf_trainer_rng.json"), "utf8"));
  // The encoder-only checkpoint the script uses: tiny-bert-cased without its classifier, dropout 0.1.
  const ckpt = mkdtempSync(join(tmpdir(), "ft-encoder-only-"));
  const source = fixture("golden", "trainer", "tiny-bert-cased");
  const weights = torch.loadFile(join(source, "model.safetensors"));
  torch.saveFile(new Map([...weights].filter(([k]) => !k.startsWith("classifier."))), join(ckpt, "model.safetensors"));
  torch.dispose([...weights.values()]);
  const config = JSON.parse(readFileSync(join(source, "config.json"), "utf8"));
  writeFileSync(join(ckpt, "config.json"), JSON.stringify({ ...config, hidden_dropout_prob: 0.1, attention_probs_dropout_prob: 0.1 }));

  await withEnv({ HF_HOME: join(shared, "hf-home"), HF_HUB_OFFLINE: "1", HF_DATASETS_CACHE: mkdtempSync(join(tmpdir(), "ft-rng-")) }, async () => {
    const raw = await loadDataset("glue", "mrpc");
    const tokenizer = await AutoTokenizer.fromPretrained("bert-base-cased");
    const tokenized = await raw.map(
      (ex) => tokenizer((ex as { sentence1: string[] }).sentence1, (ex as { sentence2: string[] }).sentence2, { truncation: true }),
      { batched: true },
    );
    setWarningSink(() => {});
    torch.manualSeed(golden.model_seed);
    const model = (await AutoModelForSequenceClassification.fromPretrained(ckpt, {
      numLabels: golden.num_labels,
      attnImplementation: "eager",
    })) as PreTrainedModel;
    setWarningSink(null);
    const args = new TrainingArguments({
      outputDir: mkdtempSync(join(tmpdir(), "ft-rng-out-")),
      seed: golden.seed,
      numTrainEpochs: golden.epochs,
      perDeviceTrainBatchSize: golden.batch,
      perDeviceEvalBatchSize: golden.eval_batch,
      gradientAccumulationSteps: golden.gradient_accumulation_steps,
      learningRate: golden.learning_rate,
      weightDecay: golden.weight_decay,
      warmupRatio: golden.warmup_ratio,
      maxGradNorm: golden.max_grad_norm,
      loggingSteps: 1,
      evalStrategy: "epoch",
      saveStrategy: "no",
      disableTqdm: true,
      optim: "adamw_torch",
      useCpu: true, // the golden is a CPU run: CUDA draws other dropout masks
    });
    const range = (n: number) => Array.from({ length: n }, (_, i) => i);
    const trainer = new Trainer({
      model,
      args,
      processingClass: tokenizer,
      trainDataset: tokenized.train.select(range(golden.n_train)),
      evalDataset: tokenized.validation.select(range(golden.n_eval)),
    });
    await silenced(() => trainer.train());
    assert.equal(trainer.state.global_step, golden.max_steps);
    const logs = trainer.state.log_history.filter((e) => "loss" in e);
    assert.equal(logs.length, golden.logs.length);
    logs.forEach((e, i) => {
      const want = golden.logs[i];
      // Unrounded on both sides, as transformers 5 logs them (the golden keeps tr_loss a float32 tensor, as HF does).
      assert.ok(Math.abs(e.loss - want.loss) <= 1e-6 * Math.max(1, want.loss), `loss at step ${i + 1}: ${e.loss} vs HF ${want.loss}`);
      assert.ok(
        Math.abs(e.grad_norm - want.grad_norm) <= 1e-6 * Math.max(1, want.grad_norm),
        `grad_norm at step ${i + 1}: ${e.grad_norm} vs HF ${want.grad_norm}`,
      );
      assert.ok(Math.abs(e.learning_rate - want.learning_rate) <= 1e-12, `learning_rate at step ${i + 1}: ${e.learning_rate} vs HF ${want.learning_rate}`);
    });
    const evals = trainer.state.log_history.filter((e) => "eval_loss" in e).map((e) => e.eval_loss);
    assert.equal(evals.length, golden.eval_losses.length);
    evals.forEach((v, i) =>
      assert.ok(
        Math.abs(v - golden.eval_losses[i]) <= 1e-6 * Math.max(1, golden.eval_losses[i]),
        `eval_loss after epoch ${i + 1}: ${v} vs HF ${golden.eval_losses[i]}`,
      ),
    );
  });
});
