// Supervised fine-tuning with a LoRA adapter, as people run TRL's SFTTrainer with PEFT: a chat
// dataset through the model's chat template, rank-16 adapters on every linear layer, packed rows;
// then the adapter is saved as PEFT saves it, loaded back onto a fresh base, merged, and asked a question.
// CHECKPOINT (default HuggingFaceTB/SmolLM2-135M-Instruct) names the model, or MODEL_CONFIG a config.json
// to start from random weights (then TOKENIZER names the tokenizer); DATA_FILE a .json/.jsonl of
// { messages } (default: TRL's trl-lib/Capybara from the hub); MAX_STEPS and MAX_LENGTH shorten the run.
import * as torch from "finetune-ts/torch";
import { readFileSync } from "node:fs";
import { loadDataset, type Dataset } from "finetune-ts/datasets";
import { AutoModelForCausalLM, AutoTokenizer } from "finetune-ts";
import { LoraConfig, PeftModel } from "finetune-ts/peft";
import { SFTConfig, SFTTrainer } from "finetune-ts/trl";

const checkpoint = process.env.CHECKPOINT ?? "HuggingFaceTB/SmolLM2-135M-Instruct";
const tokenizer = await AutoTokenizer.fromPretrained(process.env.TOKENIZER ?? checkpoint);
// The base model: the checkpoint, or random weights from a config (the same seed makes the same base twice).
async function baseModel() {
  if (!process.env.MODEL_CONFIG) return AutoModelForCausalLM.fromPretrained(checkpoint);
  torch.manualSeed(42);
  return AutoModelForCausalLM.fromConfig(JSON.parse(readFileSync(process.env.MODEL_CONFIG, "utf8")));
}

const dataset: Dataset = process.env.DATA_FILE
  ? await loadDataset("json", { dataFiles: { train: process.env.DATA_FILE }, split: "train" })
  : await loadDataset("trl-lib/Capybara", { split: "train" });

const outputDir = process.env.OUTPUT_DIR ?? "smollm2-sft-lora";
const args = new SFTConfig({
  outputDir,
  maxLength: Number(process.env.MAX_LENGTH ?? 512),
  packing: true, // best-fit-decreasing rows of 512 tokens, padding-free batches
  learningRate: 2e-4,
  perDeviceTrainBatchSize: 4,
  bf16: process.env.BF16 !== "0",
  maxSteps: Number(process.env.MAX_STEPS ?? -1),
});
const trainer = new SFTTrainer({
  model: await baseModel(),
  args,
  trainDataset: dataset,
  processingClass: tokenizer,
  peftConfig: new LoraConfig({ r: 16, loraAlpha: 32, targetModules: "all-linear", taskType: "CAUSAL_LM" }),
});
if (trainer.model instanceof PeftModel) trainer.model.printTrainableParameters();
const out = await trainer.train();
trainer.saveModel(); // adapter_config.json + adapter_model.safetensors (+ the tokenizer), as PEFT and TRL write them

// A fresh base with the adapter loaded, merged into its weights: a plain model again.
const merged = PeftModel.fromPretrained(await baseModel(), outputDir).mergeAndUnload();
merged.eval();
const messages = [{ role: "user", content: "What is the capital of France?" }];
const prompt = tokenizer.applyChatTemplate(messages, { addGenerationPrompt: true });
const generated = await merged.generate(torch.tensor([prompt]), { maxNewTokens: 20, doSample: false });
// The new tokens of the one row, as HF's generated_ids[0][len(prompt):].
const reply = tokenizer.decode(generated.select(0, 0).narrow(0, prompt.length, generated.shape[1] - prompt.length), { skipSpecialTokens: true });
console.log(reply);
console.log(JSON.stringify({ globalStep: out.globalStep, trainLoss: out.trainingLoss, replyTokens: generated.shape[1] - prompt.length }));
