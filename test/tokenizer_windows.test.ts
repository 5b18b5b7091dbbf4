// Overflowing windows (returnOverflowingTokens + stride), the course's question-answering preprocessing:
// every window's ids, token types, offset_mapping, overflow_to_sample_mapping and sequenceIds() equal an
// independent reference written from the Rust crate's Encoding::truncate and Encoding::merge_with
// (scripts/golden/bert_reference_tokenizer.py), on SQuAD v1.1 dev at max_length 384 / stride 128, left and
// right truncation, only_first, only_second and longest_first; and the text each token's offsets slice out
// of the context is the token's own text.
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { AutoTokenizer, type PreTrainedTokenizer } from "../src/tokenizers/index.js";
import { repoRoot, needs } from "./helpers.js";

const shared = join(repoRoot, "..", "shared", "data");
const squadFile = join(shared, "squad", "dev-v1.1.json");
const modelDir = (name: string) => join(shared, "models", name);
const noConll = needs(
  "shared",
  existsSync(join(shared, "conll2003", "train.txt")) && existsSync(modelDir("bert-base-cased")),
  "../shared/data (CoNLL-2003, bert-base-cased) is absent",
);
const noShared = needs("shared", existsSync(squadFile) && existsSync(modelDir("bert-base-cased")), "../shared/data (SQuAD dev, bert-base-cased) is absent");

interface Req {
  split_into_words?: boolean;
  text: string | string[];
  pair: string | string[] | null;
  truncation: "only_first" | "only_second" | "longest_first";
  max_length: number;
  stride: number;
  side: "left" | "right";
}
interface Row {
  input_ids: number[];
  token_type_ids: number[];
  offset_mapping: [number, number][];
  sequence_ids: (number | null)[];
  word_ids: (number | null)[];
}

function reference(vocab: string, lowercase: boolean, reqs: Req[]): ({ rows: Row[] } | { error: string })[] {
  const script = join(repoRoot, "scripts", "golden", "bert_reference_tokenizer.py");
  const out = execFileSync("python3", [script, vocab, ...(lowercase ? ["--lowercase"] : [])], {
    input: reqs.map((r) => JSON.stringify({ ...r, overflow: true })).join("\n") + "\n",
    maxBuffer: 1 << 30,
  });
  return out
    .toString()
    .trim()
    .split("\n")
    .map((l) => JSON.parse(l));
}

interface SquadExample {
  question: string;
  context: string;
}
function squad(): SquadExample[] {
  const data = JSON.parse(readFileSync(squadFile, "utf8")) as { data: { paragraphs: { context: string; qas: { question: string }[] }[] }[] };
  return data.data.flatMap((a) => a.paragraphs.flatMap((p) => p.qas.map((q) => ({ question: q.question, context: p.context }))));
}

/** Ours, batched as the course calls it (questions and contexts as lists), rows compared one by one. */
function check(tok: PreTrainedTokenizer, reqs: Req[], want: ReturnType<typeof reference>, what: string): number {
  const groups = new Map<string, number[]>();
  reqs.forEach((r, i) => {
    const key = JSON.stringify([r.truncation, r.max_length, r.stride, r.side, r.pair === null, r.split_into_words ?? false]);
    groups.set(key, [...(groups.get(key) ?? []), i]);
  });
  let windows = 0;
  for (const idx of groups.values()) {
    const r0 = reqs[idx[0]];
    const texts = idx.map((i) => reqs[i].text) as string[] | string[][];
    const pairs = r0.pair === null ? null : (idx.map((i) => reqs[i].pair!) as string[] | string[][]);
    const enc = tok(texts, pairs, {
      isSplitIntoWords: r0.split_into_words ?? false,
      truncation: r0.truncation,
      maxLength: r0.max_length,
      stride: r0.stride,
      truncationSide: r0.side,
      returnOverflowingTokens: true,
      returnOffsetsMapping: true,
    });
    const ids = enc.input_ids as number[][];
    const mapping = enc.overflow_to_sample_mapping as number[];
    const offsets = enc.offset_mapping as [number, number][][];
    const types = enc.token_type_ids as number[][];
    let row = 0;
    idx.forEach((reqIndex, k) => {
      const w = want[reqIndex];
      if ("error" in w) throw new Error(`${what}: the reference failed on #${reqIndex}: ${w.error}`);
      for (const [n, expected] of w.rows.entries()) {
        const at = `${what} #${reqIndex} window ${n}`;
        assert.equal(mapping[row], k, `${at}: overflow_to_sample_mapping`);
        assert.deepEqual(ids[row], expected.input_ids, `${at}: input_ids`);
        assert.deepEqual(types[row], expected.token_type_ids, `${at}: token_type_ids`);
        assert.deepEqual(offsets[row], expected.offset_mapping, `${at}: offset_mapping`);
        assert.deepEqual(enc.sequenceIds!(row), expected.sequence_ids, `${at}: sequenceIds()`);
        assert.deepEqual(enc.wordIds!(row), expected.word_ids, `${at}: wordIds()`);
        row++;
        windows++;
      }
    });
    assert.equal(row, ids.length, `${what}: as many windows as the reference`);
  }
  return windows;
}

test(
  "SQuAD dev at the course's settings (384, stride 128, only_second): every window's offsets, sequence ids and mapping equal the Rust crate's rules",
  { skip: noShared },
  async () => {
    const tok = await AutoTokenizer.fromPretrained(modelDir("bert-base-cased"));
    const all = squad();
    // Every question whose context needs more than one window, and the first 300 of the rest.
    const long = all.filter((e) => (tok(e.context).input_ids as number[]).length > 380);
    const examples = [...long, ...all.filter((e) => !long.includes(e)).slice(0, 300)];
    assert.ok(long.length > 50, `SQuAD dev has contexts longer than a window (${long.length})`);
    const reqs: Req[] = examples.map((e) => ({ text: e.question, pair: e.context, truncation: "only_second", max_length: 384, stride: 128, side: "right" }));
    const want = reference(join(modelDir("bert-base-cased"), "vocab.txt"), false, reqs);
    const windows = check(tok, reqs, want, "only_second right");
    assert.ok(windows > examples.length, `overflow windows were made (${windows} for ${examples.length} examples)`);

    // The course's own check, independent of any reference: each context token's offsets slice its text
    // out of the context (cased BERT does not normalize letters, so the slice is the piece without "##").
    const enc = tok(
      examples.map((e) => e.question),
      examples.map((e) => e.context),
      {
        maxLength: 384,
        truncation: "only_second",
        stride: 128,
        returnOverflowingTokens: true,
        returnOffsetsMapping: true,
        padding: "max_length",
      },
    );
    const mapping = enc.overflow_to_sample_mapping as number[];
    const offsets = enc.offset_mapping as [number, number][][];
    let checked = 0;
    (enc.input_ids as number[][]).forEach((ids, row) => {
      const context = Array.from(examples[mapping[row]].context);
      const seq = enc.sequenceIds!(row);
      assert.equal(ids.length, 384, "padded to max_length");
      ids.forEach((id, j) => {
        if (seq[j] !== 1) return;
        const piece = tok.convertIdsToTokens(id);
        if (piece === "[UNK]") return;
        const [s, e] = offsets[row][j];
        assert.equal(context.slice(s, e).join(""), piece.replace(/^##/, ""), `window ${row} token ${j} (${piece}) offsets [${s}, ${e}]`);
        checked++;
      });
    });
    assert.ok(checked > 100_000, `${checked} context tokens checked`);
  },
);

test(
  "windows on the left, only_first, longest_first with both sides overflowing, a single text, uncased: equal the Rust crate's rules",
  { skip: noShared },
  async () => {
    const cased = await AutoTokenizer.fromPretrained(modelDir("bert-base-cased"));
    const examples = squad()
      .filter((_, i) => i % 97 === 0)
      .slice(0, 60);
    const reqs: Req[] = [
      ...examples.map((e): Req => ({ text: e.question, pair: e.context, truncation: "only_second", max_length: 96, stride: 20, side: "left" })),
      ...examples.map((e): Req => ({ text: e.context, pair: e.question, truncation: "only_first", max_length: 64, stride: 16, side: "right" })),
      ...examples.map((e): Req => ({ text: e.context, pair: e.context.slice(0, 300), truncation: "longest_first", max_length: 48, stride: 8, side: "right" })),
      ...examples.map((e): Req => ({ text: e.context, pair: null, truncation: "longest_first", max_length: 50, stride: 10, side: "left" })),
    ];
    check(cased, reqs, reference(join(modelDir("bert-base-cased"), "vocab.txt"), false, reqs), "cased");
    const uncasedDir = modelDir("bert-base-uncased");
    if (existsSync(join(uncasedDir, "vocab.txt"))) {
      const uncased = await AutoTokenizer.fromPretrained(uncasedDir);
      check(uncased, reqs, reference(join(uncasedDir, "vocab.txt"), true, reqs), "uncased");
    }
  },
);

test("longest_first with both sequences overflowing lists the windows in the Rust crate's order; sequenceIds() names its row", { skip: noShared }, async () => {
  const tok = await AutoTokenizer.fromPretrained(modelDir("bert-base-cased"));
  // 6 and 5 tokens into a budget of 4 (7 − 3 specials): 2 + 2, stride 1 → windows a0 a1 a2 a3 a4 and b0 b1 b2 b3.
  const enc = tok("a b c d e f", "v w x y z", { truncation: "longest_first", maxLength: 7, stride: 1, returnOverflowingTokens: true });
  const rows = (enc.input_ids as number[][]).map((ids) => tok.decode(ids).replace(/\[CLS\] | \[SEP\]$/g, ""));
  const A = ["a b", "b c", "c d", "d e", "e f"];
  const B = ["v w", "w x", "x y", "y z"];
  // Encoding::merge_with: (a0, b0); for each later a: (a, b0), (a, b1..); then (a0, b1..).
  const want = [`${A[0]} [SEP] ${B[0]}`];
  for (const a of A.slice(1)) for (const b of B) want.push(`${a} [SEP] ${b}`);
  for (const b of B.slice(1)) want.push(`${A[0]} [SEP] ${b}`);
  assert.deepEqual(rows, want);
  assert.deepEqual(enc.sequenceIds!(1), [null, 0, 0, null, 1, 1, null]);
  assert.throws(() => enc.sequenceIds!(want.length), /batch index 20 is outside 0\.\.19/);
  const one = tok("Hello", "world");
  assert.deepEqual(one.sequenceIds(), [null, 0, null, 1, null]);
  assert.ok(!Object.keys(one).includes("sequenceIds"), "a method, not a column");
});

test(
  "CoNLL-2003 sentences split into words (isSplitIntoWords): ids, per-word offsets, wordIds() and windows equal the reference",
  { skip: noConll },
  async () => {
    const tok = await AutoTokenizer.fromPretrained(modelDir("bert-base-cased"));
    const sentences = readFileSync(join(shared, "conll2003", "train.txt"), "utf8")
      .split(/\n\s*\n/)
      .map((block) =>
        block
          .split("\n")
          .filter((l) => l && !l.startsWith("-DOCSTART-"))
          .map((l) => l.split(" ")[0]),
      )
      .filter((words) => words.length > 0)
      .slice(0, 400);
    const reqs: Req[] = [
      ...sentences.map((words): Req => ({
        split_into_words: true,
        text: words,
        pair: null,
        truncation: "longest_first",
        max_length: 512,
        stride: 0,
        side: "right",
      })),
      ...sentences
        .slice(0, 60)
        .map((words): Req => ({ split_into_words: true, text: words, pair: null, truncation: "longest_first", max_length: 16, stride: 4, side: "right" })),
      ...sentences
        .slice(0, 200)
        .filter((_, i) => (sentences[i + 1]?.length ?? 0) >= 20)
        .map((words): Req => {
          const next = sentences[sentences.indexOf(words) + 1];
          return { split_into_words: true, text: words.slice(0, 5), pair: next, truncation: "only_second", max_length: 24, stride: 4, side: "right" };
        }),
    ];
    check(tok, reqs, reference(join(modelDir("bert-base-cased"), "vocab.txt"), false, reqs), "split into words");
    // The course's alignment: labels follow wordIds(); a word's pieces after the first are -100 (or the I- label).
    const one = tok(["EU", "rejects", "German", "call-up"], { isSplitIntoWords: true });
    assert.deepEqual(one.wordIds(), [null, 0, 1, 2, 3, 3, 3, null]);
    const batch = tok([["EU", "rejects"], ["German"]], { isSplitIntoWords: true, truncation: true, padding: true });
    assert.deepEqual(batch.wordIds(1), [null, 0, null, null], "padding has no word");
    assert.throws(() => tok("a sentence" as unknown as string[], { isSplitIntoWords: true }), /isSplitIntoWords: text must be a list of words/);
    assert.throws(() => tok([["a", 3 as unknown as string]], { isSplitIntoWords: true }), /text\[0\]\[1\] must be a string/);
  },
);
