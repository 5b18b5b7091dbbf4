// applyChatTemplate renders Qwen3's chat template exactly as transformers does (jinja2 in
// transformers' environment, scripts/golden/chat_template.py): tools as JSON (Python's json.dumps
// separators, non-ASCII kept), tool calls and responses, reasoning, enable_thinking; tokenization
// without added special tokens; continueFinalMessage; chat_template.jinja; HF's errors.
import { test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, mkdtempSync, readFileSync, writeFileSync, copyFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { AutoTokenizer, type ChatMessage } from "../src/tokenizers/index.js";
import { fixture, needs, repoRoot } from "./helpers.js";

const qwen = join(repoRoot, "..", "shared", "data", "models", "Qwen3-tokenizer");
const skip = needs("shared", existsSync(qwen), "../shared/data is absent");
type Case = {
  name: string;
  messages: ChatMessage[];
  options: { tools?: Record<string, unknown>[]; add_generation_prompt?: boolean; enable_thinking?: boolean };
  rendered: string;
};
const golden = JSON.parse(readFileSync(fixture("golden", "chat", "qwen3.json"), "utf8")) as Case[];

test("Qwen3's chat template renders as transformers renders it, character for character", { skip }, async () => {
  const tokenizer = await AutoTokenizer.fromPretrained(qwen);
  for (const c of golden) {
    const { tools, add_generation_prompt, ...kwargs } = c.options;
    const text = tokenizer.applyChatTemplate(c.messages, { tokenize: false, tools, addGenerationPrompt: add_generation_prompt, templateKwargs: kwargs });
    assert.equal(text, c.rendered, c.name);
  }
  const batch = tokenizer.applyChatTemplate(
    golden.slice(0, 2).map((c) => c.messages),
    { tokenize: false },
  );
  assert.equal(batch.length, 2);
});

test("tokenized: the rendered text's ids without added special tokens; returnDict; continueFinalMessage", { skip }, async () => {
  const tokenizer = await AutoTokenizer.fromPretrained(qwen);
  const messages = golden[0].messages;
  const ids = tokenizer.applyChatTemplate(messages, { addGenerationPrompt: true });
  assert.deepEqual(ids, tokenizer(golden[0].rendered, { addSpecialTokens: false }).input_ids);
  assert.equal(ids[0], 151644, "<|im_start|> is one token");
  const dict = tokenizer.applyChatTemplate(messages, { addGenerationPrompt: true, returnDict: true });
  assert.deepEqual(dict.input_ids, ids);
  assert.deepEqual(
    dict.attention_mask,
    ids.map(() => 1),
  );
  const prefill = tokenizer.applyChatTemplate(
    [
      { role: "user", content: "Name a color." },
      { role: "assistant", content: "The color is " },
    ],
    { tokenize: false, continueFinalMessage: true },
  );
  // Qwen3 writes an empty think block before the last assistant turn; the cut keeps the trailing space.
  assert.ok(prefill.endsWith("<|im_start|>assistant\n<think>\n\n</think>\n\nThe color is "), JSON.stringify(prefill.slice(-40)));
  assert.throws(
    () => tokenizer.applyChatTemplate(messages, { tokenize: false, continueFinalMessage: true, addGenerationPrompt: true }),
    /continue_final_message and add_generation_prompt are not compatible/,
  );
});

test("chat_template.jinja beside the tokenizer wins; a template that raises gives its message; no template gives HF's error", { skip }, async () => {
  const dir = mkdtempSync(join(tmpdir(), "ft-chat-"));
  for (const f of ["tokenizer.json", "tokenizer_config.json"]) copyFileSync(join(qwen, f), join(dir, f));
  writeFileSync(
    join(dir, "chat_template.jinja"),
    "{% for m in messages %}{% if m.role not in ['user', 'assistant'] %}{{ raise_exception('Only user and assistant roles are supported!') }}{% endif %}[{{ m.role }}] {{ m.content }}\n{% endfor %}",
  );
  const tokenizer = await AutoTokenizer.fromPretrained(dir);
  assert.equal(tokenizer.applyChatTemplate([{ role: "user", content: "hi" }], { tokenize: false }), "[user] hi\n");
  assert.throws(() => tokenizer.applyChatTemplate([{ role: "system", content: "x" }], { tokenize: false }), /Only user and assistant roles are supported!/);
  const saved = mkdtempSync(join(tmpdir(), "ft-chat-saved-"));
  tokenizer.savePretrained(saved);
  assert.equal(readFileSync(join(saved, "chat_template.jinja"), "utf8"), readFileSync(join(dir, "chat_template.jinja"), "utf8"));
  const gpt2 = await AutoTokenizer.fromPretrained(join(repoRoot, "..", "shared", "data", "models", "gpt2-tokenizer"));
  assert.throws(
    () => gpt2.applyChatTemplate([{ role: "user", content: "hi" }]),
    /Cannot use chat template functions because tokenizer\.chat_template is not set/,
  );
});

test("{% generation %}: the assistant spans of transformers' AssistantTracker, and a mask over the tokens that hold them", { skip }, async () => {
  type MaskCase = { name: string; template: string; messages: ChatMessage[]; rendered: string; spans: [number, number][] };
  const cases = JSON.parse(readFileSync(fixture("golden", "chat", "assistant_masks.json"), "utf8")) as MaskCase[];
  const tokenizer = await AutoTokenizer.fromPretrained(qwen);
  for (const c of cases) {
    assert.equal(tokenizer.applyChatTemplate(c.messages, { tokenize: false, chatTemplate: c.template }), c.rendered, `${c.name}: rendering`);
    const out = tokenizer.applyChatTemplate(c.messages, { chatTemplate: c.template, returnDict: true, returnAssistantTokensMask: true });
    assert.deepEqual(out.input_ids, tokenizer(c.rendered, { addSpecialTokens: false }).input_ids);
    const chars = Array.from(c.rendered);
    const masked = out.input_ids.filter((_, i) => out.assistant_masks[i] === 1);
    // The masked tokens decode to the spans' text, widened to whole tokens as HF's char_to_token does: in
    // "plain" each span ends with a "\n" that shares the token "\n\n" with the blank line after it.
    const spanText = c.spans.map(([s, e]) => chars.slice(s, e).join(""));
    const want = c.name === "plain" ? spanText.map((t) => `${t}\n`) : spanText;
    assert.equal(tokenizer.decode(masked), want.join(""), `${c.name}: masked text`);
    assert.ok(out.assistant_masks.includes(0) && out.assistant_masks.includes(1));
  }
  assert.throws(
    () =>
      tokenizer.applyChatTemplate(cases[0].messages, {
        chatTemplate: cases[0].template,
        returnAssistantTokensMask: true,
        returnDict: true,
        continueFinalMessage: true,
      }),
    /continue_final_message is not compatible with return_assistant_tokens_mask/,
  );
});
