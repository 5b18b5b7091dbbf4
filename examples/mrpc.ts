// The Hugging Face course's MRPC fine-tuning, line by line in TypeScript.
// CHECKPOINT (default bert-base-cased) names the model; MAX_STEPS shortens the run (tests use both,
// since pretrained weights cannot be downloaded here).
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
import * as evaluate from "finetune-ts/evaluate";

const raw = await loadDataset("glue", "mrpc"); // DatasetDict: train 3668, validation 408, test 1725
const checkpoint = process.env.CHECKPOINT ?? "bert-base-cased";
const tokenizer = await AutoTokenizer.fromPretrained(process.env.TOKENIZER ?? checkpoint);
const tokenized = await raw.map((ex) => tokenizer(ex.sentence1, ex.sentence2, { truncation: true }), { batched: true });
const dataCollator = new DataCollatorWithPadding({ tokenizer });

const args = new TrainingArguments({
  outputDir: process.env.OUTPUT_DIR ?? "models/test-trainer",
  evalStrategy: "epoch",
  maxSteps: Number(process.env.MAX_STEPS ?? -1),
});
const model = await AutoModelForSequenceClassification.fromPretrained(checkpoint, { numLabels: 2 });
const metric = await evaluate.load("glue", "mrpc");
const computeMetrics = ({ predictions, labelIds }: EvalPrediction) => metric.compute({ predictions: predictions.argmax(-1), references: labelIds });

const trainer = new Trainer({
  model,
  args,
  trainDataset: tokenized["train"],
  evalDataset: tokenized["validation"],
  dataCollator,
  processingClass: tokenizer,
  computeMetrics,
});
const out = await trainer.train(); // TrainOutput { globalStep: 1377, trainingLoss, metrics }
const predictions = await trainer.predict(tokenized["validation"]);
console.log(predictions.predictions.shape, predictions.label_ids.shape); // [408, 2] [408]
const preds = predictions.predictions.argmax(-1);
const scores = metric.compute({ predictions: preds, references: predictions.labelIds }); // { accuracy, f1 }

// Use it: save the fine-tuned model (and its tokenizer), then classify new pairs with a pipeline.
trainer.saveModel();
const classifier = await pipeline("text-classification", args.outputDir);
console.log(
  classifier([
    { text: "The company said its quarterly profit rose 10 percent.", textPair: "Quarterly profit at the company rose by a tenth, it said." },
    { text: "The bill passed the Senate on Tuesday.", textPair: "Shares of the retailer fell sharply in early trading." },
  ]),
); // [{ label: "LABEL_1", score: … }, { label: …, score: … }]
console.log(
  JSON.stringify({
    globalStep: out.globalStep,
    trainingLoss: out.trainingLoss,
    predictions: predictions.predictions.shape,
    labelIds: predictions.labelIds.shape,
    accuracy: scores.accuracy,
    f1: scores.f1,
  }),
);
