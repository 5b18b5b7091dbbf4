// Byte-level BPE tokenizers: GPT-2's vocab.json + merges.txt built into the tokenizer.json HF's
// GPT2Converter builds (ids as OpenAI's encoder gives them, equal to the saved tokenizer.json's on
// WikiText-2), and Qwen3's tokenizer.json with its added special tokens split out; decode round
// trips; left padding for generation.
import { test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { AutoTokenizer } from "../src/tokenizers/index.js";
import { needs, repoRoot } from "./helpers.js";

const models = join(repoRoot, "..", "shared", "data", "models");
const skip = needs("shared", existsSync(join(models, "gpt2-tokenizer")), "../shared/data is absent");
const wikitext = () =>
  readFileSync(join(repoRoot, "..", "shared", "data", "wikitext-2", "valid.txt"), "utf8")
    .split("\n")
    .filter((l) => l.trim())
    .slice(0, 400);

test("GPT-2's vocab.json + merges.txt: OpenAI's ids, the same as the tokenizer.json saved from it, lossless decode", { skip }, async () => {
  const tokenizer = await AutoTokenizer.fromPretrained(join(models, "gpt2-tokenizer"));
  // Ids documented for GPT-2 (transformers' GPT2Tokenizer docstring and model card).
  assert.deepEqual(tokenizer("Hello world").input_ids, [15496, 995]);
  assert.deepEqual(tokenizer(" Hello world").input_ids, [18435, 995]);
  assert.deepEqual(tokenizer("Hello, my dog is cute").input_ids, [15496, 11, 616, 3290, 318, 13779]);
  assert.deepEqual([tokenizer.eosToken, tokenizer.bosToken, tokenizer.unkToken, tokenizer.padToken], ["<|endoftext|>", "<|endoftext|>", "<|endoftext|>", null]);
  assert.deepEqual(tokenizer("a<|endoftext|>b").input_ids, [64, 50256, 65], "the special token is split out");
  const saved = mkdtempSync(join(tmpdir(), "ft-gpt2-tok-"));
  tokenizer.savePretrained(saved);
  assert.ok(existsSync(join(saved, "tokenizer.json")));
  const fromJson = await AutoTokenizer.fromPretrained(saved);
  const lines = wikitext();
  const a = tokenizer(lines).input_ids;
  const b = fromJson(lines).input_ids;
  assert.deepEqual(a, b);
  lines.forEach((l, i) => assert.equal(tokenizer.decode(a[i]), l, `line ${i} decodes back`));
  assert.ok(a.flat().length > 20_000);
});

test("Qwen3's tokenizer.json: chat special tokens are single ids, text round-trips, eos/pad from the config, left padding", { skip }, async () => {
  const tokenizer = await AutoTokenizer.fromPretrained(join(models, "Qwen3-tokenizer"), { paddingSide: "left" });
  const ids = tokenizer("<|im_start|>user\nHi there<|im_end|>").input_ids;
  assert.deepEqual(ids.slice(0, 1), [151644]);
  assert.equal(ids[ids.length - 1], 151645);
  assert.deepEqual([tokenizer.eosToken, tokenizer.padToken, tokenizer.eosTokenId, tokenizer.padTokenId], ["<|im_end|>", "<|endoftext|>", 151645, 151643]);
  for (const text of [...wikitext().slice(0, 100), "Ünïcödé 😀 中文 \t\n  spaces", "def f(x):\n    return x ** 2\n"]) {
    assert.equal(tokenizer.decode(tokenizer(text).input_ids), text);
  }
  const batch = tokenizer(["short", "a longer prompt here"], { padding: true });
  assert.equal(batch.input_ids[0][0], 151643, "padded on the left");
  assert.deepEqual(batch.attention_mask[0].slice(-1), [1]);
  assert.equal(batch.attention_mask[0][0], 0);
});
