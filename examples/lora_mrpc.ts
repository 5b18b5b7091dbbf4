// The course's MRPC fine-tuning with a LoRA adapter, as people run it with PEFT: the same program as
// examples/mrpc.ts, but only rank-8 adapters on query/value and the classifier train; the adapter is
// saved as PEFT saves it, loaded back onto a fresh base, merged, and used in a pipeline.
// CHECKPOINT (default bert-base-cased) names the model; MAX_STEPS shortens the run (tests use both).
import { loadDataset } from "finetune-ts/datasets";
import {
  AutoTokenizer,
  DataCollatorWithPadding,
  TrainingArguments,
  AutoModelForSequenceClassification,
  Trainer,
  pipeline,
  type EvalPrediction,
} from "finetune-ts";
import { LoraConfig, PeftModel, getPeftModel } from "finetune-ts/peft";
import * as evaluate from "finetune-ts/evaluate";
import { join } from "node:path";

const raw = await loadDataset("glue", "mrpc");
const checkpoint = process.env.CHECKPOINT ?? "bert-base-cased";
const tokenizer = await AutoTokenizer.fromPretrained(process.env.TOKENIZER ?? checkpoint);
const tokenized = await raw.map((ex) => tokenizer(ex.sentence1, ex.sentence2, { truncation: true }), { batched: true });

const base = await AutoModelForSequenceClassification.fromPretrained(checkpoint, { numLabels: 2 });
const model = getPeftModel(base, new LoraConfig({ taskType: "SEQ_CLS", r: 8, loraAlpha: 16, loraDropout: 0.1 }));
model.printTrainableParameters(); // trainable params: … || all params: … || trainable%: …

const outputDir = process.env.OUTPUT_DIR ?? "models/mrpc-lora";
const args = new TrainingArguments({
  outputDir,
  evalStrategy: "epoch",
  learningRate: 2e-4, // LoRA trains far fewer weights, with a larger step than a full fine-tune
  maxSteps: Number(process.env.MAX_STEPS ?? -1),
});
const metric = await evaluate.load("glue", "mrpc");
const computeMetrics = ({ predictions, labelIds }: EvalPrediction) => metric.compute({ predictions: predictions.argmax(-1), references: labelIds });
const trainer = new Trainer({
  model,
  args,
  trainDataset: tokenized["train"],
  evalDataset: tokenized["validation"],
  dataCollator: new DataCollatorWithPadding({ tokenizer }),
  processingClass: tokenizer,
  computeMetrics,
});
const out = await trainer.train();
const scores = await trainer.evaluate();

// The adapter folder (adapter_config.json + adapter_model.safetensors) is what PEFT's save_pretrained writes.
const adapterDir = join(outputDir, "adapter");
model.savePretrained(adapterDir);
const loaded = PeftModel.fromPretrained(await AutoModelForSequenceClassification.fromPretrained(checkpoint, { numLabels: 2 }), adapterDir);
const merged = loaded.mergeAndUnload();
const classifier = await pipeline("text-classification", merged, { tokenizer });
console.log(
  classifier([
    { text: "The company said its quarterly profit rose 10 percent.", textPair: "Quarterly profit at the company rose by a tenth, it said." },
    { text: "The bill passed the Senate on Tuesday.", textPair: "Shares of the retailer fell sharply in early trading." },
  ]),
);
console.log(JSON.stringify({ globalStep: out.globalStep, trainingLoss: out.trainingLoss, evalLoss: scores.eval_loss, accuracy: scores.eval_accuracy }));
