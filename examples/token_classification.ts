// The Hugging Face course's chapter 7 token classification (NER on CoNLL-2003), line by line in
// TypeScript. CONLL_DIR names the folder of the shared task's files (the hub's conll2003 otherwise);
// CHECKPOINT (default bert-base-cased) the model; TRAIN_ROWS/EVAL_ROWS and MAX_STEPS shorten the run.
import { loadDataset } from "finetune-ts/datasets";
import {
  AutoTokenizer,
  AutoModelForTokenClassification,
  DataCollatorForTokenClassification,
  TrainingArguments,
  Trainer,
  type EvalPrediction,
} from "finetune-ts";
import * as evaluate from "finetune-ts/evaluate";

const rawDatasets = await loadDataset("conll2003", { dataDir: process.env.CONLL_DIR });
const nerFeature = rawDatasets.train.features.ner_tags;
const labelNames = "feature" in nerFeature && "names" in nerFeature.feature ? nerFeature.feature.names : [];
console.log(labelNames); // ['O', 'B-PER', 'I-PER', 'B-ORG', 'I-ORG', 'B-LOC', 'I-LOC', 'B-MISC', 'I-MISC']

const checkpoint = process.env.CHECKPOINT ?? "bert-base-cased";
const tokenizer = await AutoTokenizer.fromPretrained(process.env.TOKENIZER ?? checkpoint);
const inputs = tokenizer(rawDatasets.train.column("tokens")[0], { isSplitIntoWords: true });
console.log(inputs.wordIds()); // [null, 0, 1, 2, 3, 4, 5, 6, 7, 7, 8, null]: "lamb" is la ##mb

/** A word's label on its first token; its other tokens get the I- label; special tokens -100. */
function alignLabelsWithTokens(labels: number[], wordIds: (number | null)[]): number[] {
  const newLabels: number[] = [];
  let currentWord: number | null = null;
  for (const wordId of wordIds) {
    if (wordId !== currentWord) {
      // Start of a new word!
      currentWord = wordId;
      newLabels.push(wordId === null ? -100 : labels[wordId]);
    } else if (wordId === null) {
      // Special token
      newLabels.push(-100);
    } else {
      // Same word as previous token: B-XXX becomes I-XXX
      let label = labels[wordId];
      if (label % 2 === 1) label += 1;
      newLabels.push(label);
    }
  }
  return newLabels;
}

const rows = (n: string | undefined, total: number) => Array.from({ length: Math.min(Number(n ?? total), total) }, (_, i) => i);
const train = rawDatasets.train.select(rows(process.env.TRAIN_ROWS, rawDatasets.train.numRows));
const validation = rawDatasets.validation.select(rows(process.env.EVAL_ROWS, rawDatasets.validation.numRows));
const tokenize = async (ds: typeof train) =>
  ds.map(
    (examples) => {
      const tokenizedInputs = tokenizer(examples.tokens, { truncation: true, isSplitIntoWords: true });
      const labels = examples.ner_tags.map((l, i) => alignLabelsWithTokens(l, tokenizedInputs.wordIds(i)));
      return { ...tokenizedInputs, labels };
    },
    { batched: true, removeColumns: ds.columnNames },
  );
const tokenizedTrain = await tokenize(train);
const tokenizedValidation = await tokenize(validation);

const dataCollator = new DataCollatorForTokenClassification({ tokenizer });
const metric = await evaluate.load("seqeval");

function computeMetrics({ predictions, labelIds }: EvalPrediction) {
  // Remove ignored index (special tokens) and convert to labels
  const [rowsN, width] = labelIds.shape;
  const preds = predictions.argmax(-1).dataSync();
  const labels = labelIds.dataSync();
  const trueLabels: string[][] = [];
  const truePredictions: string[][] = [];
  for (let r = 0; r < rowsN; r++) {
    const l: string[] = [];
    const p: string[] = [];
    for (let c = 0; c < width; c++) {
      const label = Number(labels[r * width + c]);
      if (label === -100) continue;
      l.push(labelNames[label]);
      p.push(labelNames[Number(preds[r * width + c])]);
    }
    trueLabels.push(l);
    truePredictions.push(p);
  }
  const allMetrics = metric.compute({ predictions: truePredictions, references: trueLabels });
  return { precision: allMetrics.overall_precision, recall: allMetrics.overall_recall, f1: allMetrics.overall_f1, accuracy: allMetrics.overall_accuracy };
}

const id2label = Object.fromEntries(labelNames.map((label, i) => [String(i), label]));
const label2id = Object.fromEntries(labelNames.map((label, i) => [label, i]));
const model = await AutoModelForTokenClassification.fromPretrained(checkpoint, { id2label, label2id, numLabels: labelNames.length });

const args = new TrainingArguments({
  outputDir: process.env.OUTPUT_DIR ?? "bert-finetuned-ner",
  evalStrategy: "epoch",
  saveStrategy: "epoch",
  learningRate: 2e-5,
  numTrainEpochs: 3,
  weightDecay: 0.01,
  maxSteps: Number(process.env.MAX_STEPS ?? -1),
});
const trainer = new Trainer({
  model,
  args,
  trainDataset: tokenizedTrain,
  evalDataset: tokenizedValidation,
  dataCollator,
  computeMetrics,
  processingClass: tokenizer,
});
const out = await trainer.train();
const metrics = await trainer.evaluate();
console.log(JSON.stringify({ globalStep: out.globalStep, labels: model.config.numLabels, ...metrics }));
