// Batches straight from Arrow: the same tensors as DataCollatorWithPadding over the same rows (any
// row order, an indices mapping, left padding, a multiple, int and float labels), and a training run
// over 1,000,000 rows whose memory does not grow with the dataset.
import { test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as arrow from "apache-arrow";
import * as torch from "../src/torch/index.js";
import { ClassLabel, Dataset, Sequence, Value } from "../src/datasets/index.js";
import { AutoTokenizer } from "../src/tokenizers/index.js";
import { DataCollatorWithPadding, Trainer, TrainingArguments } from "../src/trainer/index.js";
import { ArrowPaddingCollator } from "../src/trainer/arrow_collate.js";
import { repoRoot, needs } from "./helpers.js";
import { silenced, tinyModel } from "./trainer_helpers.js";
import { withEnv } from "./helpers.js";
import { loadDataset } from "../src/datasets/index.js";

const shared = join(repoRoot, "..", "shared", "data");
const noShared = needs("shared", existsSync(join(shared, "models", "bert-base-cased")), "../shared/data is absent");

function sameBatch(a: Record<string, torch.Tensor>, b: Record<string, torch.Tensor>, what: string): void {
  assert.deepEqual(Object.keys(a).sort(), Object.keys(b).sort(), `${what}: fields`);
  for (const k of Object.keys(a)) {
    assert.equal(a[k].dtype, b[k].dtype, `${what}: ${k} dtype`);
    assert.deepEqual(a[k].shape, b[k].shape, `${what}: ${k} shape`);
    assert.ok(a[k].equal(b[k]), `${what}: ${k} values`);
  }
}

test("Arrow batches equal DataCollatorWithPadding's, for any rows, indices, padding side, multiple and label type", { skip: noShared }, async () => {
  const tokenizer = await AutoTokenizer.fromPretrained(join(shared, "models", "bert-base-cased"));
  const texts = ["a short one", "a somewhat longer sentence with more words in it", "x", "Hello, world! Café.", "the last of them, and fairly long, too"];
  const enc = tokenizer(
    texts,
    texts.map((t) => t.split("").reverse().join("")),
    { truncation: true },
  );
  const base = Dataset.fromDict({ ...enc, label: [0, 1, 1, 0, 1], score: [0.5, 1.25, -2.5, 3.75, 0.1] } as never);
  const withClassLabel = base.castColumn("label", new ClassLabel({ names: ["no", "yes"] }));
  const shuffled = withClassLabel.shuffle({ seed: 3 }).select([4, 0, 2, 1]);
  const rowsets = [Int32Array.from([0, 1, 2, 3, 4]), Int32Array.from([3, 1]), Int32Array.from([2]), Int32Array.from([4, 4, 0])];
  for (const [ds, name] of [
    [base, "plain"],
    [withClassLabel, "ClassLabel"],
    [shuffled, "indices mapping"],
  ] as const) {
    for (const side of ["right", "left"] as const) {
      for (const multiple of [null, 8]) {
        tokenizer.paddingSide = side;
        const collator = new DataCollatorWithPadding({ tokenizer, padToMultipleOf: multiple });
        for (const columns of [
          ["input_ids", "token_type_ids", "attention_mask", "label"],
          ["input_ids", "attention_mask", "score"],
        ]) {
          if (columns.includes("score")) {
            // A float label column named "label" is a regression target: float32, as HF gives it.
            const regression = ds.removeColumns("label").renameColumn("score", "label");
            const r = ArrowPaddingCollator.for(collator, regression, ["input_ids", "attention_mask", "label"])!;
            assert.ok(r, "a float label is handled");
            for (const rows of rowsets.filter((rs) => Math.max(...rs) < regression.numRows)) {
              const data = regression.batchAt(rows, ["input_ids", "attention_mask", "label"]);
              const slow = collator(
                Array.from(rows, (_, k) => ({ input_ids: data.input_ids[k], attention_mask: data.attention_mask[k], label: data.label[k] })),
              );
              sameBatch(r.collate(rows), slow, `${name}, ${side}, multiple ${multiple}, regression, rows ${rows}`);
            }
            continue;
          }
          const reader = ArrowPaddingCollator.for(collator, ds, columns);
          assert.ok(reader, `${name}: handled`);
          for (const rows of rowsets.filter((rs) => Math.max(...rs) < ds.numRows)) {
            const data = ds.batchAt(rows, columns);
            const slow = collator(Array.from(rows, (_, k) => Object.fromEntries(columns.map((c) => [c, data[c][k]]))));
            torch.tidy(() => sameBatch(reader!.collate(rows), slow, `${name}, ${side}, multiple ${multiple}, rows ${rows}`));
          }
        }
      }
    }
  }
  tokenizer.paddingSide = "right";
  // What it does not handle, it leaves to the collator.
  const custom = new (class extends DataCollatorWithPadding {})({ tokenizer });
  assert.equal(ArrowPaddingCollator.for(custom, base, ["input_ids", "attention_mask"]), null, "a subclass may do more: not taken over");
  assert.equal(
    ArrowPaddingCollator.for(new DataCollatorWithPadding({ tokenizer, padding: "max_length", maxLength: 16 }), base, ["input_ids", "attention_mask"]),
    null,
  );
  assert.equal(
    ArrowPaddingCollator.for(new DataCollatorWithPadding({ tokenizer }), base, ["input_ids"]),
    null,
    "no attention_mask column: the collator makes one",
  );
});

/** A tokenized-looking dataset of n rows built straight as Arrow (lengths 6..17, label = row parity). */
function bigDataset(n: number): Dataset {
  const lengths = Int32Array.from({ length: n }, (_, i) => 6 + ((i * 7) % 12));
  const offsets = new Int32Array(n + 1);
  for (let i = 0; i < n; i++) offsets[i + 1] = offsets[i] + lengths[i];
  const total = offsets[n];
  const ids = new Int32Array(total);
  for (let i = 0; i < n; i++) {
    ids[offsets[i]] = 1;
    for (let j = offsets[i] + 1; j < offsets[i + 1] - 1; j++) ids[j] = 8 + ((i + j) % 30);
    ids[offsets[i + 1] - 1] = 2;
    if (i % 2) ids[offsets[i] + 1] = 7;
  }
  const list = (values: Int32Array | Int8Array, type: arrow.Int32 | arrow.Int8) =>
    arrow.makeVector(
      arrow.makeData({
        type: new arrow.List(new arrow.Field("item", type, true)),
        length: n,
        valueOffsets: offsets,
        child: arrow.makeData({ type, length: total, data: values }),
      }),
    );
  const table = new arrow.Table({
    input_ids: list(ids, new arrow.Int32()),
    attention_mask: list(new Int8Array(total).fill(1), new arrow.Int8()),
    label: arrow.makeVector(BigInt64Array.from({ length: n }, (_, i) => BigInt(i % 2))),
  });
  return Dataset.fromArrow(
    table,
    { input_ids: new Sequence(new Value("int32")), attention_mask: new Sequence(new Value("int8")), label: new Value("int64") },
    { fingerprint: `big-${n}` },
  );
}

test("training on 1,000,000 rows: memory does not grow with the dataset (no full decode)", { skip: noShared }, async () => {
  const tokenizer = await AutoTokenizer.fromPretrained(join(shared, "models", "bert-base-cased"));
  const growth = async (n: number) => {
    const ds = bigDataset(n);
    const args = new TrainingArguments({
      outputDir: mkdtempSync(join(tmpdir(), "ft-big-")),
      perDeviceTrainBatchSize: 8,
      maxSteps: 30,
      saveStrategy: "no",
      loggingStrategy: "no",
      disableTqdm: true,
    });
    const trainer = new Trainer({ model: tinyModel(0), args, trainDataset: ds, processingClass: tokenizer });
    (globalThis as { gc?: () => void }).gc?.();
    const before = process.memoryUsage().rss;
    await silenced(() => trainer.train());
    return (process.memoryUsage().rss - before) / 2 ** 20;
  };
  const small = await growth(10_000);
  const large = await growth(1_000_000);
  // Decoding 1,000,000 rows into JS arrays alone takes hundreds of MB.
  assert.ok(large - small < 60, `RSS grew ${large.toFixed(0)} MB training on 1,000,000 rows vs ${small.toFixed(0)} MB on 10,000`);
});

test(
  "sliced Arrow chunks (a cast column on a mapped 3,668-row MRPC): int and float labels and token lists read as the row-by-row path",
  { skip: noShared },
  async () => {
    await withEnv({ HF_HOME: join(shared, "hf-home"), HF_HUB_OFFLINE: "1", HF_DATASETS_CACHE: mkdtempSync(join(tmpdir(), "ft-slices-")) }, async () => {
      const tokenizer = await AutoTokenizer.fromPretrained(join(shared, "models", "bert-base-cased"));
      const raw = await loadDataset("glue", "mrpc");
      // map writes 1,000-row chunks; the cast column is one chunk, so the table slices it to line up.
      const mapped = (
        await raw.train.map((ex) => tokenizer(ex.sentence1, ex.sentence2, { truncation: true }), { batched: true, disableProgressBar: true })
      ).removeColumns(["sentence1", "sentence2", "idx"]);
      assert.equal(mapped.numRows, 3668);
      const asInt = mapped.castColumn("label", new Value("int64"));
      // An STS-B-like float target: the label plus a fraction, so a row read from its neighbour shows.
      const scored = await mapped.map((ex, i) => ({ score: (ex.label as number) + (i as number) / 4096 }), { withIndices: true, disableProgressBar: true });
      const asFloat = scored.removeColumns("label").castColumn("score", new Value("float32")).renameColumn("score", "label");
      const columns = ["input_ids", "token_type_ids", "attention_mask", "label"];
      const collator = new DataCollatorWithPadding({ tokenizer });
      for (const [ds, what] of [
        [asInt, "int64 label"],
        [asFloat, "float32 label"],
      ] as const) {
        const reader = ArrowPaddingCollator.for(collator, ds, columns);
        assert.ok(reader, `${what}: handled by the Arrow path`);
        const chunks = ds.arrowColumn("label").data;
        assert.ok(chunks.some((d) => d.offset > 0) || ds.arrowColumn("input_ids").data.some((d) => d.offset > 0), `${what}: the table holds sliced chunks`);
        const order = Int32Array.from({ length: ds.numRows }, (_, i) => (i * 7919) % ds.numRows);
        for (let s = 0; s < order.length; s += 32) {
          const rows = order.subarray(s, s + 32);
          const data = ds.batchAt(rows, columns);
          const slow = collator(Array.from(rows, (_, k) => Object.fromEntries(columns.map((c) => [c, data[c][k]]))));
          const fast = reader!.collate(rows);
          sameBatch(fast, slow, `${what}, rows ${rows[0]}…`);
          torch.dispose([fast, slow]);
        }
      }
    });
  },
);
