// generate() against transformers 5's generation loop run in PyTorch without a cache
// (scripts/golden/generation.py): greedy, repetition penalty, and sampling with temperature, top-k
// and top-p from the same seed, token for token, on a left-padded batch — through our KV cache; each
// prompt alone generates what its row of the batch does; a streamer; HF's errors.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import * as torch from "../src/torch/index.js";
import { AutoModelForCausalLM, generate } from "../src/models/index.js";
import { fixture } from "./helpers.js";

type Golden = {
  input_ids: number[][];
  attention_mask: number[][];
  prompts: number[][];
  cases: Record<
    string,
    { max_new_tokens: number; do_sample?: boolean; temperature?: number; top_k?: number; top_p?: number; repetition_penalty?: number; seed?: number }
  >;
  models: Record<string, Record<string, number[][]> & { eos: number[]; pad: number }>;
};
const golden = JSON.parse(readFileSync(fixture("golden", "decoders", "generation.json"), "utf8")) as Golden;

for (const name of Object.keys(golden.models)) {
  test(`${name}: greedy, repetition penalty and seeded sampling equal HF's loop token for token (left-padded batch, KV cache)`, async () => {
    const model = await AutoModelForCausalLM.fromPretrained(fixture("golden", "decoders", name));
    const g = golden.models[name];
    const inputs = { input_ids: torch.tensor(golden.input_ids), attention_mask: torch.tensor(golden.attention_mask) };
    for (const [caseName, c] of Object.entries(golden.cases)) {
      if (c.seed !== undefined) torch.manualSeed(c.seed);
      const out = await generate(model, inputs, {
        maxNewTokens: c.max_new_tokens,
        doSample: c.do_sample ?? false,
        temperature: c.temperature,
        topK: c.top_k,
        topP: c.top_p,
        repetitionPenalty: c.repetition_penalty,
        eosTokenId: g.eos,
        padTokenId: g.pad,
      });
      assert.deepEqual(out.toArray(), g[caseName], `${name} ${caseName}`);
      out.dispose();
    }
    // Each prompt alone, unpadded: the same continuation as its row of the padded batch.
    for (const [i, p] of golden.prompts.entries()) {
      const alone = await generate(model, torch.tensor([p]), { maxNewTokens: golden.cases.greedy.max_new_tokens, eosTokenId: g.eos, padTokenId: g.pad });
      assert.deepEqual((alone.toArray() as number[][])[0], g.greedy_alone[i], `${name}: prompt ${i} alone`);
      alone.dispose();
    }
    // Without the cache: the same tokens (every step recomputes the sequence).
    const uncached = await model.generate(inputs, { maxNewTokens: 6, eosTokenId: g.eos, padTokenId: g.pad, useCache: false });
    assert.deepEqual(
      (uncached.toArray() as number[][]).map((r) => r.slice(0, golden.input_ids[0].length + 6)),
      g.greedy.map((r) => r.slice(0, golden.input_ids[0].length + 6)),
    );
    torch.dispose([inputs, model.parameters()]);
  });
}

test("generate(): numReturnSequences with sampling, maxLength, HF's errors for bad options and prompts", async () => {
  const model = await AutoModelForCausalLM.fromPretrained(fixture("golden", "decoders", "llama-llama3"));
  torch.manualSeed(0);
  const four = await model.generate(torch.tensor([[5, 6, 7]]), { doSample: true, numReturnSequences: 4, maxNewTokens: 5, eosTokenId: null, padTokenId: 0 });
  assert.deepEqual(four.shape, [4, 8]);
  const rows = four.toArray() as number[][];
  assert.ok(rows.every((r) => r.slice(0, 3).join() === "5,6,7"));
  assert.ok(new Set(rows.map((r) => r.join())).size > 1, "four different samples");
  const capped = await model.generate(torch.tensor([[5, 6, 7]]), { maxLength: 6, eosTokenId: null, padTokenId: 0 });
  assert.deepEqual(capped.shape, [1, 6]);
  await assert.rejects(
    model.generate(torch.tensor([[5, 6]]), { numReturnSequences: 2 }),
    /Greedy methods without beam search do not support `num_return_sequences` different than 1 \(got 2\)/,
  );
  await assert.rejects(model.generate(torch.tensor([[5, 6]]), { doSample: true, temperature: 0 }), /`temperature` \(=0\) has to be a strictly positive float/);
  await assert.rejects(model.generate(torch.tensor([[5, 200]])), /the prompt holds token id 200, but the model's vocab_size is 97/);
  await assert.rejects(
    model.generate(torch.tensor([Array.from({ length: 70 }, () => 5)])),
    /the prompt has 70 tokens, more than the model's max_position_embeddings \(64\)/,
  );
  await assert.rejects(model.generate(torch.tensor([[5, 6]]), { stopStrings: "x" }), /we could not locate a tokenizer/);
  torch.dispose([four, capped, model.parameters()]);
});

test("TextIteratorStreamer: the new text arrives while generating and adds up to the decoded continuation", async (t) => {
  const { existsSync } = await import("node:fs");
  const { join } = await import("node:path");
  const { repoRoot, needs } = await import("./helpers.js");
  const dir = join(repoRoot, "..", "shared", "data", "models", "gpt2-tokenizer");
  const reason = needs("shared", existsSync(dir), "../shared/data is absent");
  if (reason) return t.skip(reason);
  const { AutoTokenizer } = await import("../src/tokenizers/index.js");
  const { TextIteratorStreamer } = await import("../src/models/index.js");
  const tokenizer = await AutoTokenizer.fromPretrained(dir);
  const model = await AutoModelForCausalLM.fromPretrained(fixture("golden", "decoders", "gpt2"));
  const streamer = new TextIteratorStreamer(tokenizer, { skipPrompt: true });
  const pieces: string[] = [];
  const reading = (async () => {
    for await (const text of streamer) pieces.push(text);
  })();
  const out = await model.generate(torch.tensor([[40, 41, 42]]), { maxNewTokens: 12, streamer, eosTokenId: null, padTokenId: 0 });
  await reading;
  const generated = (out.toArray() as number[][])[0].slice(3);
  assert.equal(pieces.join(""), tokenizer.decode(generated));
  assert.ok(pieces.length >= 1);
  await assert.rejects(
    model.generate(
      torch.tensor([
        [1, 2],
        [3, 4],
      ]),
      { streamer },
    ),
    /TextStreamer only supports batch size 1/,
  );
  torch.dispose([out, model.parameters()]);
});

test("pipeline('text-generation'): a string prompt continued, and chat messages through the template (new turn or continued)", async (t) => {
  const { existsSync } = await import("node:fs");
  const { join } = await import("node:path");
  const { repoRoot, needs } = await import("./helpers.js");
  const models = join(repoRoot, "..", "shared", "data", "models");
  const reason = needs("shared", existsSync(join(models, "Qwen3-tokenizer")), "../shared/data is absent");
  if (reason) return t.skip(reason);
  const { AutoTokenizer } = await import("../src/tokenizers/index.js");
  const { pipeline } = await import("../src/pipelines/index.js");
  const gpt2Tokenizer = await AutoTokenizer.fromPretrained(join(models, "gpt2-tokenizer"));
  const gpt2 = await AutoModelForCausalLM.fromPretrained(fixture("golden", "decoders", "gpt2"));
  const generator = await pipeline("text-generation", gpt2, { tokenizer: gpt2Tokenizer });
  // Ids below 97 are single characters in GPT-2's vocabulary ("Q" is 48): the tiny model's whole vocabulary.
  const [first] = await generator("Q", { maxNewTokens: 6, eosTokenId: null, padTokenId: 0 });
  const direct = await gpt2.generate(torch.tensor([gpt2Tokenizer("Q").input_ids]), { maxNewTokens: 6, eosTokenId: null, padTokenId: 0 });
  assert.equal(first.generated_text, "Q" + gpt2Tokenizer.decode((direct.toArray() as number[][])[0].slice(1)));
  const [onlyNew] = await generator("Q", { maxNewTokens: 6, eosTokenId: null, padTokenId: 0, returnFullText: false });
  assert.equal("Q" + onlyNew.generated_text, first.generated_text);

  const tokenizer = await AutoTokenizer.fromPretrained(join(models, "Qwen3-tokenizer"));
  torch.manualSeed(0);
  const qwen = AutoModelForCausalLM.fromConfig({
    model_type: "qwen3",
    vocab_size: tokenizer.length,
    hidden_size: 16,
    intermediate_size: 16,
    num_hidden_layers: 1,
    num_attention_heads: 2,
    num_key_value_heads: 1,
    head_dim: 8,
    eos_token_id: tokenizer.eosTokenId,
  });
  const chat = await pipeline("text-generation", qwen, { tokenizer });
  const [reply] = await chat([{ role: "user", content: "Hi!" }], { maxNewTokens: 4, templateKwargs: { enable_thinking: false } });
  assert.equal(reply.generated_text.length, 2);
  assert.deepEqual(reply.generated_text[0], { role: "user", content: "Hi!" });
  assert.equal(reply.generated_text[1].role, "assistant");
  const [continued] = await chat(
    [
      { role: "user", content: "Hi!" },
      { role: "assistant", content: "Hello" },
    ],
    { maxNewTokens: 3 },
  );
  assert.equal(continued.generated_text.length, 2);
  assert.ok(String(continued.generated_text[1].content).startsWith("Hello"), "the final assistant message is continued");
  torch.dispose([direct, gpt2.parameters(), qwen.parameters()]);
});
