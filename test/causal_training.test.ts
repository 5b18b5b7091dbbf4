// Causal-LM training through the Trainer equals a PyTorch loop with transformers 5's num_items_in_batch
// normalization (scripts/golden/causal_training.py): 40 steps with gradient accumulation 2 over
// micro-batches of uneven label counts and padding — every step's loss and the final weights.
import { test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import * as torch from "../src/torch/index.js";
import { AutoTokenizer } from "../src/tokenizers/index.js";
import { AutoModelForCausalLM } from "../src/models/index.js";
import { Dataset } from "../src/datasets/index.js";
import { DataCollatorForLanguageModeling, Trainer, TrainingArguments } from "../src/trainer/index.js";
import { assertClose, fixture, needs, repoRoot } from "./helpers.js";
import { out, quiet } from "./trainer_helpers.js";

const tokenizerDir = join(repoRoot, "..", "shared", "data", "models", "bert-base-cased");
const skip = needs("shared", existsSync(tokenizerDir), "../shared/data is absent");
type Run = { rows: number[][]; losses: number[]; seed: number; batch: number; accumulation: number; epochs: number; lr: number };

test("40 accumulated steps of a Llama: each step's loss and the final weights equal HF's num_items_in_batch loop", { skip }, async () => {
  const run = JSON.parse(readFileSync(fixture("golden", "decoders", "training", "run.json"), "utf8")) as Run;
  const model = await AutoModelForCausalLM.fromPretrained(fixture("golden", "decoders", "llama-llama3"));
  const tokenizer = await AutoTokenizer.fromPretrained(tokenizerDir);
  const args = new TrainingArguments({
    outputDir: out(),
    perDeviceTrainBatchSize: run.batch,
    gradientAccumulationSteps: run.accumulation,
    numTrainEpochs: run.epochs,
    learningRate: run.lr,
    weightDecay: 0,
    seed: run.seed,
    loggingSteps: 1,
    saveStrategy: "no",
    ...quiet,
  });
  const trainer = new Trainer({
    model,
    args,
    trainDataset: Dataset.fromDict({ input_ids: run.rows }),
    dataCollator: new DataCollatorForLanguageModeling({ tokenizer, mlm: false }),
  });
  await trainer.train();
  const losses = trainer.state.log_history.filter((e) => "loss" in e).map((e) => e.loss as number);
  assert.equal(losses.length, run.losses.length);
  losses.forEach((l, i) => assert.ok(Math.abs(l - run.losses[i]) <= 1e-4 * Math.max(1, Math.abs(run.losses[i])), `step ${i + 1}: ${l} vs ${run.losses[i]}`));
  const final = torch.loadFile(fixture("golden", "decoders", "training", "final.safetensors"));
  for (const [name, p] of model.namedParameters()) torch.tidy(() => assertClose(p, final.get(name)!, { rtol: 1e-4, atol: 1e-5, what: name }));
  torch.dispose([final, model.parameters()]);
});
