// DataCollatorWithPadding: pads to the batch's longest (or a multiple), renames label → labels,
// and returns tensors of the right dtypes.
import { test } from "node:test";
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { AutoTokenizer } from "../src/tokenizers/index.js";
import { DataCollatorForTokenClassification, DataCollatorWithPadding } from "../src/trainer/index.js";
import { Dataset } from "../src/datasets/index.js";
import * as torch from "../src/torch/index.js";
import { repoRoot, needs } from "./helpers.js";

const model = join(repoRoot, "..", "shared", "data", "models", "bert-base-cased");
const skip = needs("shared", existsSync(model), "../shared/data is absent");

test("pads a batch to its longest, renames label to labels, int64 tensors", { skip }, async () => {
  const tokenizer = await AutoTokenizer.fromPretrained(model);
  const collator = new DataCollatorWithPadding({ tokenizer });
  const enc = tokenizer(["A fairly long first sentence here", "Short"], ["and its pair", "pair"], { truncation: true }) as Record<string, number[][]>;
  const features = [0, 1].map((i) => ({ input_ids: enc.input_ids[i], token_type_ids: enc.token_type_ids[i], attention_mask: enc.attention_mask[i], label: i }));
  const batch = collator(features);
  assert.deepEqual(Object.keys(batch).sort(), ["attention_mask", "input_ids", "labels", "token_type_ids"]);
  const longest = enc.input_ids[0].length;
  assert.deepEqual(batch.input_ids.shape, [2, longest]);
  assert.equal(batch.input_ids.dtype, "int64");
  assert.deepEqual(batch.labels.toArray(), [0, 1]);
  assert.equal(batch.labels.dtype, "int64");
  const short = enc.input_ids[1].length;
  assert.deepEqual((batch.attention_mask.toArray() as number[][])[1], [...Array(short).fill(1), ...Array(longest - short).fill(0)]);
  assert.deepEqual((batch.input_ids.toArray() as number[][])[1].slice(short), Array(longest - short).fill(0));
  assert.deepEqual((batch.token_type_ids.toArray() as number[][])[1].slice(short), Array(longest - short).fill(0));
  torch.dispose(batch);

  const multiple = new DataCollatorWithPadding({ tokenizer, padToMultipleOf: 8 })(features);
  assert.equal(multiple.input_ids.shape[1] % 8, 0);
  torch.dispose(multiple);
  const reg = collator([
    { input_ids: [101, 102], label_ids: 0.5 },
    { input_ids: [101, 7, 102], label_ids: 2 },
  ]);
  assert.equal(reg.labels.dtype, "float32", "non-integer labels (regression) become float32");
  torch.dispose(reg);
  assert.throws(() => collator([]), /non-empty array of features/);
  assert.throws(() => collator([{ label: 1 }]), /feature 0 has no input_ids array/);
  assert.throws(() => collator([{ input_ids: [1], text: "raw" }]), /Unable to create tensor for 'text'/);
  assert.throws(() => new DataCollatorWithPadding({} as never), /\{ tokenizer \} is required/);
});

test(
  "the course's batch of columns: ds.slice(0, 8) without the text columns collates as the same rows do",
  { skip: existsSync(join(repoRoot, "..", "shared", "data", "hf-home")) ? skip : "../shared/data is absent" },
  async () => {
    const tokenizer = await AutoTokenizer.fromPretrained(model);
    const ds = Dataset.fromDict({
      sentence1: ["A fairly long first sentence here", "Short", "Middle sized one"],
      sentence2: ["and its pair", "pair", "a pair"],
      label: [1, 0, 1],
      idx: [0, 1, 2],
    });
    const tokenized = await ds.map((ex) => tokenizer(ex.sentence1, ex.sentence2, { truncation: true }), { batched: true });
    // Python's tokenized["train"][:8] and its slice rules: negative and out-of-range indices.
    assert.deepEqual(tokenized.slice(0, 8).label, [1, 0, 1]);
    assert.deepEqual(tokenized.slice(-2).idx, [1, 2]);
    assert.deepEqual(tokenized.slice(2, 1).idx, []);
    assert.deepEqual(tokenized.slice().idx, [0, 1, 2]);
    const { sentence1, sentence2, idx, ...samples } = tokenized.slice(0, 8);
    assert.equal(sentence1.length + sentence2.length + idx.length, 9);
    const collator = new DataCollatorWithPadding({ tokenizer, returnTensors: "pt" });
    const fromColumns = collator(samples);
    const fromRows = collator(tokenized.removeColumns(["sentence1", "sentence2", "idx"]).toList());
    assert.deepEqual(Object.keys(fromColumns).sort(), ["attention_mask", "input_ids", "labels", "token_type_ids"]);
    for (const k of Object.keys(fromRows)) torch.tidy(() => assert.ok(fromColumns[k].equal(fromRows[k]), k));
    torch.dispose([...Object.values(fromColumns), ...Object.values(fromRows)]);
    assert.throws(() => collator({ input_ids: [[1, 2]], labels: [1, 0] }), /column 'labels' has 2 values, 'input_ids' has 1/);
    assert.throws(() => new DataCollatorWithPadding({ tokenizer, returnTensors: "np" as never }), /returnTensors must be "pt"/);
  },
);

test("DataCollatorForTokenClassification: labels padded with -100 to the inputs' length, on the tokenizer's side, under their own name", { skip }, async () => {
  const tokenizer = await AutoTokenizer.fromPretrained(model);
  // The course's alignment: word labels on the first piece of each word, -100 on the special tokens.
  const enc = tokenizer(
    [
      ["EU", "rejects", "German", "call"],
      ["Peter", "Blackburn"],
    ],
    { isSplitIntoWords: true },
  );
  const wordLabels = [
    [3, 0, 7, 0],
    [1, 2],
  ];
  const features = [0, 1].map((i) => ({
    input_ids: enc.input_ids[i],
    attention_mask: enc.attention_mask[i],
    labels: enc.wordIds(i).map((w) => (w === null ? -100 : wordLabels[i][w])),
  }));
  const collator = new DataCollatorForTokenClassification({ tokenizer });
  const batch = collator(features);
  assert.deepEqual(Object.keys(batch).sort(), ["attention_mask", "input_ids", "labels"]);
  const n0 = enc.input_ids[0].length;
  const n1 = enc.input_ids[1].length;
  assert.deepEqual(batch.labels.shape, [2, n0]);
  assert.equal(batch.labels.dtype, "int64");
  // Hand-computed: row 1's labels, then -100 up to row 0's length.
  assert.deepEqual((batch.labels.toArray() as number[][])[1], [...features[1].labels, ...new Array(n0 - n1).fill(-100)]);
  assert.deepEqual((batch.labels.toArray() as number[][])[0], features[0].labels);
  // Left padding and a multiple; another pad label; "label" keeps its name (HF does not rename it here).
  tokenizer.paddingSide = "left";
  const left = new DataCollatorForTokenClassification({ tokenizer, padToMultipleOf: 8, labelPadTokenId: -1 })(
    features.map((f) => ({ input_ids: f.input_ids, attention_mask: f.attention_mask, label: f.labels })),
  );
  tokenizer.paddingSide = "right";
  const width = Math.ceil(n0 / 8) * 8;
  assert.deepEqual(left.label.shape, [2, width]);
  assert.deepEqual((left.label.toArray() as number[][])[1], [...new Array(width - n1).fill(-1), ...features[1].labels]);
  assert.deepEqual((left.input_ids.toArray() as number[][])[1].slice(width - n1), enc.input_ids[1]);
  // Without labels it is the tokenizer's padding alone.
  assert.deepEqual(Object.keys(collator(features.map(({ input_ids }) => ({ input_ids })))).sort(), ["attention_mask", "input_ids"]);
  assert.throws(() => collator([{ input_ids: [101, 102], labels: 3 }]), /feature 0's 'labels' must be a list of label ids/);
  torch.dispose([batch, left]);
});
