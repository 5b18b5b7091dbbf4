// The Hugging Face course's chapter 7 "Training a causal language model from scratch", line by line in
// TypeScript: texts cut into 128-token windows (the windows shorter than that dropped), a GPT-2 built
// from its config, DataCollatorForLanguageModeling with mlm: false (labels = inputs, the model shifts
// them), the Trainer with accumulation, a cosine schedule and warmup, perplexity, and generation with
// pipeline("text-generation"). The course trains on codeparrot's Python files; this program reads a text
// file in paragraphs (TEXT_FILE, default tiny Shakespeare's input.txt) so that it runs offline.
// TOKENIZER (default gpt2), N_LAYER/N_EMBD/N_HEAD (GPT-2 small's 12/768/12), MAX_STEPS and ROWS shorten it.
import { loadDataset } from "finetune-ts/datasets";
import { AutoConfig, AutoModelForCausalLM, AutoTokenizer, DataCollatorForLanguageModeling, Trainer, TrainingArguments, pipeline } from "finetune-ts";

const contextLength = 128;
const file = process.env.TEXT_FILE ?? "tinyshakespeare/input.txt";
const paragraphs = await loadDataset("text", { dataFiles: { train: file }, sampleBy: "paragraph", split: "train" });
const rows = Array.from({ length: Math.min(Number(process.env.ROWS ?? paragraphs.numRows), paragraphs.numRows) }, (_, i) => i);
const rawDatasets = paragraphs.select(rows).trainTestSplit({ testSize: 0.1, seed: 42 });
console.log(rawDatasets.toString());

const tokenizer = await AutoTokenizer.fromPretrained(process.env.TOKENIZER ?? "gpt2");
const outputs = tokenizer(rawDatasets.train.column("text").slice(0, 2), {
  truncation: true,
  maxLength: contextLength,
  returnOverflowingTokens: true,
  returnLength: true,
});
console.log(`Input IDs length: ${outputs.input_ids.length}`);
console.log(`Input chunk lengths: ${outputs.length}`);
console.log(`Chunk mapping: ${outputs.overflow_to_sample_mapping}`);

function tokenize(element: { text: string[] }) {
  const outputs = tokenizer(element.text, { truncation: true, maxLength: contextLength, returnOverflowingTokens: true, returnLength: true });
  const inputBatch: number[][] = [];
  outputs.length.forEach((length, i) => {
    if (length === contextLength) inputBatch.push(outputs.input_ids[i]);
  });
  return { input_ids: inputBatch };
}
const tokenizedDatasets = await rawDatasets.map(tokenize, { batched: true, removeColumns: rawDatasets.train.columnNames });
console.log(tokenizedDatasets.toString());

const config = AutoConfig.forModel("gpt2", {
  vocab_size: tokenizer.length,
  n_ctx: contextLength,
  n_positions: Math.max(contextLength, Number(process.env.N_POSITIONS ?? 1024)),
  n_layer: Number(process.env.N_LAYER ?? 12),
  n_embd: Number(process.env.N_EMBD ?? 768),
  n_head: Number(process.env.N_HEAD ?? 12),
  bos_token_id: tokenizer.bosTokenId,
  eos_token_id: tokenizer.eosTokenId,
});
const model = AutoModelForCausalLM.fromConfig(config);
const modelSize = model.numParameters();
console.log(`GPT-2 size: ${(modelSize / 1000 ** 2).toFixed(1)}M parameters`);

tokenizer.padToken = tokenizer.eosToken;
const dataCollator = new DataCollatorForLanguageModeling({ tokenizer, mlm: false });
const out = dataCollator([0, 1, 2, 3, 4].map((i) => ({ input_ids: tokenizedDatasets.train.column("input_ids")[i] })));
for (const [key, value] of Object.entries(out)) console.log(`${key} shape: [${value.shape}]`);

const args = new TrainingArguments({
  outputDir: process.env.OUTPUT_DIR ?? "shakespeare-gpt2",
  perDeviceTrainBatchSize: Number(process.env.BATCH_SIZE ?? 32),
  perDeviceEvalBatchSize: Number(process.env.BATCH_SIZE ?? 32),
  evalStrategy: "steps",
  evalSteps: Number(process.env.EVAL_STEPS ?? 5_000),
  loggingSteps: Number(process.env.EVAL_STEPS ?? 5_000),
  gradientAccumulationSteps: 8,
  numTrainEpochs: 1,
  weightDecay: 0.1,
  warmupSteps: Number(process.env.WARMUP_STEPS ?? 1_000),
  lrSchedulerType: "cosine",
  learningRate: 5e-4,
  saveSteps: 5_000,
  maxSteps: Number(process.env.MAX_STEPS ?? -1),
});
const trainer = new Trainer({
  model,
  processingClass: tokenizer,
  args,
  dataCollator,
  trainDataset: tokenizedDatasets.train,
  evalDataset: tokenizedDatasets.test,
});
await trainer.train();
const metrics = await trainer.evaluate();
console.log(`>>> Perplexity: ${Math.exp(metrics.eval_loss).toFixed(2)}`);

const pipe = await pipeline("text-generation", trainer.model, { tokenizer });
const txt = "ROMEO:\n";
const [generated] = await pipe(txt, { maxNewTokens: Number(process.env.NEW_TOKENS ?? 40), doSample: true, topK: 40 });
console.log(generated.generated_text);
console.log(JSON.stringify({ perplexity: Math.exp(metrics.eval_loss), steps: trainer.state.global_step, trainRows: tokenizedDatasets.train.numRows }));
