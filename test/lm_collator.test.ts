// DataCollatorForLanguageModeling / DataCollatorForWholeWordMask against transformers' collator run
// in PyTorch (scripts/golden/lm_collator.py, HF's lines quoted there): the same seed masks the same
// tokens, replaces the same ones with [MASK] or the same random ids, pads the same way — with the
// global generator, a seeded generator of the collator's own (across successive batches), examples'
// own special_tokens_mask, whole-word masking on group_texts chunks, and mlm: false.
import { test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { AutoTokenizer, PreTrainedTokenizer } from "../src/tokenizers/index.js";
import { DataCollatorForLanguageModeling, DataCollatorForWholeWordMask } from "../src/trainer/index.js";
import * as torch from "../src/torch/index.js";
import { fixture, needs, repoRoot } from "./helpers.js";

const model = join(repoRoot, "..", "shared", "data", "models", "bert-base-uncased");
const skip = needs("shared", existsSync(model), "../shared/data is absent");

type Case = {
  name: string;
  options: Record<string, number | boolean>;
  global_seed: number | null;
  batches: Record<string, unknown>[][];
  expected: Record<string, number[][]>[];
};
const golden = JSON.parse(readFileSync(fixture("golden", "collators", "language_modeling.json"), "utf8")) as { vocab_len: number; cases: Case[] };

const camel = (k: string) => k.replace(/_([a-z])/g, (_, c: string) => c.toUpperCase());

test("the masks, replacements, random ids and padding of transformers' collator, seed for seed", { skip }, async () => {
  const tokenizer = await AutoTokenizer.fromPretrained(model);
  assert.equal(tokenizer.length, golden.vocab_len);
  for (const c of golden.cases) {
    const options = Object.fromEntries(Object.entries(c.options).map(([k, v]) => [camel(k), v]));
    const collator = new DataCollatorForLanguageModeling({ tokenizer, ...options });
    if (c.global_seed !== null) torch.manualSeed(c.global_seed);
    c.batches.forEach((examples, i) => {
      const batch = collator(examples.map((e) => ({ ...e })));
      const want = c.expected[i];
      assert.deepEqual(Object.keys(batch).sort(), Object.keys(want).sort(), `${c.name}: keys`);
      for (const k of Object.keys(want)) assert.deepEqual(batch[k].toArray(), want[k], `${c.name}, batch ${i}: ${k}`);
      const labels = want.labels.flat();
      const masked = labels.filter((l) => l !== -100).length;
      if (c.options.mlm !== false) assert.ok(masked > 0, `${c.name}: some tokens are masked (${masked})`);
      torch.dispose(batch);
    });
  }
});

test("whole-word masking masks every piece of a chosen word and never a special token", { skip }, async () => {
  const tokenizer = await AutoTokenizer.fromPretrained(model);
  const enc = tokenizer(["The unbelievably fantastical tokenization of hyperparameters"], { returnOffsetsMapping: true });
  const ids = enc.input_ids[0];
  const offsets = (enc.offset_mapping as [number, number][][])[0];
  const collator = new DataCollatorForWholeWordMask({ tokenizer, mlmProbability: 0.5, seed: 1 });
  assert.equal(collator.maskReplaceProb, 1, "random replacement is off with whole words, as HF");
  const words = enc.wordIds(0);
  for (let round = 0; round < 5; round++) {
    const batch = collator([{ input_ids: ids, offset_mapping: offsets }]);
    const labels = (batch.labels.toArray() as number[][])[0];
    const chosen = new Set(words.filter((w, j): w is number => w !== null && labels[j] !== -100));
    words.forEach((w, j) => assert.equal(labels[j] !== -100, w !== null && chosen.has(w), `token ${j} follows its word`));
    torch.dispose(batch);
  }
});

test("bad input: HF's messages for no mask token, probabilities out of range, whole words without mlm or offsets", { skip }, async () => {
  const tokenizer = await AutoTokenizer.fromPretrained(model);
  for (const p of [-0.1, 1.5, Number.NaN]) {
    assert.throws(() => new DataCollatorForLanguageModeling({ tokenizer, mlmProbability: p }), /mlmProbability should be between 0 and 1/);
  }
  assert.throws(() => new DataCollatorForLanguageModeling({ tokenizer, maskReplaceProb: 0.7, randomReplaceProb: 0.4 }), /should not exceed 1/);
  assert.throws(
    () => new DataCollatorForLanguageModeling({ tokenizer, mlm: false, wholeWordMask: true }),
    /Whole word masking can only be used with mlm: true/,
  );
  assert.throws(() => new DataCollatorForWholeWordMask({ tokenizer })([{ input_ids: [101, 7592, 102] }]), /needs each example's offset_mapping/);
  // A tokenizer with the same vocabulary whose special tokens are padding only (no [MASK]).
  const noMask = new PreTrainedTokenizer(tokenizer.tokenizerJson, {}, { pad_token: "[PAD]" }, "no-mask");
  assert.equal(noMask.maskToken, null);
  assert.throws(
    () => new DataCollatorForLanguageModeling({ tokenizer: noMask }),
    /This tokenizer does not have a mask token which is necessary for masked language modeling/,
  );
  const causal = new DataCollatorForLanguageModeling({ tokenizer: noMask, mlm: false })([
    [101, 7592, 102],
    [101, 102],
  ]);
  assert.deepEqual(causal.labels.toArray(), [
    [101, 7592, 102],
    [101, 102, -100],
  ]);
  torch.dispose(causal);
});
