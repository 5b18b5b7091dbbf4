// Fine-tune on MRPC and export for the browser: the course's program, then one call to exportOnnx.
//   node dist/examples/deploy-browser/train.js [web/models]     (then: node dist/examples/deploy-browser/serve.js)
// A small BERT built from a config (bert-base-cased's vocabulary) trains in a minute on a laptop CPU;
// CHECKPOINT=bert-base-cased fine-tunes the real one instead. EPOCHS, MAX_STEPS shorten the run.
import { join } from "node:path";
import { loadDataset } from "finetune-ts/datasets";
import {
  AutoTokenizer,
  AutoModelForSequenceClassification,
  DataCollatorWithPadding,
  Trainer,
  TrainingArguments,
  exportOnnx,
  type PreTrainedModel,
  type PreTrainedTokenizer,
} from "finetune-ts";
import * as torch from "finetune-ts/torch";

/** Trains, writes modelsDir/mrpc, and returns the folder with the model and tokenizer it holds. */
export async function trainAndExport(modelsDir: string): Promise<{ dir: string; model: PreTrainedModel; tokenizer: PreTrainedTokenizer }> {
  const raw = await loadDataset("glue", "mrpc");
  const tokenizer = await AutoTokenizer.fromPretrained("bert-base-cased");
  const tokenized = await raw.map((ex) => tokenizer(ex.sentence1, ex.sentence2, { truncation: true }), { batched: true });
  const labels = { id2label: { "0": "not_equivalent", "1": "equivalent" }, label2id: { not_equivalent: 0, equivalent: 1 } };
  torch.manualSeed(42);
  const model = process.env.CHECKPOINT
    ? await AutoModelForSequenceClassification.fromPretrained(process.env.CHECKPOINT, { numLabels: 2, ...labels })
    : AutoModelForSequenceClassification.fromConfig({
        model_type: "bert",
        vocab_size: tokenizer.vocabSize,
        hidden_size: 64,
        num_hidden_layers: 2,
        num_attention_heads: 4,
        intermediate_size: 256,
        ...labels,
      });
  const args = new TrainingArguments({
    outputDir: join(modelsDir, ".trainer"),
    saveStrategy: "no",
    perDeviceTrainBatchSize: 32,
    learningRate: 1e-3,
    numTrainEpochs: Number(process.env.EPOCHS ?? 3),
    maxSteps: Number(process.env.MAX_STEPS ?? -1),
    disableTqdm: !process.stdout.isTTY,
  });
  const trainer = new Trainer({
    model,
    args,
    trainDataset: tokenized.train,
    dataCollator: new DataCollatorWithPadding({ tokenizer }),
    processingClass: tokenizer,
  });
  await trainer.train();
  const out = join(modelsDir, "mrpc");
  for (const f of exportOnnx(model, out, { tokenizer, dtype: ["fp32", "fp16", "q8"] })) console.log(`${f.path}  ${(f.bytes / 1024).toFixed(0)} KiB`);
  return { dir: out, model, tokenizer };
}

if (import.meta.url === `file://${process.argv[1]}`) await trainAndExport(process.argv[2] ?? "web/models");
