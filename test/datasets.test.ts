// Datasets: MRPC from the HF cache and from GLUE's TSVs, the Dataset operations, map's cache, and
// files written and read back.
import { test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { inspect } from "node:util";
import { ClassLabel, Dataset, DatasetDict, Sequence, Value, loadDataset, loadFromDisk } from "../src/datasets/index.js";
import * as torch from "../src/torch/index.js";
import { AutoTokenizer } from "../src/tokenizers/index.js";
import { repoRoot, needs } from "./helpers.js";

const shared = join(repoRoot, "..", "shared", "data");
const noShared = needs("shared", existsSync(join(shared, "hf-home")), "../shared/data is absent");

async function withHfCache<T>(fn: (cache: string) => Promise<T>): Promise<T> {
  const saved = { ...process.env };
  const cache = mkdtempSync(join(tmpdir(), "ft-datasets-cache-"));
  Object.assign(process.env, { HF_HOME: join(shared, "hf-home"), HF_HUB_OFFLINE: "1", HF_DATASETS_CACHE: cache });
  try {
    return await fn(cache);
  } finally {
    for (const k of ["HF_HOME", "HF_HUB_OFFLINE", "HF_DATASETS_CACHE"]) {
      if (saved[k] === undefined) delete process.env[k];
      else process.env[k] = saved[k];
    }
  }
}

test('loadDataset("glue", "mrpc") from the HF cache: splits, features, rows, label balance', { skip: noShared }, async () => {
  await withHfCache(async () => {
    const raw = await loadDataset("glue", "mrpc");
    assert.deepEqual(raw.numRows, { train: 3668, validation: 408, test: 1725 });
    const train = raw["train"];
    assert.deepEqual(train.columnNames, ["sentence1", "sentence2", "label", "idx"]);
    assert.ok(train.features.label instanceof ClassLabel);
    assert.deepEqual((train.features.label as ClassLabel).names, ["not_equivalent", "equivalent"]);
    assert.equal(String(train.features.idx), "Value(dtype='int32', id=None)");
    assert.deepEqual(train.at(0), {
      sentence1: 'Amrozi accused his brother , whom he called " the witness " , of deliberately distorting his evidence .',
      sentence2: 'Referring to him as only " the witness " , Amrozi accused his brother of deliberately distorting his evidence .',
      label: 1,
      idx: 0,
    });
    assert.equal(train.column("label").filter((l) => l === 1).length, 2474);
    assert.equal(raw.validation.column("label").filter((l) => l === 1).length, 279);
    assert.equal(train.at(-1).idx, train.column("idx")[3667]);
    assert.equal(String(train), "Dataset({\n    features: ['sentence1', 'sentence2', 'label', 'idx'],\n    num_rows: 3668\n})");
    assert.match(
      inspect(raw),
      /^DatasetDict\(\{\n    train: Dataset\(\{\n        features: \['sentence1', 'sentence2', 'label', 'idx'\],\n        num_rows: 3668\n    \}\)\n    validation: Dataset/,
    );
    const val = (await loadDataset("glue", "mrpc", { split: "validation[:10]" })) as Dataset;
    assert.equal(val.numRows, 10);
    await assert.rejects(loadDataset("glue", "mrpc", { split: "dev" }), /Unknown split "dev"\. Should be one of \["train","validation","test"\]/);
    // A misspelt split is an error naming the splits, as Python's KeyError, not an undefined that fails later.
    // @ts-expect-error GLUE's splits are known to the type checker: a misspelt one does not compile
    assert.throws(() => raw["validaton"].numRows, /Unknown split "validaton"\. Should be one of \["train","validation","test"\]/);
    assert.equal(await Promise.resolve(raw), raw, "awaiting a DatasetDict (a 'then' probe) is no split lookup");
    assert.equal((await raw.map((ex) => ({ n: ex.sentence1.length }), { batched: false })).train.numRows, 3668, "methods work through the split guard");
    await assert.rejects(loadDataset("glue", "sst9"), /BuilderConfig 'sst9' not found\. Available: \["mrpc"\]/);
  });
});

test("GLUE's TSVs load through the csv builder with quoting off (they hold unbalanced quotes)", { skip: noShared }, async () => {
  const dir = join(shared, "glue", "MRPC");
  const dd = (await loadDataset("csv", {
    dataFiles: { train: join(dir, "train.tsv"), validation: join(dir, "dev.tsv") },
    delimiter: "\t",
    quoting: false,
    cacheDir: mkdtempSync(join(tmpdir(), "ft-c-")),
  })) as DatasetDict;
  assert.deepEqual(dd.numRows, { train: 3668, validation: 408 });
  assert.deepEqual(dd.train.columnNames, ["Quality", "#1 ID", "#2 ID", "#1 String", "#2 String"], "the UTF-8 BOM is not part of the first name");
  assert.equal(String(dd.train.features.Quality), "Value(dtype='int64', id=None)");
  assert.equal(dd.train.column("Quality").filter((q) => q === 1).length, 2474);
  assert.match(dd.train.at(91)["#1 String"] as string, /^Officials at Brandeis said this was an " extremely heartrending " time/);
  await assert.rejects(loadDataset("csv", { dataFiles: join(dir, "train.tsv"), delimiter: "\t" }), /quoting: false/);
});

test("in-memory constructors, row/column access, select, filter, shuffle, sort, split, renames, casts", async () => {
  const ds = Dataset.fromDict({ text: ["a", "bb", "ccc", "dd", "e"], label: [0, 1, 1, 0, 1], score: [0.5, 1.5, 2, 3, 4] });
  assert.deepEqual(ds.features, { text: new Value("string"), label: new Value("int64"), score: new Value("float64") });
  assert.deepEqual(ds.at(1), { text: "bb", label: 1, score: 1.5 });
  assert.deepEqual(ds.column("text"), ["a", "bb", "ccc", "dd", "e"]);
  assert.throws(() => ds.at(5), /Index 5 out of range for dataset of size 5/);
  assert.throws(() => ds.column("nope"), /Column 'nope' not in the dataset\. Current columns in the dataset: \["text","label","score"\]/);
  assert.deepEqual(ds.select([4, 0]).column("text"), ["e", "a"]);
  assert.deepEqual((await ds.filter((r) => (r as { label: number }).label === 1)).column("text"), ["bb", "ccc", "e"]);
  const sh = ds.shuffle({ seed: 42 });
  assert.deepEqual([...sh.column("text")].sort(), ["a", "bb", "ccc", "dd", "e"]);
  assert.deepEqual(ds.shuffle({ seed: 42 }).column("text"), sh.column("text"), "a seed fixes the order");
  assert.notEqual(sh.fingerprint, ds.fingerprint);
  assert.deepEqual(sh.flattenIndices().column("text"), sh.column("text"));
  assert.deepEqual(ds.sort("score", { reverse: true }).column("text"), ["e", "dd", "ccc", "bb", "a"]);
  const split = ds.trainTestSplit({ testSize: 0.4, seed: 1 });
  assert.deepEqual([split.train.numRows, split.test.numRows], [3, 2]);
  assert.deepEqual([...split.train.column("text"), ...split.test.column("text")].sort(), ["a", "bb", "ccc", "dd", "e"]);
  assert.throws(() => ds.trainTestSplit({ testSize: 7 }), /test_size=7 should be either positive and smaller than the number of samples 5/);
  assert.deepEqual(ds.renameColumn("label", "labels").columnNames, ["text", "labels", "score"]);
  assert.deepEqual(ds.removeColumns(["text", "score"]).columnNames, ["label"]);
  const cast = ds.castColumn("label", new ClassLabel({ names: ["neg", "pos"] }));
  assert.equal((cast.features.label as ClassLabel).int2str(cast.at(1).label as number), "pos");
  assert.deepEqual(ds.castColumn("score", new Value("float32")).features.score, new Value("float32"));
  assert.deepEqual(Dataset.fromList([{ a: 1 }, { a: 2, b: "x" }]).toList(), [
    { a: 1, b: null },
    { a: 2, b: "x" },
  ]);
  const gen = await Dataset.fromGenerator(function* () {
    for (let i = 0; i < 3; i++) yield { i, sq: i * i };
  });
  assert.deepEqual(gen.column("sq"), [0, 1, 4]);
  assert.throws(() => Dataset.fromDict({ a: [1, 2], b: [1] }), /columns have different lengths \(2, 1\)/);
  assert.throws(() => Dataset.fromDict({ a: [1, "x"] }), /column 'a' mixes value types \(number, string\)/);
  assert.throws(() => Dataset.fromDict({ a: ["x"] }, { features: { a: new Value("int32") } }), /column 'a' is int32 but holds "x"/);
});

test("map: batched and per row, removeColumns, tokenizer-like outputs in HF's small int types, torch format", async () => {
  const ds = Dataset.fromDict({ text: ["a b", "c", "d e f"], label: [1, 0, 1] });
  const mapped = await ds.map(
    (b) => {
      const batch = b as { text: string[] };
      return { input_ids: batch.text.map((t) => t.split(" ").map((w) => w.charCodeAt(0))), attention_mask: batch.text.map((t) => t.split(" ").map(() => 1)) };
    },
    { batched: true, batchSize: 2 },
  );
  assert.deepEqual(mapped.columnNames, ["text", "label", "input_ids", "attention_mask"]);
  assert.deepEqual(mapped.features.input_ids, new Sequence(new Value("int32")));
  assert.deepEqual(mapped.features.attention_mask, new Sequence(new Value("int8")));
  assert.deepEqual(mapped.at(2).input_ids, [100, 101, 102]);
  const perRow = await ds.map((r) => ({ n: (r as { text: string }).text.length }), { removeColumns: "text" });
  assert.deepEqual(perRow.toDict(), { label: [1, 0, 1], n: [3, 1, 5] });
  const expanded = await ds.map((b) => ({ word: (b as { text: string[] }).text.flatMap((t) => t.split(" ")) }), {
    batched: true,
    removeColumns: ["text", "label"],
  });
  assert.deepEqual(expanded.column("word"), ["a", "b", "c", "d", "e", "f"]);
  await assert.rejects(
    ds.map(() => ({ x: [1] }), { batched: true }),
    /returned 1 rows; to change the number of rows, remove the input columns/,
  );
  await assert.rejects(
    ds.map(() => ({}), { removeColumns: "nope" }),
    /Column 'nope' not in the dataset/,
  );
  const pt = await mapped.withFormat("torch", ["label", "input_ids"]);
  const row = pt.at(0) as Record<string, torch.Tensor>;
  assert.deepEqual(Object.keys(row), ["label", "input_ids"]);
  assert.equal(row.label.dtype, "int64");
  assert.deepEqual(row.input_ids.toArray(), [97, 98]);
  torch.dispose(row);
  assert.equal(mapped.format.type, null, "withFormat leaves the original alone");
});

test("map's cache: an identical map is served from the cache file, a changed fn recomputes, no partial files", { skip: noShared }, async () => {
  await withHfCache(async (cache) => {
    const raw = (await loadDataset("glue", "mrpc", { split: "validation" })) as Dataset;
    let calls = 0;
    const fn = (b: unknown) => {
      calls++;
      return { n: (b as { sentence1: string[] }).sentence1.map((s) => s.length) };
    };
    // 408 rows in batches of 100: 5 calls. A cache hit recomputes the first batch only, to check it.
    const o = { batched: true, batchSize: 100 };
    const first = await raw.map(fn, o);
    assert.equal(calls, 5);
    const second = await raw.map(fn, o);
    assert.equal(calls, 6, "served from the cache: fn called on the first batch only");
    assert.deepEqual(second.column("n"), first.column("n"));
    assert.equal(second.fingerprint, first.fingerprint);
    const changed = await raw.map((b: unknown) => {
      calls++;
      return { n: (b as { sentence1: string[] }).sentence1.map((s) => s.length + 1) };
    }, o);
    assert.equal(calls, 11, "a changed function recomputes");
    assert.equal(changed.column("n")[0], (first.column("n")[0] as number) + 1);
    await raw.map(fn, { batched: true, batchSize: 200 });
    assert.equal(calls, 14, "a changed option recomputes (3 batches of 200)");
    await raw.map(fn, { ...o, loadFromCacheFile: false });
    assert.equal(calls, 19);
    // A dependency the source does not show (a captured variable): the first batch differs from the
    // cache, so the map runs again instead of returning the stale result.
    let offset = 0;
    const captured = (b: unknown) => ({ n: (b as { sentence1: string[] }).sentence1.map((s) => s.length + offset) });
    assert.equal((await raw.map(captured, o)).column("n")[0], first.column("n")[0]);
    offset = 10;
    const warnings: string[] = [];
    const warn = console.warn;
    console.warn = (m: unknown) => void warnings.push(String(m));
    try {
      assert.equal((await raw.map(captured, o)).column("n")[0], (first.column("n")[0] as number) + 10, "not the stale cached result");
    } finally {
      console.warn = warn;
    }
    assert.match(
      warnings.join("\n"),
      /differs from what fn computes now for the first rows: fn depends on something its source and the tokenizers it calls do not show/,
    );
    const files: string[] = [];
    const walk = (d: string) => readdirSync(d, { withFileTypes: true }).forEach((e) => (e.isDirectory() ? walk(join(d, e.name)) : files.push(e.name)));
    walk(cache);
    assert.ok(files.filter((f) => /^cache-[0-9a-f]{16}\.arrow$/.test(f)).length >= 3);
    assert.deepEqual(
      files.filter((f) => f.includes(".tmp-")),
      [],
      "cache files appear atomically",
    );
  });
});

test("map's cache and tokenizers: the course's tokenize_function with bert-base-cased, then uncased, gives each its own ids", { skip: noShared }, async () => {
  await withHfCache(async () => {
    const raw = (await loadDataset("glue", "mrpc", { split: "validation" })) as Dataset;
    const cased = await AutoTokenizer.fromPretrained(join(shared, "models", "bert-base-cased"));
    const uncased = await AutoTokenizer.fromPretrained(join(shared, "models", "bert-base-uncased"));
    // The course's function, made twice: the same source text, a different tokenizer inside.
    const tokenizeFunction = (tokenizer: typeof cased) => (example: Record<string, string[]>) =>
      tokenizer(example.sentence1, example.sentence2, { truncation: true });
    const warnings: string[] = [];
    const warn = console.warn;
    console.warn = (m: unknown) => void warnings.push(String(m));
    try {
      const a = await raw.map(tokenizeFunction(cased) as never, { batched: true });
      const b = await raw.map(tokenizeFunction(uncased) as never, { batched: true });
      const a2 = await raw.map(tokenizeFunction(cased) as never, { batched: true });
      const direct = (t: typeof cased) => t(raw.column("sentence1") as string[], raw.column("sentence2") as string[], { truncation: true }).input_ids;
      assert.deepEqual(b.column("input_ids"), direct(uncased), "uncased ids, not the cased cache");
      assert.deepEqual(a.column("input_ids"), direct(cased));
      assert.notDeepEqual(a.column("input_ids"), b.column("input_ids"));
      assert.notEqual(a.fingerprint, b.fingerprint, "the tokenizer's content hash is part of the fingerprint");
      assert.equal(a2.fingerprint, a.fingerprint, "the same tokenizer finds its cache again");
      // A setting changed after loading is part of the tokenizer's hash too.
      cased.truncationSide = "left";
      const left = await raw.map(tokenizeFunction(cased) as never, { batched: true });
      assert.notEqual(left.fingerprint, a.fingerprint);
      cased.truncationSide = "right";
    } finally {
      console.warn = warn;
    }
    assert.deepEqual(warnings, [], "told apart by the fingerprint, not by the first-batch check");
  });
});

test("saveToDisk/loadFromDisk, toJSON, toParquet round-trip with features; bad files fail clearly", async () => {
  const dir = mkdtempSync(join(tmpdir(), "ft-save-"));
  const ds = Dataset.fromDict(
    { text: ["x", "y"], label: [1, 0], ids: [[1, 2], [3]] },
    { features: { text: new Value("string"), label: new ClassLabel({ names: ["no", "yes"] }), ids: new Sequence(new Value("int32")) } },
  );
  const dd = new DatasetDict({ train: ds, test: ds.select([1]) });
  dd.saveToDisk(join(dir, "dd"));
  assert.deepEqual(JSON.parse(readFileSync(join(dir, "dd", "dataset_dict.json"), "utf8")), { splits: ["train", "test"] });
  assert.ok(existsSync(join(dir, "dd", "train", "data-00000-of-00001.arrow")));
  const info = JSON.parse(readFileSync(join(dir, "dd", "train", "dataset_info.json"), "utf8"));
  assert.deepEqual(info.features.label, { names: ["no", "yes"], _type: "ClassLabel" });
  const back = loadFromDisk(join(dir, "dd")) as DatasetDict;
  assert.deepEqual(back.train.toDict(), ds.toDict());
  assert.deepEqual(back.test.toList(), [{ text: "y", label: 0, ids: [3] }]);
  assert.ok(back.train.features.label instanceof ClassLabel);

  ds.toJSON(join(dir, "rows.jsonl"));
  assert.equal(readFileSync(join(dir, "rows.jsonl"), "utf8"), '{"text":"x","label":1,"ids":[1,2]}\n{"text":"y","label":0,"ids":[3]}\n');
  const fromJson = (await loadDataset("json", { dataFiles: join(dir, "rows.jsonl"), split: "train", cacheDir: dir })) as Dataset;
  assert.deepEqual(fromJson.toDict(), ds.toDict());
  const flat = ds.removeColumns("ids");
  await flat.toParquet(join(dir, "rows.parquet"));
  const fromParquet = (await loadDataset("parquet", { dataFiles: join(dir, "rows.parquet"), split: "train", cacheDir: dir })) as Dataset;
  assert.deepEqual(fromParquet.toDict(), flat.toDict());
  assert.ok(fromParquet.features.label instanceof ClassLabel, "features come back from the parquet 'huggingface' metadata");
  writeFileSync(join(dir, "text.txt"), "line one\nline two\n");
  assert.deepEqual(((await loadDataset("text", { dataFiles: join(dir, "text.txt"), split: "train", cacheDir: dir })) as Dataset).column("text"), [
    "line one",
    "line two",
  ]);
  const saved = join(dir, "single");
  ds.saveToDisk(saved);
  assert.deepEqual(
    ((await loadDataset("arrow", { dataFiles: join(saved, "data-00000-of-00001.arrow"), split: "train", cacheDir: dir })) as Dataset).toDict(),
    ds.toDict(),
  );

  writeFileSync(join(dir, "bad.parquet"), "PAR1 this is not parquet");
  await assert.rejects(loadDataset("parquet", { dataFiles: join(dir, "bad.parquet"), cacheDir: dir }), /bad\.parquet: not a readable parquet file/);
  writeFileSync(join(dir, "ragged.csv"), "a,b\n1,2\n3,4,5\n");
  await assert.rejects(loadDataset("csv", { dataFiles: join(dir, "ragged.csv"), cacheDir: dir }), /ragged\.csv: data row 2 has 3 fields but the header has 2/);
  writeFileSync(join(dir, "open-quote.csv"), 'a,b\n"1,2\n3,4\n');
  await assert.rejects(loadDataset("csv", { dataFiles: join(dir, "open-quote.csv"), cacheDir: dir }), /a quote opened on line 2 is never closed/);
  await assert.rejects(loadDataset("csv", { dataFiles: join(dir, "missing.csv"), cacheDir: dir }), /data file not found/);
  await assert.rejects(loadDataset("csv", { cacheDir: dir }), /needs dataFiles/);
  await assert.rejects(loadDataset("./no/such/place"), /neither a packaged builder \(csv, json, parquet, arrow, text\), a folder, nor a hub dataset name/);
  assert.throws(() => loadFromDisk(dir), /has neither dataset_dict\.json nor state\.json/);
});

test("csv/tsv read as pandas reads them: blank lines skipped, NA cells null, integer columns with gaps float64, short rows padded", async () => {
  const dir = mkdtempSync(join(tmpdir(), "ft-csv-"));
  writeFileSync(join(dir, "t.csv"), '\uFEFFid,score,flag,name,label\n1,0.5,True,a,0\n\n2,NA,False,,1\n   \n3,inf,true,"c, d",\n4,-1e3,FALSE,NaN,1\n5,2\n');
  const ds = (await loadDataset("csv", { dataFiles: join(dir, "t.csv"), split: "train", cacheDir: dir })) as Dataset;
  assert.deepEqual(ds.toDict(), {
    id: [1, 2, 3, 4, 5],
    score: [0.5, null, Infinity, -1000, 2],
    flag: [true, false, true, false, null],
    name: ["a", null, "c, d", null, null],
    label: [0, 1, null, 1, null],
  });
  assert.deepEqual(Object.fromEntries(Object.entries(ds.features).map(([k, f]) => [k, (f as { dtype: string }).dtype])), {
    id: "int64",
    score: "float64",
    flag: "bool",
    name: "string",
    label: "float64",
  });
  writeFileSync(join(dir, "t.tsv"), 'a\tb\n"x\ty\n\nz\t1\n');
  assert.deepEqual(((await loadDataset("csv", { dataFiles: join(dir, "t.tsv"), split: "train", quoting: false, cacheDir: dir })) as Dataset).toDict(), {
    a: ['"x', "z"],
    b: ["y", "1"],
  });
  writeFileSync(join(dir, "empty.csv"), "\n\n");
  await assert.rejects(loadDataset("csv", { dataFiles: join(dir, "empty.csv"), cacheDir: dir }), /empty\.csv is empty: no columns to parse/);
  writeFileSync(join(dir, "empty.jsonl"), "\n");
  await assert.rejects(loadDataset("json", { dataFiles: join(dir, "empty.jsonl"), cacheDir: dir }), /empty\.jsonl is empty: no JSON to read/);
  writeFileSync(join(dir, "empty.parquet"), "");
  await assert.rejects(loadDataset("parquet", { dataFiles: join(dir, "empty.parquet"), cacheDir: dir }), /empty\.parquet is empty \(0 bytes\)/);
});

test("a hub dataset is downloaded into the cache (README configs, and refs/convert/parquet), then loads offline", async () => {
  const { startHubServer } = await import("./hub_server.js");
  const work = mkdtempSync(join(tmpdir(), "ft-hub-ds-"));
  const make = async (rows: Record<string, unknown[]>, f?: Record<string, import("../src/datasets/index.js").Feature>) => {
    const p = join(work, `${Math.random()}.parquet`);
    await Dataset.fromDict(rows, { features: f }).toParquet(p);
    return new Uint8Array(readFileSync(p));
  };
  const features = { sentence: new Value("string"), label: new ClassLabel({ names: ["neg", "pos"] }) };
  const readme =
    "---\nconfigs:\n- config_name: tiny\n  data_files:\n  - split: train\n    path: tiny/train-*\n  - split: test\n    path: tiny/test-*\n- config_name: other\n  data_files: other/*.parquet\n---\n# A tiny dataset\n";
  const server = await startHubServer({
    "datasets/org/tiny": {
      main: {
        commit: "1".repeat(40),
        files: {
          "README.md": readme,
          "tiny/train-00000-of-00001.parquet": await make({ sentence: ["good", "bad", "fine"], label: [1, 0, 1] }, features),
          "tiny/test-00000-of-00001.parquet": await make({ sentence: ["meh"], label: [0] }, features),
          "other/data.parquet": await make({ x: [1, 2] }),
        },
      },
    },
    "datasets/org/emptyconv": {
      v2: { commit: "4".repeat(40), files: { "data.csv": "a\n1\n" } },
      "refs/convert/parquet": { commit: "5".repeat(40), files: { "README.md": "no parquet here" } },
    },
    "datasets/org/converted": {
      main: { commit: "2".repeat(40), files: { "data.csv": "a\n1\n" } },
      "refs/convert/parquet": { commit: "3".repeat(40), files: { "default/train/0000.parquet": await make({ a: [1, 2, 3] }) } },
    },
  });
  const saved = { ...process.env };
  Object.assign(process.env, { HF_ENDPOINT: server.url, HF_HUB_CACHE: join(work, "hub"), HF_DATASETS_CACHE: join(work, "datasets") });
  delete process.env.HF_HUB_OFFLINE;
  try {
    const dd = (await loadDataset("org/tiny", "tiny")) as DatasetDict;
    assert.deepEqual(dd.numRows, { train: 3, test: 1 });
    assert.deepEqual(dd.train.at(0), { sentence: "good", label: 1 });
    assert.ok(dd.train.features.label instanceof ClassLabel);
    await assert.rejects(loadDataset("org/tiny"), /Config name is missing\.\nPlease pick one among the available configs: \["tiny","other"\]/);
    assert.deepEqual(((await loadDataset("org/tiny", "other", { split: "train" })) as Dataset).column("x"), [1, 2]);
    assert.deepEqual(((await loadDataset("org/converted", { split: "train" })) as Dataset).column("a"), [1, 2, 3]);
    // A revision the hub does not have says so; a conversion branch without parquet files says that.
    await assert.rejects(loadDataset("org/converted", { revision: "v9" }), /revision not found/);
    await assert.rejects(
      loadDataset("org/emptyconv", { revision: "v2" }),
      /org\/emptyconv at revision 'v2': no 'configs' in its README\.md, and its refs\/convert\/parquet branch holds no parquet files/,
    );
    process.env.HF_HUB_OFFLINE = "1";
    const before = server.requests.length;
    assert.deepEqual(((await loadDataset("org/tiny", "tiny", { split: "test" })) as Dataset).column("sentence"), ["meh"]);
    assert.equal(server.requests.length, before, "offline: no request reaches the hub");
  } finally {
    for (const k of ["HF_ENDPOINT", "HF_HUB_CACHE", "HF_DATASETS_CACHE", "HF_HUB_OFFLINE"]) {
      if (saved[k] === undefined) delete process.env[k];
      else process.env[k] = saved[k];
    }
    server.close();
  }
});

test("number literals keep their type as pyarrow reads them (1.0 is a double), and a file that is not UTF-8 is an error naming the file, line and byte", async () => {
  const dir = mkdtempSync(join(tmpdir(), "ft-types-"));
  writeFileSync(join(dir, "s.jsonl"), '{"text": "a", "score": 1.0, "n": 3, "tags": [0.5, 2]}\n{"text": "b", "score": 5, "n": 4, "tags": [1]}\n');
  const jl = (await loadDataset("json", { dataFiles: join(dir, "s.jsonl"), split: "train", cacheDir: dir })) as Dataset;
  assert.deepEqual([(jl.features.score as Value).dtype, (jl.features.n as Value).dtype], ["float64", "int64"]);
  writeFileSync(join(dir, "s.json"), JSON.stringify([{ score: 2 }, { score: 3 }]).replace("2", "2e0"));
  assert.equal(
    ((await loadDataset("json", { dataFiles: join(dir, "s.json"), split: "train", cacheDir: dir })) as Dataset).features.score instanceof Value,
    true,
  );
  assert.equal(
    (((await loadDataset("json", { dataFiles: join(dir, "s.json"), split: "train", cacheDir: dir })) as Dataset).features.score as Value).dtype,
    "float64",
  );
  writeFileSync(join(dir, "s.csv"), "text,score\na,1.0\nb,5.0\n");
  assert.equal(
    (((await loadDataset("csv", { dataFiles: join(dir, "s.csv"), split: "train", cacheDir: dir })) as Dataset).features.score as Value).dtype,
    "float64",
  );

  // "café" in Latin-1: 0xE9 where UTF-8 needs a continuation byte.
  const latin1 = Buffer.concat([Buffer.from("a\tb\nline two\tok\ncaf"), Buffer.from([0xe9]), Buffer.from("\t1\n")]);
  for (const [name, builder] of [
    ["bad.tsv", "csv"],
    ["bad.txt", "text"],
    ["bad.jsonl", "json"],
  ] as const) {
    writeFileSync(join(dir, name), latin1);
    await assert.rejects(
      loadDataset(builder, { dataFiles: join(dir, name), split: "train", cacheDir: dir, delimiter: "\t" }),
      new RegExp(`${name} is not UTF-8: byte 0xe9 at position 19 \\(line 3\\) is not valid UTF-8`),
      `${builder} refuses a Latin-1 file`,
    );
  }
});

test("loadDataset(\"conll2003\", { dataDir }): HF's rows and features from the shared task's files, typed", { skip: noShared }, async () => {
  const dataDir = join(shared, "conll2003");
  const raw = await loadDataset("conll2003", { dataDir, cacheDir: mkdtempSync(join(tmpdir(), "ft-conll-")) });
  assert.deepEqual(raw.numRows, { train: 14041, validation: 3250, test: 3453 });
  const first = raw.train.at(0);
  // The course's first example and its labels.
  assert.deepEqual(first.tokens, ["EU", "rejects", "German", "call", "to", "boycott", "British", "lamb", "."]);
  assert.deepEqual(first.ner_tags, [3, 0, 7, 0, 0, 0, 7, 0, 0]);
  assert.equal(first.id, "0");
  const ner = raw.train.features.ner_tags as Sequence;
  assert.ok(ner.feature instanceof ClassLabel);
  assert.deepEqual((ner.feature as ClassLabel).names, ["O", "B-PER", "I-PER", "B-ORG", "I-ORG", "B-LOC", "I-LOC", "B-MISC", "I-MISC"]);
  assert.equal(((raw.train.features.pos_tags as Sequence).feature as ClassLabel).names.length, 47);
  assert.equal(((raw.train.features.chunk_tags as Sequence).feature as ClassLabel).names.length, 23);
  // Entities (B- tags) per type, as the files' description counts them.
  const count = (rows: number[][]) => [1, 3, 5, 7].map((b) => rows.flat().filter((t) => t === b).length);
  assert.deepEqual(count(raw.train.column("ner_tags")), [6600, 6321, 7140, 3438]);
  assert.deepEqual(count(raw.validation.column("ner_tags")), [1842, 1341, 1837, 922]);
  assert.equal(raw.test.column("tokens").flat().length, 46435);
  const tokens: string[][] = raw.validation.column("tokens");
  assert.equal(tokens.length, 3250);
  await assert.rejects(
    loadDataset("conll2003", { dataDir: tmpdir(), split: "train" }),
    /train\.txt is missing \(the folder needs train\.txt, valid\.txt, test\.txt\)/,
  );
});

test("nulls inside list columns stay null (word_ids' None for special tokens), through map and the cache", async () => {
  const ds = Dataset.fromDict({
    word_ids: [
      [null, 0, 1, 1, null],
      [null, 0, null],
    ],
    labels: [[-100, 3, null], [1]],
  });
  assert.deepEqual(ds.column("word_ids"), [
    [null, 0, 1, 1, null],
    [null, 0, null],
  ]);
  assert.deepEqual(ds.column("labels"), [[-100, 3, null], [1]]);
  const mapped = await ds.map((ex) => ({ shifted: (ex.word_ids as (number | null)[]).map((w) => (w === null ? null : w + 1)) }));
  assert.deepEqual(mapped.column("shifted"), [
    [null, 1, 2, 2, null],
    [null, 1, null],
  ]);
  assert.deepEqual(mapped.at(1).word_ids, [null, 0, null]);
});

test("the text builder cuts as HF's: lines as str.splitlines in text mode, paragraphs, whole documents, kept line breaks", async () => {
  const { mkdtempSync, writeFileSync } = await import("node:fs");
  const { tmpdir } = await import("node:os");
  const { join } = await import("node:path");
  const dir = mkdtempSync(join(tmpdir(), "ft-text-"));
  const file = join(dir, "a.txt");
  writeFileSync(file, "one\r\ntwo\rthree\fform\u2028sep\n\n\npara two\nline\n\n");
  const load = (o: object) => loadDataset("text", { dataFiles: file, split: "train", cacheDir: mkdtempSync(join(tmpdir(), "ft-text-cache-")), ...o });
  assert.deepEqual((await load({})).column("text"), ["one", "two", "three", "form", "sep", "", "", "para two", "line", ""]);
  assert.deepEqual((await load({ keepLinebreaks: true })).column("text").slice(0, 4), ["one\n", "two\n", "three\f", "form\u2028"]);
  assert.deepEqual((await load({ sampleBy: "paragraph" })).column("text"), ["one\ntwo\nthree\fform\u2028sep", "\npara two\nline"]);
  assert.deepEqual((await load({ sampleBy: "document" })).column("text"), ["one\ntwo\nthree\fform\u2028sep\n\n\npara two\nline\n\n"]);
});
