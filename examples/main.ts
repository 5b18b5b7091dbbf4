// The main job (`npm run main`): the course's fine-tuning run on a task generated here, so that it
// needs no download — "does token 7 come before token 9?" — with a small BERT built from a config.
// The Trainer prints HF's training block, a progress bar and the evaluation table, where you watch
// the validation accuracy climb.
import * as torch from "../src/torch/index.js";
import { Dataset, DatasetDict } from "../src/datasets/index.js";
import { AutoModelForSequenceClassification } from "../src/models/index.js";
import { Trainer, TrainingArguments, type EvalPrediction } from "../src/trainer/index.js";
import * as evaluate from "../src/evaluate/index.js";

const VOCAB = 32;
const LEN = 16;
const FIRST = 7;
const SECOND = 9;

/** Random token rows holding FIRST and SECOND once each; the label says whether FIRST comes first. */
function makeSplit(n: number, seed: number): Dataset {
  torch.manualSeed(seed);
  const rows: number[][] = [];
  const labels: number[] = [];
  const tokens = torch.randint(2, VOCAB, [n, LEN]).toArray() as number[][];
  const lengths = torch.randint(LEN / 2, LEN + 1, [n]).toArray() as number[];
  const picks = torch.rand([n, 2]).toArray() as number[][];
  for (let i = 0; i < n; i++) {
    const len = lengths[i];
    const row = tokens[i].slice(0, len).map((t) => (t === FIRST || t === SECOND ? t + 2 : t));
    row[0] = 1; // plays [CLS]
    const a = 1 + Math.floor(picks[i][0] * (len - 1));
    let b = 1 + Math.floor(picks[i][1] * (len - 2));
    if (b >= a) b += 1;
    row[a] = FIRST;
    row[b] = SECOND;
    rows.push(row);
    labels.push(a < b ? 1 : 0);
  }
  return Dataset.fromDict({ input_ids: rows, attention_mask: rows.map((r) => r.map(() => 1)), label: labels });
}

const raw = new DatasetDict({ train: makeSplit(2048, 1), validation: makeSplit(512, 2) });
torch.manualSeed(42);
const model = AutoModelForSequenceClassification.fromConfig({
  model_type: "bert",
  vocab_size: VOCAB,
  hidden_size: 64,
  num_hidden_layers: 2,
  num_attention_heads: 4,
  intermediate_size: 128,
  max_position_embeddings: LEN,
  num_labels: 2,
});
const metric = await evaluate.load("accuracy");
const args = new TrainingArguments({
  outputDir: process.env.OUTPUT_DIR ?? "models/main-job",
  evalStrategy: "epoch",
  saveStrategy: "no",
  numTrainEpochs: 6,
  perDeviceTrainBatchSize: 32,
  learningRate: 2e-3,
  warmupRatio: 0.1,
  weightDecay: 0.01,
  loggingSteps: 64,
  logLevel: "info", // HF's log_level: show the "***** Running training *****" block
});
const trainer = new Trainer({
  model,
  args,
  trainDataset: raw.train,
  evalDataset: raw.validation,
  dataCollator: (features) => ({
    input_ids: torch.tensor(padded(features, "input_ids")),
    attention_mask: torch.tensor(padded(features, "attention_mask")),
    labels: torch.tensor(features.map((f) => f.label as number)),
  }),
  computeMetrics: ({ predictions, labelIds }: EvalPrediction) => metric.compute({ predictions: predictions.argmax(-1), references: labelIds! }),
});
console.log(
  `Training a ${model.numParameters().toLocaleString("en-US")}-parameter BERT on "does token ${FIRST} come before token ${SECOND}?" (libtorch ${torch.torchVersion})`,
);
const out = await trainer.train();
console.log(`train_loss ${out.trainingLoss.toFixed(4)}, ${out.metrics.train_samples_per_second} samples/s`);

function padded(features: Record<string, unknown>[], key: string): number[][] {
  const width = Math.max(...features.map((f) => (f[key] as number[]).length));
  return features.map((f) => [...(f[key] as number[]), ...new Array(width - (f[key] as number[]).length).fill(0)]);
}
