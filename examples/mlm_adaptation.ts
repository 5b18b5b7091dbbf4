// The Hugging Face course's chapter 7 "Fine-tuning a masked language model" (domain adaptation), line
// by line in TypeScript: tokenize with word ids, concatenate and cut into chunks of 128 tokens
// (group_texts: a batched map that changes the number of rows), mask 15% of the tokens with
// DataCollatorForLanguageModeling, train, report perplexity = exp(eval_loss) before and after, and
// fill a mask with the adapted model. The course adapts on IMDb; this program reads WikiText-2's raw
// files (WIKITEXT_DIR, with valid.txt for training and test.txt for evaluation) so that it runs
// offline. CHECKPOINT (default distilbert-base-uncased), TRAIN_ROWS, EVAL_ROWS, BATCH_SIZE and MAX_STEPS shorten it.
import { join } from "node:path";
import { loadDataset } from "finetune-ts/datasets";
import { AutoTokenizer, AutoModelForMaskedLM, DataCollatorForLanguageModeling, TrainingArguments, Trainer, pipeline } from "finetune-ts";

const modelCheckpoint = process.env.CHECKPOINT ?? "distilbert-base-uncased";
const model = await AutoModelForMaskedLM.fromPretrained(modelCheckpoint);
console.log(`>>> Number of parameters: ${Math.round(model.numParameters() / 1e6)}M`);
const tokenizer = await AutoTokenizer.fromPretrained(process.env.TOKENIZER ?? modelCheckpoint);

const dir = process.env.WIKITEXT_DIR ?? "wikitext-2";
const rawDatasets = await loadDataset("text", { dataFiles: { train: join(dir, "valid.txt"), test: join(dir, "test.txt") } });
console.log(rawDatasets.toString());

function tokenizeFunction(examples: { text: string[] }) {
  const result = tokenizer(examples.text);
  const wordIds = result.input_ids.map((_, i) => result.wordIds(i));
  return { input_ids: result.input_ids, attention_mask: result.attention_mask, word_ids: wordIds };
}

// Use batched: true to activate fast multithreading!
const tokenizedDatasets = await rawDatasets.map(tokenizeFunction, { batched: true, removeColumns: ["text"] });
console.log(tokenizedDatasets.toString());

const chunkSize = 128;

function groupTexts(examples: { input_ids: number[][]; attention_mask: number[][]; word_ids: (number | null)[][] }) {
  // Concatenate all texts
  const inputIds = examples.input_ids.flat();
  const attentionMask = examples.attention_mask.flat();
  const wordIds = examples.word_ids.flat();
  // We drop the last chunk if it's smaller than chunk_size
  const totalLength = Math.floor(inputIds.length / chunkSize) * chunkSize;
  const chunks = <T>(t: T[]) => Array.from({ length: totalLength / chunkSize }, (_, i) => t.slice(i * chunkSize, (i + 1) * chunkSize));
  // Split by chunks of max_len, and create a new labels column
  return { input_ids: chunks(inputIds), attention_mask: chunks(attentionMask), word_ids: chunks(wordIds), labels: chunks(inputIds) };
}

const lmDatasets = await tokenizedDatasets.map(groupTexts, { batched: true, removeColumns: ["input_ids", "attention_mask", "word_ids"] });
console.log(lmDatasets.toString());
console.log(tokenizer.decode(lmDatasets.train.column("input_ids")[1]).slice(0, 200));

const dataCollator = new DataCollatorForLanguageModeling({ tokenizer, mlmProbability: 0.15 });
const samples = [0, 1].map((i) => ({ input_ids: lmDatasets.train.column("input_ids")[i] }));
const masked = dataCollator(samples).input_ids;
for (let i = 0; i < masked.shape[0]; i++) console.log(`\n'>>> ${tokenizer.decode(masked.select(0, i)).slice(0, 200)}'`);

const rows = (n: string | undefined, total: number) => Array.from({ length: Math.min(Number(n ?? total), total) }, (_, i) => i);
const trainDataset = lmDatasets.train.select(rows(process.env.TRAIN_ROWS, lmDatasets.train.numRows));
const evalDataset = lmDatasets.test.select(rows(process.env.EVAL_ROWS, lmDatasets.test.numRows));

const batchSize = Number(process.env.BATCH_SIZE ?? 64);
// Show the training loss with every epoch
const loggingSteps = Math.max(1, Math.floor(trainDataset.numRows / batchSize));
const modelName = modelCheckpoint.split("/").pop() ?? modelCheckpoint;

const trainingArgs = new TrainingArguments({
  outputDir: process.env.OUTPUT_DIR ?? `${modelName}-finetuned-wikitext`,
  overwriteOutputDir: true,
  evalStrategy: "epoch",
  learningRate: 2e-5,
  weightDecay: 0.01,
  perDeviceTrainBatchSize: batchSize,
  perDeviceEvalBatchSize: batchSize,
  loggingSteps,
  maxSteps: Number(process.env.MAX_STEPS ?? -1),
});

const trainer = new Trainer({ model, args: trainingArgs, trainDataset, evalDataset, dataCollator, processingClass: tokenizer });

const before = await trainer.evaluate();
console.log(`>>> Perplexity: ${Math.exp(before.eval_loss).toFixed(2)}`);
await trainer.train();
const after = await trainer.evaluate();
console.log(`>>> Perplexity: ${Math.exp(after.eval_loss).toFixed(2)}`);

const maskFiller = await pipeline("fill-mask", trainer.model, { tokenizer });
const preds = maskFiller(`This is a great ${tokenizer.maskToken}.`);
for (const pred of preds.flat()) console.log(`>>> ${pred.sequence}`);
console.log(JSON.stringify({ perplexityBefore: Math.exp(before.eval_loss), perplexityAfter: Math.exp(after.eval_loss), trainRows: trainDataset.numRows }));
