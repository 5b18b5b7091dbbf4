// Dataset: an Arrow table (columnar) with HF's features, an optional indices mapping (what select,
// shuffle and filter produce without copying), a fingerprint, and a format. Its operations follow
// HF datasets' names and semantics, in camelCase.
import { existsSync, mkdirSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { inspect } from "node:util";
import * as arrow from "apache-arrow";
import {
  ClassLabel,
  Sequence,
  Struct,
  Value,
  arrowType,
  featureEquals,
  featureToJson,
  featuresToJson,
  inferFeature,
  type Feature,
  type Features,
} from "./features.js";
import { fromVector, plain, toVector } from "./columns.js";
import { readArrowFile, writeArrowFile } from "./arrow_io.js";
import { hashOf, permutation } from "./fingerprint.js";
import { recordDependencies } from "../util/dependencies.js";
import { progressBar } from "../util/progress.js";
import { writeFileAtomic } from "../util/files.js";

export type Row = Record<string, unknown>;
export type Batch = Record<string, unknown[]>;
/**
 * What map/filter functions receive from a dataset whose columns are not known to the type checker:
 * a row, or a batch of columns, loosely typed as in Python. Datasets whose features are known
 * (loadDataset("glue", …)) carry their row type instead.
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type Example = Record<string, any>;
/** A row type's columns: each field as an array (a batched map's input, ds.slice's result). */
export type Columns<T> = { [K in keyof T]: T[K][] };
/** The named fields of T, without its index signature. */
type Known<T> = { [K in keyof T as string extends K ? never : number extends K ? never : K]: T[K] };
/** A batched map's output (columns) as the fields it adds to each row. */
export type RowOf<C> = { [K in keyof Known<C>]: Known<C>[K] extends readonly (infer E)[] | undefined ? E : never };
/** T with R's fields added (or replaced). */
export type Merge<T, R> = Omit<T, keyof Known<R>> & Known<R>;
export type FormatType = "torch" | null;

export interface MapOptions {
  batched?: boolean;
  batchSize?: number;
  withIndices?: boolean;
  inputColumns?: string[];
  removeColumns?: string | string[];
  /** Types for the output columns (inferred from the first batch otherwise). */
  features?: Features;
  desc?: string;
  loadFromCacheFile?: boolean;
  cacheFileName?: string;
  /** Overrides the computed fingerprint (use it when fn depends on state its source does not show). */
  newFingerprint?: string;
  disableProgressBar?: boolean;
  /**
   * Values fn reads besides its input (HF's fn_kwargs): hashed into the fingerprint, so that a cached
   * result made with other values is not reused, and passed to fn as its third argument.
   */
  fnKwargs?: Record<string, unknown>;
}

let torchModule: typeof import("../torch/index.js") | null = null;
async function loadTorch(): Promise<typeof import("../torch/index.js")> {
  if (!torchModule) {
    try {
      torchModule = await import("../torch/index.js");
    } catch (e) {
      throw new Error(`format "torch" needs the libtorch addon, which did not load: ${(e as Error).message}`);
    }
  }
  return torchModule;
}

function emptyTable(): arrow.Table {
  return new arrow.Table();
}

export class Dataset<T extends object = Example> {
  readonly #table: arrow.Table;
  readonly #indices: Int32Array | null;
  readonly features: Features;
  readonly fingerprint: string;
  /** Where map() keeps cache files for this dataset (null: in memory, no cache). */
  readonly cacheDir: string | null;
  readonly split: string | null;
  #format: { type: FormatType; columns: string[] | null } = { type: null, columns: null };

  constructor(
    table: arrow.Table,
    features: Features,
    o: { indices?: Int32Array | null; fingerprint: string; cacheDir?: string | null; split?: string | null },
  ) {
    const names = table.schema.fields.map((f) => f.name);
    for (const n of Object.keys(features)) if (!names.includes(n)) throw new Error(`features name column '${n}', which the table does not have`);
    this.#table = table;
    this.features = features;
    this.#indices = o.indices ?? null;
    this.fingerprint = o.fingerprint;
    this.cacheDir = o.cacheDir ?? null;
    this.split = o.split ?? null;
  }

  // ---- constructors ----
  /** Dataset.from_dict: columns of values, types inferred unless features are given. */
  static fromDict(columns: Record<string, unknown[]>, o: { features?: Features; split?: string } = {}): Dataset {
    if (!columns || typeof columns !== "object") throw new TypeError("fromDict(): expected an object of columns");
    const lengths = new Set(
      Object.values(columns).map((c) => {
        if (!Array.isArray(c)) throw new TypeError("fromDict(): every column must be an array");
        return c.length;
      }),
    );
    if (lengths.size > 1) throw new RangeError(`fromDict(): columns have different lengths (${[...lengths].join(", ")})`);
    const features: Features = {};
    const vectors: Record<string, arrow.Vector> = {};
    for (const [k, values] of Object.entries(columns)) {
      features[k] = o.features?.[k] ?? inferFeature(values, k);
      vectors[k] = toVector(values, features[k], k);
    }
    const table = Object.keys(vectors).length ? new arrow.Table(vectors) : emptyTable();
    return new Dataset(table, features, { fingerprint: hashOf("fromDict", featuresToJson(features), table.numRows, Math.random()), split: o.split ?? null });
  }

  /** Dataset.from_list: rows as objects (columns are the union of their keys, missing values null). */
  static fromList(rows: Row[], o: { features?: Features } = {}): Dataset {
    if (!Array.isArray(rows)) throw new TypeError("fromList(): expected an array of row objects");
    const keys = [...new Set(rows.flatMap((r) => Object.keys(r)))];
    return Dataset.fromDict(Object.fromEntries(keys.map((k) => [k, rows.map((r) => r[k] ?? null)])), o);
  }

  /** Dataset.from_generator: rows from a (sync or async) generator function. */
  static async fromGenerator(gen: () => Iterable<Row> | AsyncIterable<Row>, o: { features?: Features } = {}): Promise<Dataset> {
    const rows: Row[] = [];
    for await (const r of gen()) rows.push(r);
    return Dataset.fromList(rows, o);
  }

  static fromArrow(table: arrow.Table, features: Features, o: { fingerprint: string; cacheDir?: string | null; split?: string | null }): Dataset {
    return new Dataset(table, features, o);
  }

  // ---- shape ----
  get numRows(): number {
    return this.#indices ? this.#indices.length : this.#table.numRows;
  }
  get length(): number {
    return this.numRows;
  }
  get columnNames(): string[] {
    return Object.keys(this.features);
  }
  get numColumns(): number {
    return this.columnNames.length;
  }
  get shape(): [number, number] {
    return [this.numRows, this.numColumns];
  }
  get format(): { type: FormatType; columns: string[] | null } {
    return { ...this.#format };
  }

  #column(name: string): arrow.Vector {
    if (!(name in this.features)) {
      throw new Error(`Column '${name}' not in the dataset. Current columns in the dataset: ${JSON.stringify(this.columnNames)}`);
    }
    return this.#table.getChild(name)!;
  }

  #rowIndex(i: number): number {
    if (!Number.isInteger(i)) throw new TypeError(`row index must be an integer, got ${i}`);
    const n = this.numRows;
    const k = i < 0 ? i + n : i;
    if (k < 0 || k >= n) throw new RangeError(`Index ${i} out of range for dataset of size ${n}.`);
    return this.#indices ? this.#indices[k] : k;
  }

  #rows(start: number, end: number): { start: number; end: number } | Int32Array {
    return this.#indices ? this.#indices.subarray(start, end) : { start, end };
  }

  /** The Arrow vector behind a column (for readers that copy values straight out of Arrow's buffers). */
  arrowColumn(name: string): arrow.Vector {
    return this.#column(name);
  }

  /** The rows of the underlying Arrow table that rows of this dataset are (through its indices mapping). */
  tableRows(rows: ArrayLike<number>): Int32Array {
    const out = new Int32Array(rows.length);
    for (let k = 0; k < rows.length; k++) out[k] = this.#rowIndex(rows[k]);
    return out;
  }

  /** Columns of rows [start, end) as JS arrays (the raw values, whatever the format). */
  batch(start: number, end: number, columns = this.columnNames): Batch {
    const rows = this.#rows(Math.max(0, start), Math.min(end, this.numRows));
    return Object.fromEntries(columns.map((c) => [c, fromVector(this.#column(c), rows)]));
  }

  /**
   * Python's `ds[start:end]`: the rows' columns as JS arrays (a dict of lists), with Python's slice
   * rules (negative indices count from the end, out-of-range ends are clipped, omitted: the whole).
   * What the course hands to the data collator (`samples = tokenized["train"][:8]`).
   */
  slice(start?: number | null, end?: number | null): Columns<T> {
    const n = this.numRows;
    const at = (i: number | null | undefined, dflt: number) => {
      if (i === undefined || i === null) return dflt;
      if (!Number.isInteger(i)) throw new TypeError(`slice(): indices must be integers, got ${i}`);
      return i < 0 ? Math.max(0, n + i) : Math.min(i, n);
    };
    const [a, b] = [at(start, 0), at(end, n)];
    return this.batch(a, Math.max(a, b)) as Columns<T>;
  }

  /** Columns of the given rows (row numbers of this dataset) as JS arrays. */
  batchAt(rows: ArrayLike<number>, columns = this.columnNames): Batch {
    const table = this.tableRows(rows);
    return Object.fromEntries(columns.map((c) => [c, fromVector(this.#column(c), table)]));
  }

  /** Row i (negative counts from the end), as ds[i] in Python. */
  at(i: number): Row {
    const r = this.#rowIndex(i);
    const row = Object.fromEntries(this.columnNames.map((c) => [c, fromVector(this.#column(c), [r])[0]]));
    return this.#format.type === "torch" ? this.#formatRows(row) : row;
  }

  /** A whole column, as ds["label"] in Python; typed from the features when they are known. */
  column<K extends keyof T & string>(name: K): T[K][] {
    return this.#values(name) as T[K][];
  }
  #values(name: string): unknown[] {
    return fromVector(this.#column(name), this.#rows(0, this.numRows));
  }

  *[Symbol.iterator](): Iterator<Row> {
    const step = 1000;
    for (let s = 0; s < this.numRows; s += step) {
      const b = this.batch(s, s + step);
      const n = Math.min(step, this.numRows - s);
      for (let k = 0; k < n; k++) {
        const row = Object.fromEntries(this.columnNames.map((c) => [c, b[c][k]]));
        yield this.#format.type === "torch" ? this.#formatRows(row) : row;
      }
    }
  }

  /** Batches of rows (as dicts of columns), as Dataset.iter(batch_size). */
  *iter(o: { batchSize: number; dropLastBatch?: boolean }): Generator<Batch> {
    for (let s = 0; s < this.numRows; s += o.batchSize) {
      if (o.dropLastBatch && s + o.batchSize > this.numRows) return;
      const b = this.batch(s, s + o.batchSize);
      yield this.#format.type === "torch" ? (this.#formatRows(b) as Batch) : b;
    }
  }

  toList(): Row[] {
    return [...this].map((r) => r);
  }
  toDict(): Batch {
    return this.batch(0, this.numRows);
  }

  // ---- formats ----
  /** A row, or a batch of columns, with numeric columns as tensors (format "torch"). */
  #formatRows(row: Row): Row {
    const t = torchModule;
    if (!t) throw new Error('format "torch" needs the libtorch addon: call setFormat("torch") (which loads it) first');
    const cols = this.#format.columns;
    const out: Row = {};
    for (const [k, v] of Object.entries(row)) {
      if (cols && !cols.includes(k)) continue;
      const f = this.features[k];
      const numeric =
        f instanceof ClassLabel ||
        (f instanceof Value && f.dtype !== "string" && f.dtype !== "large_string") ||
        (f instanceof Sequence && !(f.feature instanceof Value && f.feature.dtype === "string"));
      if (!numeric) {
        out[k] = v;
        continue;
      }
      const base = f instanceof Sequence ? f.feature : f;
      const isFloat = base instanceof Value && base.dtype.startsWith("float");
      try {
        out[k] = t.tensor(v as never, { dtype: isFloat ? "float32" : base instanceof Value && base.dtype === "bool" ? "bool" : "int64" });
      } catch {
        out[k] = v; // ragged lists stay lists, as HF returns them
      }
    }
    return out;
  }

  /** Sets how rows come out: "torch" gives int64/float32 Tensors for numeric columns (in place, as HF's set_format). */
  async setFormat(type: FormatType | "pt", columns: string[] | null = null): Promise<void> {
    const t = type === "pt" ? "torch" : type;
    if (t !== null && t !== "torch") throw new TypeError(`setFormat(): type must be "torch" or null, got ${JSON.stringify(type)}`);
    for (const c of columns ?? []) this.#column(c);
    if (t === "torch") await loadTorch();
    this.#format = { type: t, columns };
  }
  async withFormat(type: FormatType | "pt", columns: string[] | null = null): Promise<Dataset> {
    const d = this.#derive(this.#table, this.features, this.#indices, this.fingerprint);
    await d.setFormat(type, columns);
    return d;
  }
  resetFormat(): void {
    this.#format = { type: null, columns: null };
  }

  /** A dataset of the same rows' type (select, shuffle, sort, …), or another where the caller says so. */
  #derive<U extends object = T>(table: arrow.Table, features: Features, indices: Int32Array | null, fingerprint: string): Dataset<U> {
    return new Dataset<U>(table, features, { indices, fingerprint, cacheDir: this.cacheDir, split: this.split });
  }

  // ---- map ----
  /**
   * Applies fn to every row (or to batches of columns with batched: true) and adds or replaces the
   * columns it returns. With a cache directory (datasets loaded from files or the hub), the result
   * is written to cache-{fingerprint}.arrow, and a later map loads it instead of running only when it
   * is the same computation: the same input (fingerprint), fn source and options, the same
   * tokenizers called (their content hashes, recorded while fn runs on the first batch), and the
   * same first batch of output (fn recomputed there; a difference means fn depends on something
   * else, such as a captured variable, and the whole map runs again).
   */
  map<R extends object>(
    fn: (batch: Columns<T>, indices?: number[]) => R | void | Promise<R | void>,
    o: MapOptions & { batched: true },
  ): Promise<Dataset<Merge<T, RowOf<R>>>>;
  map<R extends object>(fn: (row: T, index?: number) => R | void | Promise<R | void>, o?: MapOptions & { batched?: false }): Promise<Dataset<Merge<T, R>>>;
  map(fn: (input: Example, indices?: number | number[]) => object | void | Promise<object | void>, o?: MapOptions): Promise<Dataset>;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  async map(fn: (input: any, indices?: any, kwargs?: any) => object | void | Promise<object | void>, o: MapOptions = {}): Promise<Dataset> {
    if (typeof fn !== "function") throw new TypeError("map(): fn must be a function");
    const batched = o.batched ?? false;
    const batchSize = o.batchSize ?? 1000;
    if (!Number.isInteger(batchSize) || batchSize <= 0) throw new RangeError(`map(): batchSize must be a positive integer, got ${batchSize}`);
    const remove = o.removeColumns === undefined ? [] : Array.isArray(o.removeColumns) ? o.removeColumns : [o.removeColumns];
    for (const c of [...remove, ...(o.inputColumns ?? [])]) this.#column(c);
    const base = hashOf(this.fingerprint, "map", fn.toString(), {
      batched,
      batchSize,
      remove,
      withIndices: o.withIndices ?? false,
      inputColumns: o.inputColumns ?? null,
      features: o.features ? featuresToJson(o.features) : null,
      fnKwargs: o.fnKwargs ?? null,
    });
    const inputs = o.inputColumns ?? this.columnNames;
    const kept = this.columnNames.filter((c) => !remove.includes(c));
    const n = this.numRows;
    const deps = new Set<string>();
    let outFeatures: Features | null = null;

    /** fn over rows [s, e): the output columns (kept input columns with the produced ones). */
    const compute = (s: number, e: number): Promise<{ columns: Batch; produced: Set<string> }> =>
      recordDependencies(deps, async () => {
        const inBatch = this.batch(s, e);
        const fnInput = Object.fromEntries(inputs.map((c) => [c, inBatch[c]]));
        let produced: Batch;
        if (batched) {
          const r = await fn(fnInput, o.withIndices ? Array.from({ length: e - s }, (_, k) => s + k) : undefined, o.fnKwargs);
          produced = normalizeBatch(r ?? {}, e - s, kept.length > 0);
        } else {
          produced = {};
          const cols: string[] = [];
          for (let k = 0; k < e - s; k++) {
            const row = Object.fromEntries(inputs.map((c) => [c, fnInput[c][k]]));
            const r = ((await fn(row, o.withIndices ? s + k : undefined, o.fnKwargs)) ?? {}) as Row;
            if (r === null || typeof r !== "object" || Array.isArray(r))
              throw new TypeError(`map(): fn must return an object of column values (or nothing), got ${JSON.stringify(r)}`);
            if (k === 0) cols.push(...Object.keys(r));
            for (const c of Object.keys(r)) {
              if (!cols.includes(c)) throw new Error(`map(): row ${s + k} returned column '${c}' that row ${s} did not`);
              (produced[c] ??= []).push(r[c]);
            }
          }
        }
        const rowsOut = Object.values(produced)[0]?.length ?? e - s;
        const columns: Batch = {};
        if (rowsOut === e - s) for (const c of kept) if (!(c in produced)) columns[c] = inBatch[c];
        return { columns: Object.assign(columns, produced), produced: new Set(Object.keys(produced)) };
      });

    /** The output columns as Arrow; the first call fixes the output features. */
    const toTable = ({ columns, produced }: { columns: Batch; produced: Set<string> }, s: number): arrow.Table => {
      if (!outFeatures) {
        outFeatures = {};
        for (const c of Object.keys(columns)) outFeatures[c] = o.features?.[c] ?? (produced.has(c) ? inferFeature(columns[c], c) : this.features[c]);
      }
      const vectors: Record<string, arrow.Vector> = {};
      for (const [c, f] of Object.entries(outFeatures)) {
        if (!(c in columns)) throw new Error(`map(): the batch at row ${s} lacks column '${c}' that the first batch returned`);
        vectors[c] = toVector(columns[c], f, c);
      }
      return new arrow.Table(vectors);
    };

    let first: arrow.Table | null = null;
    let fingerprint = o.newFingerprint ?? null;
    if (fingerprint === null) {
      if (n > 0) first = toTable(await compute(0, Math.min(n, batchSize)), 0);
      fingerprint = hashOf(base, [...deps].sort());
    }
    const cacheFile = o.cacheFileName ?? (this.cacheDir ? join(this.cacheDir, `cache-${fingerprint}.arrow`) : null);
    if (cacheFile && (o.loadFromCacheFile ?? true) && existsSync(cacheFile)) {
      const { table, features } = readArrowFile(cacheFile);
      if (!first || sameLeadingRows(first, table)) {
        if (process.env.FINETUNE_VERBOSE) console.error(`Loading cached processed dataset at ${cacheFile}`);
        return new Dataset(table, features, { fingerprint, cacheDir: this.cacheDir, split: this.split });
      }
      console.warn(
        `map(): the cached result ${cacheFile} differs from what fn computes now for the first rows: fn depends on something its source and the tokenizers it calls do not show (a captured variable?). Recomputing; pass newFingerprint to name such a dependency.`,
      );
    }

    const bar = progressBar(o.desc ?? "Map", n, "examples", o.disableProgressBar);
    const batches: arrow.RecordBatch[] = [];
    try {
      if (first) {
        batches.push(...first.batches);
        bar.update(Math.min(n, batchSize));
      }
      for (let s = first ? batchSize : 0; s < n; s += batchSize) {
        const e = Math.min(n, s + batchSize);
        batches.push(...toTable(await compute(s, e), s).batches);
        bar.update(e);
      }
    } finally {
      bar.stop();
    }
    const features: Features = outFeatures ?? Object.fromEntries(kept.map((c) => [c, this.features[c]]));
    const schema = new arrow.Schema(Object.entries(features).map(([c, f]) => new arrow.Field(c, arrowType(f), true)));
    const table = batches.length
      ? new arrow.Table(
          schema,
          batches.map((b) => new arrow.RecordBatch(schema, b.data)),
        )
      : new arrow.Table(schema);
    if (cacheFile) {
      try {
        mkdirSync(dirname(cacheFile), { recursive: true });
        writeArrowFile(table, features, cacheFile);
      } catch (e) {
        console.warn(`map(): could not write the cache file ${cacheFile} (${(e as Error).message}); continuing without it`);
      }
    }
    return new Dataset(table, features, { fingerprint, cacheDir: this.cacheDir, split: this.split });
  }

  /** Keeps the rows for which fn returns true (a new indices mapping; no copy). */
  async filter(
    fn: (input: Example, index?: number | number[]) => boolean | boolean[] | Promise<boolean | boolean[]>,
    o: { batched?: boolean; batchSize?: number; withIndices?: boolean; desc?: string; disableProgressBar?: boolean } = {},
  ): Promise<Dataset<T>> {
    if (typeof fn !== "function") throw new TypeError("filter(): fn must be a function");
    const keep: number[] = [];
    const batchSize = o.batchSize ?? 1000;
    const bar = progressBar(o.desc ?? "Filter", this.numRows, "examples", o.disableProgressBar);
    try {
      for (let s = 0; s < this.numRows; s += batchSize) {
        const e = Math.min(this.numRows, s + batchSize);
        const b = this.batch(s, e);
        if (o.batched) {
          const r = await fn(b, o.withIndices ? Array.from({ length: e - s }, (_, k) => s + k) : undefined);
          if (!Array.isArray(r) || r.length !== e - s) throw new TypeError(`filter(): a batched fn must return ${e - s} booleans`);
          r.forEach((v, k) => v && keep.push(s + k));
        } else {
          for (let k = 0; k < e - s; k++) {
            const row = Object.fromEntries(this.columnNames.map((c) => [c, b[c][k]]));
            if (await fn(row, o.withIndices ? s + k : undefined)) keep.push(s + k);
          }
        }
        bar.update(e);
      }
    } finally {
      bar.stop();
    }
    return this.select(keep, hashOf(this.fingerprint, "filter", fn.toString(), o.batched ?? false));
  }

  /** The rows at the given positions, in that order (HF's select). */
  select(indices: Iterable<number>, fingerprint?: string): Dataset<T> {
    const list = Int32Array.from(indices, (i) => this.#rowIndex(i));
    return this.#derive(this.#table, this.features, list, fingerprint ?? hashOf(this.fingerprint, "select", Array.from(list.subarray(0, 1000)), list.length));
  }

  /** A seeded shuffle, as an indices mapping (call flattenIndices() to make it contiguous). */
  shuffle(o: { seed?: number } = {}): Dataset<T> {
    const seed = o.seed ?? Math.floor(Math.random() * 2 ** 32);
    const p = permutation(this.numRows, seed);
    return this.select(p, hashOf(this.fingerprint, "shuffle", seed));
  }

  /** Materialises the indices mapping into a new table. */
  flattenIndices(): Dataset<T> {
    if (!this.#indices) return this;
    const vectors: Record<string, arrow.Vector> = {};
    for (const c of this.columnNames) vectors[c] = toVector(this.#values(c), this.features[c], c);
    const table = this.columnNames.length ? new arrow.Table(vectors) : emptyTable();
    return this.#derive(table, this.features, null, hashOf(this.fingerprint, "flatten_indices"));
  }

  /** HF's train_test_split: test first from a seeded permutation, then train. */
  trainTestSplit(
    o: { testSize?: number; trainSize?: number; seed?: number; shuffle?: boolean } = {},
  ): import("./dataset_dict.js").DatasetDict<T, "train" | "test"> {
    const n = this.numRows;
    const size = (v: number | undefined, what: string) => {
      if (v === undefined) return undefined;
      if (v > 0 && v < 1) return v;
      if (Number.isInteger(v) && v > 0 && v < n) return v;
      throw new RangeError(`${what}=${v} should be either positive and smaller than the number of samples ${n} or a float in the (0, 1) range`);
    };
    const ts = size(o.testSize, "test_size");
    const tr = size(o.trainSize, "train_size");
    let nTest = ts === undefined ? undefined : ts < 1 ? Math.ceil(ts * n) : ts;
    let nTrain = tr === undefined ? undefined : tr < 1 ? Math.floor(tr * n) : tr;
    if (nTest === undefined && nTrain === undefined) nTest = Math.ceil(0.25 * n);
    if (nTest === undefined) nTest = n - nTrain!;
    if (nTrain === undefined) nTrain = n - nTest;
    if (nTrain + nTest > n) throw new RangeError(`The sum of train_size and test_size = ${nTrain + nTest}, should be smaller than the number of samples ${n}`);
    if (nTrain === 0) throw new RangeError("With n_samples, test_size and train_size, the resulting train set will be empty.");
    const order = o.shuffle === false ? Int32Array.from({ length: n }, (_, i) => i) : permutation(n, o.seed ?? Math.floor(Math.random() * 2 ** 32));
    const test = this.select(order.subarray(0, nTest));
    const train = this.select(order.subarray(nTest, nTest + nTrain));
    return new DatasetDictCtor!({ train, test }) as unknown as import("./dataset_dict.js").DatasetDict<T, "train" | "test">;
  }

  // ---- columns ----
  renameColumn(from: string, to: string): Dataset {
    return this.renameColumns({ [from]: to });
  }
  renameColumns(mapping: Record<string, string>): Dataset {
    for (const [from, to] of Object.entries(mapping)) {
      this.#column(from);
      if (to in this.features && !(to in mapping)) throw new Error(`renameColumns(): column '${to}' already exists`);
      if (!to) throw new TypeError("renameColumns(): the new name is empty");
    }
    const features: Features = {};
    const vectors: Record<string, arrow.Vector> = {};
    for (const c of this.columnNames) {
      const name = mapping[c] ?? c;
      features[name] = this.features[c];
      vectors[name] = this.#column(c);
    }
    const table = this.columnNames.length ? new arrow.Table(vectors) : emptyTable();
    return this.#derive(table, features, this.#indices, hashOf(this.fingerprint, "rename", mapping));
  }
  removeColumns<K extends keyof T & string>(columns: K | K[]): Dataset<Omit<T, K>> {
    const list: string[] = Array.isArray(columns) ? columns : [columns];
    for (const c of list) this.#column(c);
    // The same columns selectColumns keeps, typed as what is left.
    return this.selectColumns(this.columnNames.filter((c) => !list.includes(c))) as unknown as Dataset<Omit<T, K>>;
  }
  selectColumns(columns: string | string[]): Dataset {
    const list = Array.isArray(columns) ? columns : [columns];
    for (const c of list) this.#column(c);
    const features = Object.fromEntries(list.map((c) => [c, this.features[c]]));
    const table = list.length ? new arrow.Table(Object.fromEntries(list.map((c) => [c, this.#column(c)]))) : emptyTable();
    return this.#derive(table, features, this.#indices, hashOf(this.fingerprint, "select_columns", list));
  }
  /** Changes a column's type (e.g. Value("float32"), a ClassLabel for strings or ints). */
  castColumn(column: string, feature: Feature): Dataset {
    const values = fromVector(this.#column(column), { start: 0, end: this.#table.numRows });
    const converted = values.map((v) => castValue(v, this.features[column], feature, column));
    const vectors: Record<string, arrow.Vector> = {};
    for (const c of this.columnNames) vectors[c] = c === column ? toVector(converted, feature, c) : this.#column(c);
    return this.#derive(
      new arrow.Table(vectors),
      { ...this.features, [column]: feature },
      this.#indices,
      hashOf(this.fingerprint, "cast", column, featureToJson(feature)),
    );
  }
  /** Rows ordered by a column (stable), as an indices mapping. */
  sort(column: string, o: { reverse?: boolean } = {}): Dataset<T> {
    const values = this.#values(column);
    const order = Array.from({ length: values.length }, (_, i) => i);
    const cmp = (a: unknown, b: unknown) =>
      a === b ? 0 : a === null || a === undefined ? 1 : b === null || b === undefined ? -1 : (a as number) < (b as number) ? -1 : 1;
    order.sort((i, j) => (o.reverse ? -cmp(values[i], values[j]) : cmp(values[i], values[j])) || i - j);
    return this.select(order, hashOf(this.fingerprint, "sort", column, o.reverse ?? false));
  }
  /** A new column from values (HF's add_column). */
  addColumn(name: string, values: unknown[], feature?: Feature): Dataset {
    if (name in this.features) throw new Error(`addColumn(): column '${name}' already exists`);
    if (values.length !== this.numRows) throw new RangeError(`addColumn(): ${values.length} values for ${this.numRows} rows`);
    const flat = this.flattenIndices();
    const f = feature ?? inferFeature(values, name);
    const vectors: Record<string, arrow.Vector> = Object.fromEntries(flat.columnNames.map((c) => [c, flat.#column(c)]));
    vectors[name] = toVector(values, f, name);
    return flat.#derive(new arrow.Table(vectors), { ...flat.features, [name]: f }, null, hashOf(this.fingerprint, "add_column", name));
  }

  // ---- export ----
  /** JSON Lines, one row per line (HF's to_json default). */
  toJSON(path: string): void {
    const lines: string[] = [];
    for (let s = 0; s < this.numRows; s += 1000) {
      const b = this.batch(s, s + 1000);
      const n = Math.min(1000, this.numRows - s);
      for (let k = 0; k < n; k++) lines.push(JSON.stringify(Object.fromEntries(this.columnNames.map((c) => [c, b[c][k]]))));
    }
    writeFileAtomic(path, lines.join("\n") + (lines.length ? "\n" : ""));
  }

  /** A parquet file with the features in its "huggingface" metadata, as HF writes it. */
  async toParquet(path: string): Promise<void> {
    const { parquetWriteBuffer } = await import("hyparquet-writer");
    const columnData = this.columnNames.map((c) => {
      const f = this.features[c];
      const values = this.#values(c);
      const basic = parquetType(f);
      return basic
        ? {
            name: c,
            data:
              f instanceof ClassLabel || (f instanceof Value && f.dtype === "int64") ? values.map((v) => (v === null ? null : BigInt(v as number))) : values,
            type: basic,
          }
        : { name: c, data: values };
    });
    const buf = parquetWriteBuffer({
      columnData: columnData as never,
      kvMetadata: [{ key: "huggingface", value: JSON.stringify({ info: { features: featuresToJson(this.features) } }) }],
    } as never);
    writeFileAtomic(path, new Uint8Array(buf));
  }

  /** save_to_disk: Arrow stream file(s), dataset_info.json and state.json; loadFromDisk reads them. */
  saveToDisk(dir: string): void {
    const flat = this.flattenIndices();
    const tmp = `${dir}.tmp-${process.pid}-${Date.now()}`;
    mkdirSync(tmp, { recursive: true });
    try {
      const file = "data-00000-of-00001.arrow";
      writeArrowFile(flat.#table, flat.features, join(tmp, file));
      writeFileSync(
        join(tmp, "dataset_info.json"),
        JSON.stringify({ citation: "", description: "", features: featuresToJson(flat.features), homepage: "", license: "" }, null, 2) + "\n",
      );
      writeFileSync(
        join(tmp, "state.json"),
        JSON.stringify(
          {
            _data_files: [{ filename: file }],
            _fingerprint: this.fingerprint,
            _format_columns: this.#format.columns,
            _format_kwargs: {},
            _format_type: this.#format.type,
            _output_all_columns: false,
            _split: this.split,
          },
          null,
          2,
        ) + "\n",
      );
      rmSync(dir, { recursive: true, force: true });
      renameSync(tmp, dir);
    } catch (e) {
      rmSync(tmp, { recursive: true, force: true });
      throw e;
    }
  }

  get arrowTable(): arrow.Table {
    return this.flattenIndices().#table;
  }

  toString(): string {
    return `Dataset({\n    features: [${this.columnNames.map((c) => `'${c}'`).join(", ")}],\n    num_rows: ${this.numRows}\n})`;
  }
  [inspect.custom](): string {
    return this.toString();
  }
}

function normalizeBatch(r: unknown, rowsIn: number, hasKept: boolean): Batch {
  if (r === null || typeof r !== "object" || Array.isArray(r))
    throw new TypeError(`map(): a batched fn must return an object of columns, got ${JSON.stringify(r)?.slice(0, 100)}`);
  const out: Batch = {};
  let len: number | null = null;
  for (const [k, v] of Object.entries(r as Record<string, unknown>)) {
    if (!Array.isArray(v)) throw new TypeError(`map(): a batched fn must return arrays; column '${k}' is ${typeof v}`);
    if (len !== null && v.length !== len) throw new RangeError(`map(): column lengths mismatch: '${k}' has ${v.length} values, the others ${len}`);
    len = v.length;
    out[k] = v;
  }
  if (len !== null && len !== rowsIn && hasKept) {
    throw new RangeError(`map(): the batch of ${rowsIn} rows returned ${len} rows; to change the number of rows, remove the input columns with removeColumns`);
  }
  return out;
}

function castValue(v: unknown, from: Feature, to: Feature, column: string): unknown {
  if (v === null || v === undefined) return null;
  if (to instanceof ClassLabel) {
    if (typeof v === "string") return to.str2int(v);
    return v;
  }
  if (from instanceof ClassLabel && to instanceof Value && to.dtype === "string") return from.int2str(v as number);
  if (to instanceof Value) {
    if (to.dtype === "string" || to.dtype === "large_string") return String(v);
    if (to.dtype === "bool") return Boolean(v);
    const n = typeof v === "string" ? Number(v) : Number(v);
    if (Number.isNaN(n)) throw new TypeError(`castColumn(): cannot cast ${JSON.stringify(v)} in column '${column}' to ${to.dtype}`);
    return to.dtype.startsWith("int") || to.dtype.startsWith("uint") ? Math.trunc(n) : n;
  }
  if (to instanceof Sequence && Array.isArray(v)) return v.map((x) => castValue(x, from instanceof Sequence ? from.feature : from, to.feature, column));
  if (to instanceof Struct && from instanceof Struct && typeof v === "object") {
    const row = v as Record<string, unknown>;
    return Object.fromEntries(Object.entries(to.fields).map(([k, f]) => [k, castValue(row[k], from.fields[k] ?? f, f, `${column}.${k}`)]));
  }
  throw new TypeError(`castColumn(): cannot cast column '${column}' from ${from} to ${to}`);
}

function parquetType(f: Feature): string | null {
  if (f instanceof ClassLabel) return "INT64";
  if (f instanceof Sequence || f instanceof Struct) return null;
  switch (f.dtype) {
    case "string":
    case "large_string":
      return "STRING";
    case "bool":
      return "BOOLEAN";
    case "int8":
    case "int16":
    case "int32":
    case "uint8":
    case "uint16":
      return "INT32";
    case "int64":
    case "uint32":
    case "uint64":
      return "INT64";
    case "float32":
    case "float16":
      return "FLOAT";
    case "float64":
      return "DOUBLE";
  }
}

// DatasetDict imports Dataset; Dataset needs DatasetDict only for trainTestSplit's result.
let DatasetDictCtor: (new (splits: Record<string, Dataset>) => import("./dataset_dict.js").DatasetDict) | null = null;
export function registerDatasetDict(c: typeof DatasetDictCtor): void {
  DatasetDictCtor = c;
}

export { featureEquals };

/** Whether `cached` starts with exactly the rows (columns, order and values) of `fresh`. */
function sameLeadingRows(fresh: arrow.Table, cached: arrow.Table): boolean {
  const names = fresh.schema.fields.map((f) => f.name);
  if (cached.numRows < fresh.numRows || names.join("\u0000") !== cached.schema.fields.map((f) => f.name).join("\u0000")) return false;
  for (const name of names) {
    const a = fresh.getChild(name)!;
    const b = cached.getChild(name)!;
    for (let i = 0; i < fresh.numRows; i++) {
      if (JSON.stringify(plain(a.get(i))) !== JSON.stringify(plain(b.get(i)))) return false;
    }
  }
  return true;
}
