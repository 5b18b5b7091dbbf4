// groupByLength as HF's LengthGroupedSampler: the order against a PyTorch golden written from
// transformers' get_length_grouped_indices (scripts/golden/length_grouped.py), for the function and for
// the Trainer's first epoch (batches of perDeviceTrainBatchSize × gradientAccumulationSteps, drawn from
// the global generator after the DataLoader's base-seed draw).
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import * as torch from "../src/torch/index.js";
import { Dataset } from "../src/datasets/index.js";
import { AutoModelForSequenceClassification } from "../src/models/index.js";
import { Trainer, TrainingArguments, type Batch, type Features } from "../src/trainer/index.js";
import { getLengthGroupedIndices } from "../src/trainer/length_grouped.js";
import { fixture } from "./helpers.js";
import { out, quiet, silenced } from "./trainer_helpers.js";

interface Case {
  rows: number;
  batch: number;
  accumulation: number;
  seed: number;
  lengths: number[];
  order: number[];
}
const cases = JSON.parse(readFileSync(fixture("golden", "length_grouped.json"), "utf8")) as Case[];

test("getLengthGroupedIndices gives PyTorch's order for the same seed (megabatch multiples 1, 3 and 50, longest batch first)", () => {
  for (const c of cases) {
    torch.manualSeed(c.seed);
    torch.randint(0, 2 ** 53, []).dispose(); // the DataLoader iterator's base seed, as in the golden
    const got = Array.from(getLengthGroupedIndices(c.lengths, c.batch * c.accumulation));
    assert.deepEqual(got, c.order, `${c.rows} rows, batch ${c.batch} × ${c.accumulation}`);
    assert.equal(c.lengths[got[0]], Math.max(...c.lengths), "the longest row comes first");
  }
});

test("the Trainer's first epoch under groupByLength trains the rows in PyTorch's order", async () => {
  for (const c of cases.slice(0, 2)) {
    // Row r's first token is r, so the collator sees which rows each batch holds.
    const ids = c.lengths.map((len, r) => [r, ...new Array<number>(len - 1).fill(1)]);
    const ds = Dataset.fromDict({ input_ids: ids, attention_mask: ids.map((x) => x.map(() => 1)), label: ids.map((_, r) => r % 2) });
    const seen: number[] = [];
    const collator = (features: Features[]): Batch => {
      seen.push(...features.map((f) => (f.input_ids as number[])[0]));
      const width = Math.max(...features.map((f) => (f.input_ids as number[]).length));
      const pad = (x: number[]) => [...x, ...new Array<number>(width - x.length).fill(0)];
      return {
        input_ids: torch.tensor(features.map((f) => pad(f.input_ids as number[]))),
        attention_mask: torch.tensor(features.map((f) => pad(f.attention_mask as number[]))),
        labels: torch.tensor(features.map((f) => f.label as number)),
      };
    };
    const model = AutoModelForSequenceClassification.fromConfig({
      model_type: "bert",
      vocab_size: 128,
      hidden_size: 8,
      num_hidden_layers: 1,
      num_attention_heads: 2,
      intermediate_size: 8,
      max_position_embeddings: 64,
    });
    const args = new TrainingArguments({
      outputDir: out(),
      perDeviceTrainBatchSize: c.batch,
      gradientAccumulationSteps: c.accumulation,
      numTrainEpochs: 1,
      groupByLength: true,
      seed: c.seed,
      saveStrategy: "no",
      ...quiet,
    });
    // The Trainer seeds at construction; nothing draws from the global generator before the first epoch.
    const trainer = new Trainer({ model, args, trainDataset: ds, dataCollator: collator });
    await silenced(() => trainer.train());
    assert.deepEqual(seen, c.order, `${c.rows} rows, batch ${c.batch} × accumulation ${c.accumulation}`);
  }
});
