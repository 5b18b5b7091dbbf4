// AutoTokenizer gives Hugging Face's ids. The expected values come from an independent reference
// (scripts/golden/bert_reference_tokenizer.py: BERT's basic + WordPiece tokenization and the Rust
// crate's truncation rules in plain Python), never from the code under test.
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { copyFileSync, existsSync, mkdtempSync, readdirSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { asyncBufferFromFile, parquetReadObjects } from "hyparquet";
import { AutoTokenizer, type PreTrainedTokenizer } from "../src/tokenizers/index.js";
import { repoRoot, needs } from "./helpers.js";

const shared = join(repoRoot, "..", "shared", "data");
const hfHome = join(shared, "hf-home");
const noShared = needs("shared", existsSync(hfHome), "../shared/data is absent (tests that need the real MRPC data and tokenizer files skip)");
const python = (() => {
  for (const py of ["python3", "/usr/bin/python3"]) {
    try {
      execFileSync(py, ["-c", "import unicodedata"], { stdio: "ignore" });
      return py;
    } catch {
      // try the next
    }
  }
  return null;
})();
const noPython = python ? false : "no python3 to run the reference tokenizer";

interface Req {
  text: string;
  pair?: string | null;
  truncation?: string | null;
  max_length?: number | null;
}
type Enc = { input_ids: number[]; token_type_ids: number[]; attention_mask: number[] } | { error: string };

function reference(vocab: string, lowercase: boolean, reqs: Req[]): Enc[] {
  const script = join(repoRoot, "scripts", "golden", "bert_reference_tokenizer.py");
  const out = execFileSync(python!, [script, vocab, ...(lowercase ? ["--lowercase"] : [])], {
    input: reqs.map((r) => JSON.stringify(r)).join("\n") + "\n",
    maxBuffer: 1 << 28,
  });
  return out
    .toString()
    .trim()
    .split("\n")
    .map((l) => JSON.parse(l) as Enc);
}

function withEnv<T>(fn: () => Promise<T>): Promise<T> {
  const saved = { HF_HOME: process.env.HF_HOME, HF_HUB_OFFLINE: process.env.HF_HUB_OFFLINE };
  process.env.HF_HOME = hfHome;
  process.env.HF_HUB_OFFLINE = "1";
  return fn().finally(() => {
    for (const [k, v] of Object.entries(saved)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  });
}

const cased = () => withEnv(() => AutoTokenizer.fromPretrained("bert-base-cased"));

function ours(tok: PreTrainedTokenizer, r: Req): Enc {
  try {
    const e = tok(r.text, r.pair ?? null, { truncation: (r.truncation ?? false) as never, maxLength: r.max_length ?? null });
    return { input_ids: e.input_ids as number[], token_type_ids: e.token_type_ids as number[], attention_mask: e.attention_mask as number[] };
  } catch (e) {
    return { error: (e as Error).message };
  }
}

function compare(tok: PreTrainedTokenizer, reqs: Req[], expected: Enc[], what: string): void {
  assert.equal(expected.length, reqs.length);
  reqs.forEach((r, i) => {
    const got = ours(tok, r);
    const want = expected[i];
    if ("error" in want) assert.ok("error" in got, `${what} #${i} ${JSON.stringify(r)}: expected an error, got ${JSON.stringify(got)}`);
    else assert.deepEqual(got, want, `${what} #${i} ${JSON.stringify(r)}`);
  });
}

async function mrpcPairs(): Promise<Req[]> {
  const snap = join(hfHome, "hub", "datasets--nyu-mll--glue", "snapshots");
  const dir = join(snap, readdirSync(snap)[0], "mrpc");
  const reqs: Req[] = [];
  for (const split of ["train", "validation", "test"]) {
    const file = await asyncBufferFromFile(join(dir, `${split}-00000-of-00001.parquet`));
    const rows = (await parquetReadObjects({ file, columns: ["sentence1", "sentence2"] })) as { sentence1: string; sentence2: string }[];
    for (const r of rows) reqs.push({ text: r.sentence1, pair: r.sentence2, truncation: "longest_first", max_length: 512 });
  }
  return reqs;
}

const HARD = [
  "Héllo wörld, naïve café — déjà vu!",
  "ÅÄÖ åäö ÇĞİŞ çğış",
  "東京は日本の首都です。中文字符测试",
  "한국어 텍스트",
  "emoji 😀🎉 and 👍🏽 skin tones",
  "control\u0000chars\u0007 and\ttabs\nnewlines\r\n",
  "zero\u200bwidth\u200cjoiners\u200d and \ufeffBOM",
  "soft\u00adhyphen",
  "a".repeat(101),
  "Pneumonoultramicroscopicsilicovolcanoconiosis".repeat(3),
  "supercalifragilisticexpialidocious".repeat(3).slice(0, 100),
  "!!!",
  "...",
  "?",
  "(a)",
  '"quoted"',
  "",
  " ",
  "   \t\n  ",
  "[CLS] inside [SEP] text [MASK]",
  "don't can't won't",
  "$100.00 & 50% off #1",
  "İstanbul",
  "ﬁ ligature",
  "Ω ≈ ∑",
  "\u00e9 vs e\u0301",
  "mixed CASE Words",
  "tab\tseparated\tvalues",
  "ＦＵＬＬ　ｗｉｄｔｈ",
];

test("bert-base-cased from the HF cache: ids identical on every MRPC pair (5,801, truncation: true)", { skip: noShared || noPython }, async () => {
  const tok = await cased();
  const reqs = await mrpcPairs();
  assert.equal(reqs.length, 3668 + 408 + 1725);
  const vocab = join(shared, "models", "bert-base-cased", "vocab.txt");
  compare(tok, reqs, reference(vocab, false, reqs), "MRPC");
  // The first pair, as SOURCES.md records HF's ids for it.
  assert.deepEqual(
    (tok(reqs[0].text, reqs[0].pair!, { truncation: true }).input_ids as number[]).slice(0, 12),
    [101, 7277, 2180, 5303, 4806, 1117, 1711, 117, 2292, 1119, 1270, 107],
  );
});

test("hard strings, alone and in pairs, and every truncation strategy at small maxLength", { skip: noShared || noPython }, async () => {
  const reqs: Req[] = [];
  for (const t of HARD) reqs.push({ text: t });
  for (let i = 0; i < HARD.length; i++) reqs.push({ text: HARD[i], pair: HARD[(i + 7) % HARD.length] });
  const long1 = "The quick brown fox jumps over the lazy dog near the riverbank today";
  const long2 = "A short reply";
  for (const strategy of ["longest_first", "only_first", "only_second"]) {
    for (const max of [4, 5, 6, 7, 8, 11, 16, 40]) {
      for (const [a, b] of [
        [long1, long2],
        [long2, long1],
        [long1, long1],
        [HARD[0], HARD[2]],
      ])
        reqs.push({ text: a, pair: b, truncation: strategy, max_length: max });
    }
  }
  for (const max of [2, 3, 5, 9]) reqs.push({ text: long1, truncation: "longest_first", max_length: max });
  const tok = await cased();
  compare(tok, reqs, reference(join(shared, "models", "bert-base-cased", "vocab.txt"), false, reqs), "cased");
  const uncased = await AutoTokenizer.fromPretrained(join(shared, "models", "bert-base-uncased"));
  compare(uncased, reqs, reference(join(shared, "models", "bert-base-uncased", "vocab.txt"), true, reqs), "uncased");
});

test("vocab.txt-only and tokenizer.json loading give the same ids; savePretrained round-trips", { skip: noShared }, async () => {
  const src = join(shared, "models", "bert-base-cased");
  const vocabOnly = mkdtempSync(join(tmpdir(), "ft-vocab-only-"));
  copyFileSync(join(src, "vocab.txt"), join(vocabOnly, "vocab.txt"));
  copyFileSync(join(src, "tokenizer_config.json"), join(vocabOnly, "tokenizer_config.json"));
  const fromJson = await AutoTokenizer.fromPretrained(src);
  const fromVocab = await AutoTokenizer.fromPretrained(vocabOnly);
  const saved = mkdtempSync(join(tmpdir(), "ft-saved-"));
  const files = fromVocab.savePretrained(saved);
  assert.deepEqual(files.map((f) => f.slice(saved.length + 1)).sort(), ["special_tokens_map.json", "tokenizer.json", "tokenizer_config.json", "vocab.txt"]);
  const reloaded = await AutoTokenizer.fromPretrained(saved);
  for (const t of [...HARD, 'Amrozi accused his brother , whom he called " the witness "']) {
    for (const opts of [{}, { truncation: true, maxLength: 8 }] as const) {
      const want = fromJson(t, "a second sentence", opts);
      assert.deepEqual(fromVocab(t, "a second sentence", opts), want, `vocab.txt route: ${JSON.stringify(t)}`);
      assert.deepEqual(reloaded(t, "a second sentence", opts), want, `saved and reloaded: ${JSON.stringify(t)}`);
    }
  }
  assert.equal(reloaded.modelMaxLength, 512);
  assert.equal(reloaded.vocabSize, 28996);
  assert.match(String(reloaded), /^BertTokenizerFast\(name_or_path=/);
});

test("batches, padding, tensors, offsets, overflow, decoding and special tokens", { skip: noShared }, async () => {
  const tok = await cased();
  assert.equal(tok.padTokenId, 0);
  assert.equal(tok.clsTokenId, 101);
  assert.equal(tok.sepToken, "[SEP]");
  assert.equal(tok.modelMaxLength, 512);
  assert.equal(tok.length, 28996);
  const batch = tok(["Hello there", "Hi"], { padding: true });
  assert.deepEqual(batch.input_ids, [
    [101, 8667, 1175, 102],
    [101, 8790, 102, 0],
  ]);
  assert.deepEqual(batch.attention_mask, [
    [1, 1, 1, 1],
    [1, 1, 1, 0],
  ]);
  const left = tok(["Hello there", "Hi"], { padding: "max_length", maxLength: 6, paddingSide: "left", truncation: true });
  assert.deepEqual(left.input_ids, [
    [0, 0, 101, 8667, 1175, 102],
    [0, 0, 0, 101, 8790, 102],
  ]);
  assert.deepEqual((tok(["Hi"], { padding: true, padToMultipleOf: 8 }).input_ids as number[][])[0].length, 8);
  const pt = tok(["Hello there", "Hi"], { padding: true, returnTensors: "pt" }) as Record<string, import("../src/torch/index.js").Tensor>;
  assert.deepEqual([pt.input_ids.shape, pt.input_ids.dtype], [[2, 4], "int64"]);
  assert.deepEqual(pt.attention_mask.toArray(), [
    [1, 1, 1, 1],
    [1, 1, 1, 0],
  ]);
  Object.values(pt).forEach((t) => t.dispose());
  assert.throws(() => tok(["Hello there", "Hi"], { returnTensors: "pt" }), /Unable to create tensor for 'input_ids'.*activate truncation and\/or padding/s);
  // Offsets in code points, as Python's str indices.
  const off = tok("Héllo, wörld! 😀x [SEP]", { returnOffsetsMapping: true });
  assert.deepEqual(off.offset_mapping, [
    [0, 0],
    [0, 1],
    [1, 2],
    [2, 5],
    [5, 6],
    [7, 8],
    [8, 9],
    [9, 11],
    [11, 12],
    [12, 13],
    [14, 16],
    [17, 22],
    [0, 0],
  ]);
  // Overflow with a stride: windows of 4 tokens sharing 1.
  const ov = tok("one two three four five six seven", { truncation: true, maxLength: 6, stride: 1, returnOverflowingTokens: true });
  assert.deepEqual(ov.overflow_to_sample_mapping, [0, 0]);
  assert.deepEqual(
    (ov.input_ids as number[][]).map((ids) => tok.decode(ids)),
    ["[CLS] one two three four [SEP]", "[CLS] four five six seven [SEP]"],
  );
  const qa = tok("Who?", "one two three four five six seven", { truncation: "only_second", maxLength: 8, stride: 2, returnOverflowingTokens: true });
  assert.deepEqual(
    (qa.input_ids as number[][]).map((ids) => tok.decode(ids)),
    [
      "[CLS] Who? [SEP] one two three [SEP]",
      "[CLS] Who? [SEP] two three four [SEP]",
      "[CLS] Who? [SEP] three four five [SEP]",
      "[CLS] Who? [SEP] four five six [SEP]",
      "[CLS] Who? [SEP] five six seven [SEP]",
    ],
  );
  const ids = tok("Hello, world!").input_ids as number[];
  assert.equal(tok.decode(ids), "[CLS] Hello, world! [SEP]");
  assert.equal(tok.decode(ids, { skipSpecialTokens: true }), "Hello, world!");
  assert.deepEqual(tok.batchDecode([ids, ids], { skipSpecialTokens: true }), ["Hello, world!", "Hello, world!"]);
  assert.deepEqual(tok.tokenize("Héllo"), ["H", "##é", "##llo"]);
  assert.deepEqual(tok.convertTokensToIds(["[CLS]", "Hello", "not-a-token-xyz"]), [101, 8667, 100]);
  assert.deepEqual(tok.convertIdsToTokens([101, 8667]), ["[CLS]", "Hello"]);
  assert.deepEqual(tok("Hi", { returnSpecialTokensMask: true, returnLength: true }).special_tokens_mask, [1, 0, 1]);
  const padded = tok.pad([
    { input_ids: [101, 5, 102], label: 1 },
    { input_ids: [101, 102], label: 0 },
  ]);
  assert.deepEqual(padded.input_ids, [
    [101, 5, 102],
    [101, 102, 0],
  ]);
  assert.deepEqual(padded.attention_mask, [
    [1, 1, 1],
    [1, 1, 0],
  ]);
});

test("bad input: missing or malformed files, non-strings, mismatched pairs", { skip: noShared }, async () => {
  const tok = await cased();
  assert.throws(() => tok(42 as never), /text must be a string \(or an array of strings for a batch\), got number/);
  assert.throws(() => tok(["a", null as never]), /text\[1\] must be a string/);
  assert.throws(() => tok(["a", "b"], ["c"]), /text has 2 entries but textPair has 1/);
  assert.throws(() => tok("a", ["b"]), /textPair must be a string when text is a string/);
  assert.throws(() => tok("a", { truncation: "sideways" as never }), /truncation must be true, false, 'longest_first'/);
  assert.throws(
    () => tok("a b c d e f", "x", { truncation: "only_second", maxLength: 5 }),
    /'only_second': the second sequence has 1 tokens, too few to remove/,
  );
  const empty = mkdtempSync(join(tmpdir(), "ft-empty-"));
  await assert.rejects(AutoTokenizer.fromPretrained(empty), /has neither tokenizer.json, vocab.txt nor vocab.json \+ merges.txt/);
  const bad = mkdtempSync(join(tmpdir(), "ft-bad-"));
  writeFileSync(join(bad, "tokenizer.json"), "{ not json");
  await assert.rejects(AutoTokenizer.fromPretrained(bad), /tokenizer.json: .*tokenizer.json is not valid JSON/);
  writeFileSync(join(bad, "tokenizer.json"), JSON.stringify({ model: {} }));
  await assert.rejects(AutoTokenizer.fromPretrained(bad), /tokenizer.json has no 'normalizer' entry/);
  await withEnv(() =>
    assert.rejects(
      AutoTokenizer.fromPretrained("no-such-org/no-such-model"),
      /not in the cache and HF_HUB_OFFLINE is set\. Looked in .*models--no-such-org--no-such-model/,
    ),
  );
});
