// TRL's SFTTrainer: SFTConfig's defaults (TRL's, where they differ from TrainingArguments), the
// dataset preparation of each format TRL takes — text, prompt–completion (strings and messages),
// conversations through the chat template, ShareGPT — checked against the tokenizer and the chat
// template directly (both tested against transformers elsewhere), truncation and packing, and a
// training run whose logged token metrics equal an independent computation from the model's logits.
import { test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as torch from "../src/torch/index.js";
import { Dataset } from "../src/datasets/index.js";
import { AutoModelForCausalLM, setWarningSink, type PreTrainedModel } from "../src/models/index.js";
import { AutoTokenizer, type ChatMessage, type PreTrainedTokenizer } from "../src/tokenizers/index.js";
import { LoraConfig, PeftModel, getPeftModel } from "../src/peft/index.js";
import { SFTConfig, SFTTrainer, maybeConvertToChatml, prepareSftDataset, isConversational, tokenStats } from "../src/trl/index.js";
import { needs, repoRoot } from "./helpers.js";

const shared = join(repoRoot, "..", "shared", "data");
const skip = needs("shared", existsSync(join(shared, "models", "Qwen3-tokenizer")), "../shared/data is absent");
const out = () => mkdtempSync(join(tmpdir(), "ft-sft-"));

let qwen: PreTrainedTokenizer | null = null;
async function tokenizer(): Promise<PreTrainedTokenizer> {
  qwen ??= await AutoTokenizer.fromPretrained(join(shared, "models", "Qwen3-tokenizer"));
  return qwen;
}
const jsonl = (file: string, n: number) =>
  readFileSync(file, "utf8")
    .split("\n")
    .filter(Boolean)
    .slice(0, n)
    .map((l) => JSON.parse(l) as Record<string, unknown>);
const gsm8k = (n: number) => jsonl(join(shared, "sft", "gsm8k", "train.jsonl"), n);
const chats = (n: number) =>
  (JSON.parse(readFileSync(join(shared, "sft", "llama-factory", "kto_en_demo.json"), "utf8")) as { messages: ChatMessage[] }[])
    .slice(0, n)
    .map((r) => ({ messages: r.messages }));

async function warnings<T>(fn: () => Promise<T>): Promise<{ result: T; warned: string[] }> {
  const warned: string[] = [];
  setWarningSink((m) => warned.push(m));
  try {
    return { result: await fn(), warned };
  } finally {
    setWarningSink(null);
  }
}

const prepare = async (
  rows: Record<string, unknown>[],
  args: SFTConfig,
  extra: { completionOnlyLoss?: boolean; formattingFunc?: (e: Record<string, unknown>) => string; chatTemplate?: string } = {},
) => {
  const tok = await tokenizer();
  return prepareSftDataset(Dataset.fromList(rows), {
    tokenizer: tok,
    args,
    packing: args.packing,
    completionOnlyLoss: extra.completionOnlyLoss ?? false,
    formattingFunc: extra.formattingFunc ?? null,
    chatTemplate: extra.chatTemplate ?? null,
    eosToken: tok.eosToken!,
    datasetName: "train",
  });
};

test("SFTConfig takes TRL's defaults where they differ from TrainingArguments, and TRL's field names in JSON", () => {
  const c = new SFTConfig({ outputDir: out() });
  assert.equal(c.learningRate, 2e-5);
  assert.equal(c.loggingSteps, 10);
  assert.equal(c.gradientCheckpointing, true);
  assert.equal(c.bf16, true);
  assert.equal(c.maxLength, 1024);
  assert.equal(c.packingStrategy, "bfd");
  assert.equal(c.truncationMode, "keep_start");
  assert.equal(c.completionOnlyLoss, null);
  assert.equal(c.lossType, "chunked_nll");
  assert.equal(new SFTConfig({ outputDir: out(), fp16: true }).bf16, false);
  assert.equal(new SFTConfig({ outputDir: out(), learningRate: 1e-4, bf16: false }).learningRate, 1e-4);
  const json = c.toJSON();
  assert.equal(json.max_length, 1024);
  assert.equal(json.dataset_text_field, "text");
  assert.equal(json.learning_rate, 2e-5);
  const back = SFTConfig.fromDict({ output_dir: "x", max_length: 256, packing: true, packing_strategy: "wrapped", per_device_train_batch_size: 2 });
  assert.equal(back.maxLength, 256);
  assert.equal(back.packingStrategy, "wrapped");
  assert.equal(back.perDeviceTrainBatchSize, 2);
  assert.equal(back.learningRate, 2e-5, "TRL's default survives fromDict");
  assert.throws(() => SFTConfig.fromDict({ output_dir: "x", max_length: "long" }), /max_length must be number/);
  assert.throws(() => new SFTConfig({ outputDir: "x", maxLength: 0 }), /max_length must be a positive integer/);
  assert.throws(() => new SFTConfig({ outputDir: "x", packingStrategy: "greedy" as "bfd" }), /packing_strategy must be/);
});

test("text datasets: EOS appended once, tokenized as the tokenizer does, every token labelled", { skip }, async () => {
  const tok = await tokenizer();
  const text = readFileSync(join(shared, "tinyshakespeare", "input.txt"), "utf8").slice(0, 2000);
  const rows = [{ text: text.slice(0, 300) }, { text: text.slice(300, 500) + tok.eosToken }];
  const ds = await prepare(rows, new SFTConfig({ outputDir: "x" }));
  assert.deepEqual(ds.column("input_ids"), [tok(rows[0].text + tok.eosToken).input_ids, tok(rows[1].text).input_ids]);
  assert.deepEqual(ds.column("labels"), ds.column("input_ids"));
  // A formatting function makes the text (Alpaca's instruction/output here).
  const alpaca = (JSON.parse(readFileSync(join(shared, "sft", "llama-factory", "alpaca_en_demo.json"), "utf8")) as Record<string, string>[]).slice(0, 3);
  const f = (e: Record<string, unknown>) => `### Instruction:\n${String(e.instruction)}\n\n### Response:\n${String(e.output)}`;
  const formatted = await prepare(alpaca, new SFTConfig({ outputDir: "x" }), { formattingFunc: f });
  assert.deepEqual(
    formatted.column("input_ids"),
    alpaca.map((e) => tok(f(e) + tok.eosToken).input_ids),
  );
});

test("prompt–completion (GSM8K): the prompt's tokens are not labelled with completionOnlyLoss, all are without", { skip }, async () => {
  const tok = await tokenizer();
  const rows = gsm8k(4).map((r) => ({ prompt: `Question: ${String(r.question)}\nAnswer:\n`, completion: String(r.answer) }));
  const ds = await prepare(rows, new SFTConfig({ outputDir: "x" }), { completionOnlyLoss: true });
  const all = await prepare(rows, new SFTConfig({ outputDir: "x" }), { completionOnlyLoss: false });
  rows.forEach((r, i) => {
    const ids = tok(r.prompt + r.completion + tok.eosToken).input_ids;
    const promptLength = tok(r.prompt).input_ids.length;
    assert.deepEqual(ds.at(i).input_ids, ids);
    assert.deepEqual(
      ds.at(i).labels,
      ids.map((t, j) => (j < promptLength ? -100 : t)),
    );
    assert.deepEqual(all.at(i).labels, ids);
    // The labelled tokens spell the completion and the EOS.
    assert.equal(tok.decode(ids.slice(promptLength)), r.completion + tok.eosToken);
  });
  assert.ok(!ds.columnNames.includes("completion_mask"), "the mask column goes once labels are built");
});

test("conversations: tokenized through the chat template; assistantOnlyLoss labels exactly the {% generation %} spans", { skip }, async () => {
  const tok = await tokenizer();
  const rows = chats(5);
  assert.ok(isConversational(rows[0]));
  const ds = await prepare(rows, new SFTConfig({ outputDir: "x", maxLength: null }));
  rows.forEach((r, i) => {
    const ids = tok.applyChatTemplate(r.messages, { returnDict: true }).input_ids;
    assert.deepEqual(ds.at(i).input_ids, ids);
    assert.deepEqual(ds.at(i).labels, ids);
  });
  // A ChatML template that marks the assistant's content and end of turn for training.
  const template =
    "{%- for message in messages %}{{ '<|im_start|>' + message['role'] + '\\n' }}{%- if message['role'] == 'assistant' %}{% generation %}{{ message['content'] + '<|im_end|>' }}{% endgeneration %}{{ '\\n' }}{%- else %}{{ message['content'] + '<|im_end|>\\n' }}{%- endif %}{%- endfor %}{%- if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{%- endif %}";
  const masked = await prepare(rows, new SFTConfig({ outputDir: "x", assistantOnlyLoss: true, maxLength: null }), { chatTemplate: template });
  rows.forEach((r, i) => {
    const labels = masked.at(i).labels as number[];
    const spans: number[][] = [];
    labels.forEach((l, j) => {
      if (l === -100) return;
      if (j === 0 || labels[j - 1] === -100) spans.push([]);
      spans[spans.length - 1].push(l);
    });
    const assistant = r.messages.filter((m) => m.role === "assistant").map((m) => `${String(m.content)}<|im_end|>`);
    assert.deepEqual(
      spans.map((s) => tok.decode(s)),
      assistant,
      `conversation ${i}`,
    );
  });
  // Conversational prompt–completion: the prompt through the template with the generation prompt is not labelled.
  const pc = rows.map((r) => ({ prompt: r.messages.slice(0, 1), completion: r.messages.slice(1, 2) }));
  const pcs = await prepare(pc, new SFTConfig({ outputDir: "x", maxLength: null }), { completionOnlyLoss: true });
  pc.forEach((r, i) => {
    const promptLength = tok.applyChatTemplate(r.prompt, { addGenerationPrompt: true, returnDict: true }).input_ids.length;
    const ids = tok.applyChatTemplate([...r.prompt, ...r.completion], { returnDict: true }).input_ids;
    assert.deepEqual(
      pcs.at(i).labels,
      ids.map((t, j) => (j < promptLength ? -100 : t)),
    );
  });
});

test("ShareGPT conversations become ChatML; roles the template cannot render fail, naming the role", { skip }, async () => {
  assert.deepEqual(
    maybeConvertToChatml({
      conversations: [
        { from: "human", value: "Hi" },
        { from: "gpt", value: "Hello" },
      ],
      id: 3,
    }),
    {
      id: 3,
      messages: [
        { role: "human", content: "Hi" },
        { role: "gpt", content: "Hello" },
      ],
    },
  );
  const raw = (JSON.parse(readFileSync(join(shared, "sft", "fastchat", "dummy_conversation.json"), "utf8")) as Record<string, unknown>[]).slice(0, 3);
  await assert.rejects(
    prepare(raw, new SFTConfig({ outputDir: "x" })),
    /example 0: message 0 \(role 'human'\) is missing from what the chat template renders.*'human', 'gpt'/,
  );
  // With the roles mapped, the same data trains.
  const roles: Record<string, string> = { human: "user", gpt: "assistant" };
  const mapped = raw.map((r) => ({
    conversations: (r.conversations as { from: string; value: string }[]).map((m) => ({ from: roles[m.from], value: m.value })),
  }));
  const ds = await prepare(mapped, new SFTConfig({ outputDir: "x" }));
  assert.deepEqual(ds.columnNames, ["messages", "input_ids", "labels"]);
});

test("truncation keeps the start, counts the truncated examples in a warning and drops examples left without labels", { skip }, async () => {
  const tok = await tokenizer();
  const rows = gsm8k(6).map((r, i) => ({ prompt: i === 5 ? "word ".repeat(40) : `Q: ${String(r.question).slice(0, 20)}\nA: `, completion: String(r.answer) }));
  const full = rows.map((r) => tok(r.prompt + r.completion + tok.eosToken).input_ids);
  const { result: ds, warned } = await warnings(() => prepare(rows, new SFTConfig({ outputDir: "x", maxLength: 24 }), { completionOnlyLoss: true }));
  const long = full.filter((ids) => ids.length > 24).length;
  assert.equal(ds.numRows, 5, "the example whose prompt fills max_length has no label left");
  assert.deepEqual(
    ds.column("input_ids"),
    full.slice(0, 5).map((ids) => ids.slice(0, 24)),
  );
  assert.ok(
    warned.some((w) =>
      w.startsWith(
        `${long} of 6 examples in the train dataset are longer than max_length (24) and were truncated to their first 24 tokens; 1 left without any label were dropped`,
      ),
    ),
    warned.join("\n"),
  );
});

test("packing: best-fit-decreasing rows of at most maxLength with seq_lengths, every token kept", { skip }, async () => {
  const rows = gsm8k(12).map((r) => ({ text: String(r.question) }));
  const plain = await prepare(rows, new SFTConfig({ outputDir: "x", maxLength: null }));
  const packed = await prepare(rows, new SFTConfig({ outputDir: "x", maxLength: 128, packing: true }));
  assert.deepEqual(packed.columnNames, ["input_ids", "labels", "seq_lengths"]);
  const lengths = (plain.column("input_ids") as number[][]).map((r) => r.length);
  assert.ok(Math.max(...lengths) <= 128);
  const seqLengths = packed.column("seq_lengths") as number[][];
  assert.deepEqual(
    seqLengths.flat().sort((a, b) => a - b),
    [...lengths].sort((a, b) => a - b),
  );
  for (const [i, ids] of (packed.column("input_ids") as number[][]).entries()) {
    assert.ok(ids.length <= 128);
    assert.equal(
      ids.length,
      seqLengths[i].reduce((a, b) => a + b, 0),
    );
  }
  assert.ok(packed.numRows < plain.numRows);
});

function tinyQwen(vocab: number): PreTrainedModel {
  torch.manualSeed(0);
  return AutoModelForCausalLM.fromConfig({
    model_type: "qwen3",
    vocab_size: vocab,
    hidden_size: 32,
    intermediate_size: 48,
    num_hidden_layers: 2,
    num_attention_heads: 4,
    num_key_value_heads: 2,
    head_dim: 8,
    max_position_embeddings: 256,
    tie_word_embeddings: true,
  });
}

/** Entropy, accuracy and count over the labelled next tokens, computed naively row by row. */
function naiveStats(logits: number[][][], labels: number[][]): { entropy: number; accuracy: number; n: number } {
  let entropy = 0;
  let correct = 0;
  let n = 0;
  logits.forEach((row, b) => {
    for (let t = 0; t + 1 < row.length; t++) {
      const label = labels[b][t + 1];
      if (label === -100) continue;
      const z = row[t];
      const max = z.reduce((a, v) => Math.max(a, v), -Infinity);
      const sum = z.reduce((a, v) => a + Math.exp(v - max), 0);
      let h = 0;
      for (const v of z) {
        const lp = v - max - Math.log(sum);
        h -= Math.exp(lp) * lp;
      }
      entropy += h;
      correct += z.indexOf(max) === label ? 1 : 0;
      n++;
    }
  });
  return { entropy: entropy / n, accuracy: correct / n, n };
}

test(
  "SFTTrainer with a LoRA peftConfig: logs TRL's entropy, num_tokens and mean_token_accuracy as computed from the logits; saves the adapter",
  { skip },
  async () => {
    const tok = await tokenizer();
    const rows = gsm8k(4).map((r) => ({ prompt: `Q: ${String(r.question).slice(0, 40)}\nA: `, completion: String(r.answer).slice(0, 40) }));
    const base = tinyQwen(tok.length);
    const dir = out();
    // learning rate 0: the model the metrics were computed on is the model after the step.
    const args = new SFTConfig({
      outputDir: dir,
      maxSteps: 1,
      perDeviceTrainBatchSize: 4,
      learningRate: 0,
      loggingSteps: 1,
      bf16: false,
      saveStrategy: "no",
      disableTqdm: true,
      seed: 3,
    });
    const trainer = new SFTTrainer({
      model: base,
      args,
      trainDataset: Dataset.fromList(rows),
      processingClass: tok,
      peftConfig: new LoraConfig({ r: 4, loraAlpha: 8, targetModules: "all-linear", taskType: "CAUSAL_LM" }),
    });
    assert.ok(trainer.model instanceof PeftModel);
    assert.equal(trainer.completionOnlyLoss, true);
    await warnings(() => trainer.train());
    assert.equal(trainer.model.isGradientCheckpointing, true, "TRL's default: gradient checkpointing");
    const logged = trainer.state.log_history[0];
    assert.deepEqual(Object.keys(logged), ["loss", "grad_norm", "learning_rate", "entropy", "num_tokens", "mean_token_accuracy", "epoch", "step"]);

    // The same batch, independently: right-padded rows of the prepared dataset.
    const ds = trainer.trainDataset!;
    const ids = ds.column("input_ids") as number[][];
    const labels = ds.column("labels") as number[][];
    const width = Math.max(...ids.map((r) => r.length));
    const pad = tok.padTokenId!;
    const padded = ids.map((r) => [...r, ...Array<number>(width - r.length).fill(pad)]);
    const paddedLabels = labels.map((r) => [...r, ...Array<number>(width - r.length).fill(-100)]);
    const mask = ids.map((r) => [...r.map(() => 1), ...Array<number>(width - r.length).fill(0)]);
    trainer.model.eval();
    const logits = torch.noGrad(() =>
      trainer.model.forward({ input_ids: torch.tensor(padded, { dtype: "int64" }), attention_mask: torch.tensor(mask, { dtype: "int64" }) }).logits!.toArray(),
    ) as number[][][];
    const expected = naiveStats(logits, paddedLabels);
    assert.equal(logged.num_tokens, ids.flat().length);
    assert.ok(Math.abs(logged.entropy - expected.entropy) < 1e-4, `entropy ${logged.entropy} vs ${expected.entropy}`);
    assert.equal(logged.mean_token_accuracy, expected.accuracy);

    trainer.saveModel();
    assert.ok(existsSync(join(dir, "adapter_config.json")) && existsSync(join(dir, "adapter_model.safetensors")));
  },
);

test("SFTTrainer: packed padding-free batches count their row length as tokens, and bad combinations fail as TRL's", { skip }, async () => {
  const tok = await tokenizer();
  const rows = gsm8k(6).map((r) => ({ text: String(r.question).slice(0, 60) }));
  const args = new SFTConfig({
    outputDir: out(),
    maxSteps: 1,
    perDeviceTrainBatchSize: 2,
    maxLength: 64,
    packing: true,
    loggingSteps: 1,
    bf16: false,
    saveStrategy: "no",
    disableTqdm: true,
  });
  const trainer = new SFTTrainer({ model: tinyQwen(tok.length), args, trainDataset: Dataset.fromList(rows), processingClass: tok });
  assert.equal(trainer.paddingFree, true);
  await warnings(() => trainer.train());
  const packed = trainer.trainDataset!;
  const firstBatch = (packed.column("input_ids") as number[][]).slice(0, 2).flat().length;
  assert.equal(trainer.state.log_history[0].num_tokens, firstBatch);

  const base = () => new SFTConfig({ outputDir: out(), bf16: false });
  const text = Dataset.fromList(rows);
  const peft = getPeftModel(tinyQwen(tok.length), new LoraConfig({ r: 2, targetModules: ["q_proj"] }));
  assert.throws(
    () => new SFTTrainer({ model: peft, args: base(), trainDataset: text, processingClass: tok, peftConfig: new LoraConfig({ r: 2 }) }),
    /You passed a `PeftModel` instance together with a `peft_config`/,
  );
  assert.throws(
    () =>
      new SFTTrainer({
        model: tinyQwen(tok.length),
        args: new SFTConfig({ outputDir: out(), assistantOnlyLoss: true }),
        trainDataset: text,
        processingClass: tok,
      }),
    /assistant_only_loss=True`, but the dataset is not conversational/,
  );
  assert.throws(
    () =>
      new SFTTrainer({
        model: tinyQwen(tok.length),
        args: new SFTConfig({ outputDir: out(), assistantOnlyLoss: true }),
        trainDataset: Dataset.fromList(chats(2)),
        processingClass: tok,
      }),
    /The chat template is not training-compatible/,
  );
  assert.throws(
    () =>
      new SFTTrainer({ model: tinyQwen(tok.length), args: new SFTConfig({ outputDir: out(), paddingFree: true }), trainDataset: text, processingClass: tok }),
    /When `padding_free=True` without packing, `max_length` is not enforced/,
  );
});

test("tokenStats: entropy and accuracy over the labelled next tokens (hand-computed)", () => {
  // Position t predicts label t+1: position 0 → label 0 (argmax 0, right), position 1 → label 2
  // (argmax 1, wrong), position 2 → -100 (ignored), position 3 has no next token.
  const logits = torch.tensor(
    [
      [
        [2, 0, 0],
        [0, 3, 0],
        [5, 0, 0],
        [0, 0, 9],
      ],
    ],
    { dtype: "float32" },
  );
  const labels = torch.tensor([[7, 0, 2, -100]], { dtype: "int64" });
  const h = (z: number[]) => {
    const s = z.reduce((a, v) => a + Math.exp(v), 0);
    return -z.reduce((a, v) => a + (Math.exp(v) / s) * (v - Math.log(s)), 0);
  };
  const [entropy, correct, total] = tokenStats(logits, labels);
  assert.ok(Math.abs(entropy - (h([2, 0, 0]) + h([0, 3, 0]))) < 1e-6, `${entropy}`);
  assert.equal(correct, 1);
  assert.equal(total, 2);
});

test("SFTTrainer.evaluate: eval_entropy, eval_mean_token_accuracy and eval_num_tokens join the eval metrics, as TRL's log adds them", { skip }, async () => {
  const tok = await tokenizer();
  const rows = gsm8k(6).map((r) => ({ prompt: `Q: ${String(r.question).slice(0, 30)}\nA:\n`, completion: String(r.answer).slice(0, 30) }));
  const args = new SFTConfig({
    outputDir: out(),
    maxSteps: 1,
    perDeviceTrainBatchSize: 2,
    perDeviceEvalBatchSize: 3,
    bf16: false,
    saveStrategy: "no",
    disableTqdm: true,
    loggingSteps: 1,
  });
  const trainer = new SFTTrainer({
    model: tinyQwen(tok.length),
    args,
    trainDataset: Dataset.fromList(rows.slice(0, 4)),
    evalDataset: Dataset.fromList(rows.slice(4)),
    processingClass: tok,
  });
  await warnings(() => trainer.train());
  const metrics = await warnings(() => trainer.evaluate()).then((r) => r.result);
  assert.deepEqual(
    Object.keys(metrics).filter((k) => /entropy|accuracy|num_tokens/.test(k)),
    ["eval_entropy", "eval_num_tokens", "eval_mean_token_accuracy"],
  );
  // The two eval rows in one batch: entropy from the model's logits, computed naively.
  const ds = trainer.evalDataset!;
  const ids = ds.column("input_ids") as number[][];
  const labels = ds.column("labels") as number[][];
  const width = Math.max(...ids.map((r) => r.length));
  const logits = torch.noGrad(() =>
    trainer.model
      .forward({
        input_ids: torch.tensor(
          ids.map((r) => [...r, ...Array<number>(width - r.length).fill(tok.padTokenId!)]),
          { dtype: "int64" },
        ),
        attention_mask: torch.tensor(
          ids.map((r) => [...r.map(() => 1), ...Array<number>(width - r.length).fill(0)]),
          { dtype: "int64" },
        ),
      })
      .logits!.toArray(),
  ) as number[][][];
  const expected = naiveStats(
    logits,
    labels.map((r) => [...r, ...Array<number>(width - r.length).fill(-100)]),
  );
  assert.ok(Math.abs(metrics.eval_entropy - expected.entropy) < 1e-4, `${metrics.eval_entropy} vs ${expected.entropy}`);
  assert.equal(metrics.eval_num_tokens, trainer.state.log_history[0].num_tokens, "num_tokens counts training tokens, as TRL's");
});
