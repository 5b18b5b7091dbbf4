// TRL's pack_dataset and its SFT collator: the examples of their docstrings, 2,100 rows (three map
// batches, empty and over-long rows) against scripts/golden/pack_bfd.py (TRL's _pack_bfd/_pack_wrapped
// written with lists), and a packed padding-free batch whose loss is the sequences' losses one by one.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { Dataset } from "../src/datasets/index.js";
import * as torch from "../src/torch/index.js";
import { AutoModelForCausalLM } from "../src/models/index.js";
import { DataCollatorForLanguageModeling, packDataset } from "../src/trl/index.js";
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

const list = (t: torch.Tensor) => t.toArray() as number[][];

test("TRL's collator: its docstring examples (padding, prebuilt labels, padding-free), seq_lengths of packed rows, padToMultipleOf", () => {
  const plain = new DataCollatorForLanguageModeling({ padTokenId: 0 });
  const a = plain([{ input_ids: [1, 2, 3] }, { input_ids: [4, 5] }]);
  assert.deepEqual(list(a.input_ids), [
    [1, 2, 3],
    [4, 5, 0],
  ]);
  assert.deepEqual(list(a.attention_mask), [
    [1, 1, 1],
    [1, 1, 0],
  ]);
  assert.deepEqual(list(a.labels), [
    [1, 2, 3],
    [4, 5, -100],
  ]);
  const withLabels = [
    { input_ids: [1, 2, 3], labels: [-100, 2, 3] },
    { input_ids: [4, 5], labels: [-100, 5] },
  ];
  assert.deepEqual(list(plain(withLabels).labels), [
    [-100, 2, 3],
    [-100, 5, -100],
  ]);
  const free = new DataCollatorForLanguageModeling({ padTokenId: 0, paddingFree: true });
  const b = free(withLabels);
  assert.deepEqual(Object.keys(b).sort(), ["input_ids", "labels", "position_ids"]);
  assert.deepEqual(list(b.input_ids), [[1, 2, 3, 4, 5]]);
  assert.deepEqual(list(b.position_ids), [[0, 1, 2, 0, 1]]);
  assert.deepEqual(list(b.labels), [[-100, 2, 3, -100, 5]]);
  // Packed rows: positions restart at each recorded sequence, across the rows flattened into one.
  const c = new DataCollatorForLanguageModeling({ padTokenId: 9, paddingFree: true, padToMultipleOf: 4 })([
    { input_ids: [1, 2, 3, 4], seq_lengths: [3, 1] },
    { input_ids: [5, 6], seq_lengths: [2] },
  ]);
  assert.deepEqual(list(c.input_ids), [[1, 2, 3, 4, 5, 6, 9, 9]]);
  assert.deepEqual(list(c.position_ids), [[0, 1, 2, 0, 0, 1, 0, 0]]);
  assert.deepEqual(list(c.labels), [[-100, 2, 3, -100, -100, 6, -100, -100]]);
  assert.throws(() => free([{ input_ids: [1, 2], seq_lengths: [3] }]), /seq_lengths sum to 3, its input_ids hold 2/);
  torch.dispose([a, b, c]);
});

test("packed and padding-free end to end: each sequence's loss through a Llama equals the sequence run alone", async () => {
  const model = await AutoModelForCausalLM.fromPretrained(fixture("golden", "decoders", "llama-llama3"));
  model.eval();
  const sequences = [
    [5, 45, 17, 8, 93, 21],
    [11, 56, 70],
    [7, 9, 3, 4],
    [60, 61],
    [2, 3, 4, 5, 6, 7, 8],
  ];
  const packed = await packDataset(Dataset.fromDict({ input_ids: sequences }), 10);
  const rowsOut = packed.toDict() as { input_ids: number[][]; seq_lengths: number[][] };
  assert.deepEqual(rowsOut.seq_lengths, [[7, 3], [6, 4], [2]]);
  const batch = new DataCollatorForLanguageModeling({ padTokenId: 0, paddingFree: true })(
    rowsOut.input_ids.map((ids, i) => ({ input_ids: ids, seq_lengths: rowsOut.seq_lengths[i] })),
  );
  torch.noGrad(() =>
    torch.tidy(() => {
      const loss = model.forward(batch).loss!.item();
      let sum = 0;
      let count = 0;
      for (const s of sequences) {
        const ids = torch.tensor([s], { dtype: "int64" });
        sum += model.forward({ input_ids: ids, labels: ids }).loss!.item() * (s.length - 1);
        count += s.length - 1;
      }
      assert.ok(Math.abs(loss - sum / count) <= 1e-5, `packed ${loss} vs one by one ${sum / count}`);
    }),
  );
  torch.dispose(batch);
});
