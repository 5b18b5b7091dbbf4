// TRL's pack_dataset: the examples of its docstring, and 2,100 rows (three map batches, empty and
// over-long rows) against scripts/golden/pack_bfd.py, TRL's _pack_bfd/_pack_wrapped written with lists.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { Dataset } from "../src/datasets/index.js";
import { packDataset } from "../src/trl/index.js";
import { fixture } from "./helpers.js";

const rows = (ds: Dataset) => ds.toDict() as Record<string, unknown[]>;

test("TRL's docstring examples: bfd truncates, bfd_split keeps every token, seq_lengths recorded", async () => {
  const ds = Dataset.fromDict({
    input_ids: [[1, 2, 3, 4, 5], [6, 7], [8, 9, 10], [11]],
    attention_mask: [[1, 1, 1, 0, 0], [1, 0], [1, 1, 0], [1]],
  });
  assert.deepEqual(rows(await packDataset(ds, 4)), {
    input_ids: [
      [1, 2, 3, 4],
      [8, 9, 10, 11],
      [6, 7],
    ],
    attention_mask: [
      [1, 1, 1, 0],
      [1, 1, 0, 1],
      [1, 0],
    ],
    seq_lengths: [[4], [3, 1], [2]],
  });
  assert.deepEqual(rows(await packDataset(ds, 4, { strategy: "bfd_split" })), {
    input_ids: [
      [1, 2, 3, 4],
      [8, 9, 10, 5],
      [6, 7, 11],
    ],
    attention_mask: [
      [1, 1, 1, 0],
      [1, 1, 0, 0],
      [1, 0, 1],
    ],
    seq_lengths: [[4], [3, 1], [2, 1]],
  });
  assert.deepEqual(rows(await packDataset(ds, 4, { strategy: "wrapped" })), {
    input_ids: [
      [1, 2, 3, 4],
      [5, 6, 7, 8],
      [9, 10, 11],
    ],
    attention_mask: [
      [1, 1, 1, 0],
      [0, 1, 0, 1],
      [1, 0, 1],
    ],
  });
});

test("2,100 rows in three map batches equal TRL's packing, strategy by strategy", async () => {
  type Golden = { columns: Record<string, number[][]>; seq_length: number } & Record<"bfd" | "bfd_split" | "wrapped", Record<string, number[][]>>;
  const g = JSON.parse(readFileSync(fixture("golden", "trl", "pack.json"), "utf8")) as Golden;
  const ds = Dataset.fromDict(g.columns);
  for (const strategy of ["bfd", "bfd_split", "wrapped"] as const) {
    const packed = rows(await packDataset(ds, g.seq_length, { strategy }));
    assert.deepEqual(Object.keys(packed).sort(), Object.keys(g[strategy]).sort(), strategy);
    for (const c of Object.keys(g[strategy])) assert.deepEqual(packed[c], g[strategy][c], `${strategy}: ${c}`);
    // No packed row is longer than seq_length; bfd keeps each sequence whole (up to seq_length).
    assert.ok((packed.input_ids as number[][]).every((r) => r.length <= g.seq_length));
  }
});

test("bad input: a column that is not lists, columns of different lengths, an unknown strategy", async () => {
  await assert.rejects(
    packDataset(Dataset.fromDict({ input_ids: [[1, 2]], label: [1] }), 4),
    /Packing requires all columns to be lists of lists \(column 'label' is not\)/,
  );
  await assert.rejects(packDataset(Dataset.fromDict({ input_ids: [[1, 2]], attention_mask: [[1]] }), 4), /All columns must have values of the same length/);
  // @ts-expect-error: not a strategy
  await assert.rejects(packDataset(Dataset.fromDict({ input_ids: [[1, 2]] }), 4, { strategy: "greedy" }), /Invalid packing strategy 'greedy'/);
});
