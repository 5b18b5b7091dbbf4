// pipeline("token-classification"), pipeline("question-answering") and pipeline("fill-mask"): HF's
// postprocessing rules checked on models whose outputs are set by the test (so every expected value
// is computed by hand from HF's rules), and on a real tiny masked LM against its own forward.
import { test } from "node:test";
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { join } from "node:path";
import * as torch from "../src/torch/index.js";
import { AutoTokenizer } from "../src/tokenizers/index.js";
import { AutoModelForMaskedLM, PreTrainedModel, PretrainedConfig, type ModelInputs, type ModelOutput } from "../src/models/index.js";
import { pipeline } from "../src/pipelines/index.js";
import { needs, repoRoot } from "./helpers.js";

const cased = join(repoRoot, "..", "shared", "data", "models", "bert-base-cased");
const skip = needs("shared", existsSync(cased), "../shared/data is absent");
const LABELS = ["O", "B-PER", "I-PER", "B-ORG", "I-ORG", "B-LOC", "I-LOC"];

/** A token classifier whose per-token label probabilities are given (logits = log p, so softmax gives p back). */
class FixedTokenModel extends PreTrainedModel {
  constructor(readonly probs: number[][]) {
    super(new PretrainedConfig({ id2label: Object.fromEntries(LABELS.map((l, i) => [String(i), l])) }));
  }
  forward(inputs: ModelInputs): ModelOutput & { logits: torch.Tensor } {
    assert.equal(inputs.input_ids!.shape[1], this.probs.length);
    return { logits: torch.tensor([this.probs], { dtype: "float32" }).log() };
  }
}
const p = (label: string, score: number) => LABELS.map((l) => (l === label ? score : (1 - score) / (LABELS.length - 1)));
const close = (a: number, b: number) => Math.abs(a - b) < 1e-6;

test("token-classification: none, simple, first, average and max aggregate as HF's pipeline", { skip }, async () => {
  const tokenizer = await AutoTokenizer.fromPretrained(cased);
  // [CLS] Hu ##gging Face Inc . is in New York City [SEP]
  const probs = [
    p("O", 0.9),
    p("B-ORG", 0.7),
    p("B-PER", 0.95), // ##gging disagrees, and is the most confident token of "Hugging"
    p("I-ORG", 0.8),
    p("I-ORG", 0.6),
    p("O", 0.9),
    p("O", 0.9),
    p("O", 0.9),
    p("B-LOC", 0.85),
    p("I-LOC", 0.75),
    p("B-LOC", 0.65), // a B- starts a new group even after a LOC
    p("O", 0.9),
  ];
  const ner = await pipeline("ner", new FixedTokenModel(probs), { tokenizer });
  const none = ner("Hugging Face Inc. is in New York City");
  assert.deepEqual(
    none.map((e) => [e.entity, e.index, e.word, e.start, e.end]),
    [
      ["B-ORG", 1, "Hu", 0, 2],
      ["B-PER", 2, "##gging", 2, 7],
      ["I-ORG", 3, "Face", 8, 12],
      ["I-ORG", 4, "Inc", 13, 16],
      ["B-LOC", 8, "New", 24, 27],
      ["I-LOC", 9, "York", 28, 32],
      ["B-LOC", 10, "City", 33, 37],
    ],
  );
  assert.ok(close(none[1].score, 0.95));
  const simple = ner("Hugging Face Inc. is in New York City", { aggregationStrategy: "simple" });
  assert.deepEqual(
    simple.map((e) => [e.entity_group, e.word, e.start, e.end]),
    [
      ["ORG", "Hu", 0, 2],
      ["PER", "##gging", 2, 7],
      ["ORG", "Face Inc", 8, 16],
      ["LOC", "New York", 24, 32],
      ["LOC", "City", 33, 37],
    ],
  );
  assert.ok(close(simple[2].score, (0.8 + 0.6) / 2) && close(simple[3].score, (0.85 + 0.75) / 2));
  // Words: "Hugging" takes its first token's label (first), its most confident token's (max), or the mean of its two.
  const first = ner("Hugging Face Inc. is in New York City", { aggregationStrategy: "first" });
  assert.deepEqual(
    first.map((e) => [e.entity_group, e.word, e.start, e.end]),
    [
      ["ORG", "Hugging Face Inc", 0, 16],
      ["LOC", "New York", 24, 32],
      ["LOC", "City", 33, 37],
    ],
  );
  assert.ok(close(first[0].score, (0.7 + 0.8 + 0.6) / 3));
  const max = ner("Hugging Face Inc. is in New York City", { aggregationStrategy: "max" });
  assert.deepEqual(
    max.map((e) => [e.entity_group, e.word]),
    [
      ["PER", "Hugging"],
      ["ORG", "Face Inc"],
      ["LOC", "New York"],
      ["LOC", "City"],
    ],
  );
  assert.ok(close(max[0].score, 0.95));
  const average = ner("Hugging Face Inc. is in New York City", { aggregationStrategy: "average" });
  // Mean of B-ORG 0.7 / B-PER 0.95: B-PER (0.95 + 0.05) / 2 = 0.5 > B-ORG (0.7 + 0.05/6) / 2.
  assert.equal(average[0].entity_group, "PER");
  assert.ok(close(average[0].score, (0.95 + 0.3 / 6) / 2));
  const kept = ner("Hugging Face Inc. is in New York City", { ignoreLabels: [] });
  assert.equal(kept.length, 10, "with no labels ignored, the O tokens are there too");
  assert.throws(() => ner("x", { aggregationStrategy: "longest" as "max" }), /aggregationStrategy must be one of none, simple, first, average, max/);
});

/** A QA model whose start logit is high on one token id and end logit on another (and [CLS] as given). */
class PointingQaModel extends PreTrainedModel {
  constructor(
    readonly startId: number,
    readonly endId: number,
    readonly cls = -5,
  ) {
    super(new PretrainedConfig({}));
  }
  forward(inputs: ModelInputs): ModelOutput & { startLogits: torch.Tensor; endLogits: torch.Tensor } {
    const ids = inputs.input_ids!;
    const at = (id: number) =>
      ids
        .eq(id)
        .to("float32")
        .mul(10)
        .add(
          ids
            .eq(101)
            .to("float32")
            .mul(this.cls + 1),
        );
    return { startLogits: at(this.startId), endLogits: at(this.endId) };
  }
}

test("question-answering: the span in whichever window holds it, widened to words, topK, handleImpossibleAnswer", { skip }, async () => {
  const tokenizer = await AutoTokenizer.fromPretrained(cased);
  const paris = tokenizer.convertTokensToIds("Paris");
  const filler = Array.from({ length: 120 }, (_, i) => `Sentence ${i} says nothing about capitals.`).join(" ");
  const context = `${filler} The capital of France is Paris, on the Seine.`;
  const qa = await pipeline("question-answering", new PointingQaModel(paris, paris), { tokenizer });
  const answer = qa({ question: "What is the capital of France?", context });
  assert.ok(!Array.isArray(answer));
  assert.equal(answer.answer, "Paris");
  assert.equal(Array.from(context).slice(answer.start, answer.end).join(""), "Paris");
  assert.ok(context.length > 3000, "the context spans several 384-token windows");
  // Word alignment: a start on "##gging" widens to the word "Hugging".
  const gging = tokenizer.convertTokensToIds("##gging");
  const face = tokenizer.convertTokensToIds("Face");
  const hf = await pipeline("question-answering", new PointingQaModel(gging, face), { tokenizer });
  const aligned = hf({ question: "Who?", context: "Made by Hugging Face." });
  assert.ok(!Array.isArray(aligned));
  assert.deepEqual([aligned.answer, aligned.start, aligned.end], ["Hugging Face", 8, 20]);
  const raw = hf({ question: "Who?", context: "Made by Hugging Face." }, { alignToWords: false });
  assert.ok(!Array.isArray(raw) && raw.answer === "gging Face");
  // topK: the best spans, best first.
  const three = qa({ question: "Which city?", context: "Paris or Paris or Paris." }, { topK: 3 });
  assert.ok(Array.isArray(three) && three.length === 3 && three[0].score >= three[1].score && three[1].score >= three[2].score);
  // maxAnswerLen: a span longer than it is never proposed.
  const long = await pipeline("question-answering", new PointingQaModel(tokenizer.convertTokensToIds("one"), tokenizer.convertTokensToIds("five")), {
    tokenizer,
  });
  const short = long({ question: "Count?", context: "one two three four five" }, { maxAnswerLen: 3 });
  assert.ok(!Array.isArray(short) && short.answer !== "one two three four five");
  const full = long({ question: "Count?", context: "one two three four five" }, { maxAnswerLen: 5 });
  assert.ok(!Array.isArray(full) && full.answer === "one two three four five");
  // [CLS] most likely: with handleImpossibleAnswer the empty answer wins.
  const none = await pipeline("question-answering", new PointingQaModel(-1, -1, 20), { tokenizer });
  const empty = none({ question: "What?", context: "Nothing to see here." }, { handleImpossibleAnswer: true });
  assert.ok(!Array.isArray(empty));
  assert.deepEqual([empty.answer, empty.start, empty.end], ["", 0, 0]);
  assert.throws(() => qa({ question: "", context: "x" }), /the question is empty/);
  assert.throws(() => qa({ question: "Why?", context: "x" }, { docStride: 500 }), /`doc_stride` \(500\) is larger than the maximum length \(384\)/);
});

test("fill-mask: the model's top tokens at the mask, targets, several masks, and HF's message without a mask", { skip }, async () => {
  const tokenizer = await AutoTokenizer.fromPretrained(cased);
  torch.manualSeed(3);
  const model = AutoModelForMaskedLM.fromConfig({
    model_type: "bert",
    vocab_size: tokenizer.length,
    hidden_size: 16,
    num_hidden_layers: 1,
    num_attention_heads: 2,
    intermediate_size: 32,
    initializer_range: 0.5,
  });
  const fill = await pipeline("fill-mask", model, { tokenizer });
  const text = "Paris is the [MASK] of France.";
  const results = fill(text);
  assert.ok(Array.isArray(results) && results.length === 5);
  model.eval();
  const want = torch.noGrad(() =>
    torch.tidy(() => {
      const enc = tokenizer(text, { returnTensors: "pt" });
      const at = (enc.input_ids.toArray() as number[][])[0].indexOf(tokenizer.maskTokenId!);
      const probs = model.forward(enc).logits.select(0, 0).select(0, at).softmax(-1);
      const { values, indices } = probs.topk(5);
      return { values: values.toArray() as number[], indices: indices.toArray() as number[] };
    }),
  );
  results.forEach((r, i) => {
    assert.ok(!Array.isArray(r));
    assert.equal(r.token, want.indices[i]);
    assert.ok(close(r.score, want.values[i]));
    assert.equal(r.token_str, tokenizer.decode([r.token]));
    const ids = tokenizer(text).input_ids.map((id) => (id === tokenizer.maskTokenId ? r.token : id));
    assert.equal(r.sequence, tokenizer.decode(ids, { skipSpecialTokens: true }));
  });
  const targeted = fill(text, { targets: ["capital", "city"], topK: 10 });
  assert.ok(Array.isArray(targeted) && targeted.length === 2, "topK is cut to the number of targets");
  assert.deepEqual(targeted.map((r) => (Array.isArray(r) ? "" : r.token_str)).sort(), ["capital", "city"]);
  const two = fill("The [MASK] is in [MASK].");
  assert.ok(Array.isArray(two) && two.length === 2 && Array.isArray(two[0]) && two[0].length === 5);
  assert.match((two[0] as { sequence: string }[])[0].sequence, /\[MASK\]/, "with two masks the other one stays in the sequence");
  assert.throws(() => fill("No mask here."), /No mask_token \(\[MASK\]\) found on the input/);
});
