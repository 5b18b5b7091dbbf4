// The Hugging Face course's chapter 7 question answering (SQuAD, extractive), line by line in
// TypeScript: windows of 384 tokens with a stride of 128 over long contexts, the answer's start and
// end tokens found through the offsets, the Trainer, and the course's postprocessing (n-best 20,
// answers of at most 30 tokens) scored by evaluate's squad metric. SQUAD_DIR names the folder of
// SQuAD's JSON files (the hub's squad otherwise); CHECKPOINT (default bert-base-cased) the model;
// TRAIN_SPLIT (default train), TRAIN_ROWS, EVAL_ROWS and MAX_STEPS shorten the run.
import { loadDataset } from "finetune-ts/datasets";
import { AutoTokenizer, AutoModelForQuestionAnswering, TrainingArguments, Trainer } from "finetune-ts";
import * as evaluate from "finetune-ts/evaluate";

const rawDatasets = await loadDataset("squad", { dataDir: process.env.SQUAD_DIR });
console.log(rawDatasets.toString());
const firstRow = rawDatasets.validation.select([0]);
console.log("Context: ", firstRow.column("context")[0].slice(0, 80), "…");
console.log("Question: ", firstRow.column("question")[0]);
console.log("Answer: ", firstRow.column("answers")[0]);

const modelCheckpoint = process.env.CHECKPOINT ?? "bert-base-cased";
const tokenizer = await AutoTokenizer.fromPretrained(process.env.TOKENIZER ?? modelCheckpoint);

// The windows of one long context, as the course shows them (max_length 100, stride 50).
const context = firstRow.column("context")[0];
const question = firstRow.column("question")[0];
const windows = tokenizer(question, context, {
  maxLength: 100,
  truncation: "only_second",
  stride: 50,
  returnOverflowingTokens: true,
  returnOffsetsMapping: true,
});
for (const ids of windows.input_ids) console.log(tokenizer.decode(ids));

const maxLength = 384;
const stride = 128;

// Python counts offsets and answer_start in code points; JavaScript's .length counts UTF-16 units.
const length = (s: string) => Array.from(s).length;

function preprocessTrainingExamples(examples: { question: string[]; context: string[]; answers: { text: string[]; answer_start: number[] }[] }) {
  const questions = examples.question.map((q) => q.trim());
  const inputs = tokenizer(questions, examples.context, {
    maxLength,
    truncation: "only_second",
    stride,
    returnOverflowingTokens: true,
    returnOffsetsMapping: true,
    padding: "max_length",
  });
  const offsetMapping = inputs.offset_mapping;
  const sampleMap = inputs.overflow_to_sample_mapping;
  const answers = examples.answers;
  const startPositions: number[] = [];
  const endPositions: number[] = [];

  offsetMapping.forEach((offset, i) => {
    const sampleIdx = sampleMap[i];
    const answer = answers[sampleIdx];
    const startChar = answer.answer_start[0];
    const endChar = answer.answer_start[0] + length(answer.text[0]);
    const sequenceIds = inputs.sequenceIds(i);

    // Find the start and end of the context
    let idx = 0;
    while (sequenceIds[idx] !== 1) idx += 1;
    const contextStart = idx;
    while (sequenceIds[idx] === 1) idx += 1;
    const contextEnd = idx - 1;

    // If the answer is not fully inside the context, label is (0, 0)
    if (offset[contextStart][0] > startChar || offset[contextEnd][1] < endChar) {
      startPositions.push(0);
      endPositions.push(0);
    } else {
      // Otherwise it's the start and end token positions
      idx = contextStart;
      while (idx <= contextEnd && offset[idx][0] <= startChar) idx += 1;
      startPositions.push(idx - 1);

      idx = contextEnd;
      while (idx >= contextStart && offset[idx][1] >= endChar) idx -= 1;
      endPositions.push(idx + 1);
    }
  });
  return {
    input_ids: inputs.input_ids,
    token_type_ids: inputs.token_type_ids ?? [],
    attention_mask: inputs.attention_mask,
    start_positions: startPositions,
    end_positions: endPositions,
  };
}

function preprocessValidationExamples(examples: { id: string[]; question: string[]; context: string[] }) {
  const questions = examples.question.map((q) => q.trim());
  const inputs = tokenizer(questions, examples.context, {
    maxLength,
    truncation: "only_second",
    stride,
    returnOverflowingTokens: true,
    returnOffsetsMapping: true,
    padding: "max_length",
  });
  const sampleMap = inputs.overflow_to_sample_mapping;
  const exampleIds: string[] = [];
  const offsetMapping: ([number, number] | null)[][] = [];
  for (let i = 0; i < inputs.input_ids.length; i++) {
    const sampleIdx = sampleMap[i];
    exampleIds.push(examples.id[sampleIdx]);
    const sequenceIds = inputs.sequenceIds(i);
    offsetMapping.push(inputs.offset_mapping[i].map((o, k) => (sequenceIds[k] === 1 ? o : null)));
  }
  return {
    input_ids: inputs.input_ids,
    token_type_ids: inputs.token_type_ids ?? [],
    attention_mask: inputs.attention_mask,
    offset_mapping: offsetMapping,
    example_id: exampleIds,
  };
}

const rows = (n: string | undefined, total: number, from = 0) => Array.from({ length: Math.min(Number(n ?? total), total - from) }, (_, i) => from + i);
const trainSplit = rawDatasets.get(process.env.TRAIN_SPLIT === "validation" ? "validation" : "train");
// Trained on the validation split (CI has SQuAD's dev file only), the evaluation takes the rows after the training ones.
const evalFrom = process.env.TRAIN_SPLIT === "validation" ? Number(process.env.TRAIN_ROWS ?? 0) : 0;
const rawTrain = trainSplit.select(rows(process.env.TRAIN_ROWS, trainSplit.numRows));
const rawValidation = rawDatasets.validation.select(rows(process.env.EVAL_ROWS, rawDatasets.validation.numRows, evalFrom));

const trainDataset = await rawTrain.map(preprocessTrainingExamples, { batched: true, removeColumns: rawTrain.columnNames });
console.log(rawTrain.numRows, trainDataset.numRows);
const validationDataset = await rawValidation.map(preprocessValidationExamples, { batched: true, removeColumns: rawValidation.columnNames });
console.log(rawValidation.numRows, validationDataset.numRows);

const metric = await evaluate.load("squad");

const model = await AutoModelForQuestionAnswering.fromPretrained(modelCheckpoint);
const args = new TrainingArguments({
  outputDir: process.env.OUTPUT_DIR ?? "bert-finetuned-squad",
  evalStrategy: "no",
  saveStrategy: "epoch",
  learningRate: 2e-5,
  numTrainEpochs: 3,
  weightDecay: 0.01,
  maxSteps: Number(process.env.MAX_STEPS ?? -1),
});
const trainer = new Trainer({ model, args, trainDataset, evalDataset: validationDataset, processingClass: tokenizer });
await trainer.train();

const { predictions } = await trainer.predict(validationDataset);
const [startLogits, endLogits] = predictions;
console.log(startLogits.shape, endLogits.shape);
const predictedAnswers = evaluate.postprocessQaPredictions({
  startLogits,
  endLogits,
  features: validationDataset,
  examples: rawValidation,
  nBest: 20,
  maxAnswerLength: 30,
});
const answers = rawValidation.column("answers");
const theoreticalAnswers = rawValidation.column("id").map((id, i) => ({ id, answers: answers[i] }));
console.log(predictedAnswers[0], theoreticalAnswers[0]);
console.log(JSON.stringify(metric.compute({ predictions: predictedAnswers, references: theoreticalAnswers })));
