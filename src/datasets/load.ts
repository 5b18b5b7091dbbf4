// loadDataset: a hub dataset (offline from the HF cache, or downloaded), a packaged builder over
// local files (csv, json, parquet, arrow, text), or a folder saved by saveToDisk (loadFromDisk).
import { existsSync, readFileSync, readdirSync, statSync } from "node:fs";
import { createHash } from "node:crypto";
import { basename, join, resolve } from "node:path";
import * as arrow from "apache-arrow";
import { parse as parseYaml } from "yaml";
import { HubSession, hfHome, hfHubDownload, listRepoFiles, type HubOptions } from "../hub/index.js";
import { Dataset } from "./dataset.js";
import { DatasetDict } from "./dataset_dict.js";
import { featuresFromJson, inferFeature, type Features } from "./features.js";
import { readArrow, readCsv, readJson, readParquet, readText, type Columns, type CsvOptions, type TextOptions } from "./builders.js";
import { readArrowFile } from "./arrow_io.js";
import { toVector } from "./columns.js";
import { hashOf } from "./fingerprint.js";
import { CONLL2003_FILES, conll2003Features, readConll2003, type Conll2003Row } from "./conll2003.js";
import { SQUAD_FILES, readSquad, squadFeatures, type SquadRow } from "./squad.js";

export type DataFiles = string | string[] | Record<string, string | string[]>;

export interface LoadDatasetOptions extends HubOptions, CsvOptions, TextOptions {
  dataFiles?: DataFiles;
  dataDir?: string;
  /** One split ("train", "train[:100]", "validation[10%:]"): returns a Dataset instead of a DatasetDict. */
  split?: string;
  features?: Features;
  /** Root of the datasets cache (map's cache files); default HF_DATASETS_CACHE or $HF_HOME/datasets. */
  cacheDir?: string;
  /** json: the key holding the rows. */
  field?: string;
}

const BUILDERS = ["csv", "json", "parquet", "arrow", "text"] as const;
type Builder = (typeof BUILDERS)[number];

// Canonical datasets moved under organisations on the hub; HF resolves their old short names.
const SHORT_NAMES: Record<string, string> = {
  glue: "nyu-mll/glue",
  super_glue: "aps/super_glue",
  imdb: "stanfordnlp/imdb",
  sst2: "stanfordnlp/sst2",
  squad: "rajpurkar/squad",
  ag_news: "fancyzhx/ag_news",
  yelp_review_full: "Yelp/yelp_review_full",
  emotion: "dair-ai/emotion",
  conll2003: "eriktks/conll2003",
};

export function datasetsCacheDir(): string {
  return process.env.HF_DATASETS_CACHE ?? join(hfHome(), "datasets");
}

function builderOf(file: string): Builder | null {
  const f = file.toLowerCase().replace(/\.(gz|bz2|xz|zst)$/, "");
  if (f.endsWith(".csv") || f.endsWith(".tsv")) return "csv";
  if (f.endsWith(".json") || f.endsWith(".jsonl")) return "json";
  if (f.endsWith(".parquet")) return "parquet";
  if (f.endsWith(".arrow")) return "arrow";
  if (f.endsWith(".txt")) return "text";
  return null;
}

/** fnmatch-style patterns as the hub's data_files use them: * within a path segment, ** across. */
function globToRegExp(pattern: string): RegExp {
  let re = "";
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i];
    if (c === "*" && pattern[i + 1] === "*") {
      re += ".*";
      i++;
      if (pattern[i + 1] === "/") i++;
    } else if (c === "*") re += "[^/]*";
    else if (c === "?") re += "[^/]";
    else re += c.replace(/[.+^${}()|[\]\\]/g, "\\$&");
  }
  return new RegExp(`^${re}$`);
}

function matchFiles(patterns: string | string[], files: string[], where: string): string[] {
  const list = Array.isArray(patterns) ? patterns : [patterns];
  const out: string[] = [];
  for (const p of list) {
    const re = globToRegExp(p);
    const hits = files.filter((f) => re.test(f));
    if (hits.length === 0) throw new Error(`${where}: no file matches the pattern '${p}'`);
    out.push(...hits.sort());
  }
  return out;
}

function normalizeDataFiles(d: DataFiles): Record<string, string[]> {
  if (typeof d === "string") return { train: [d] };
  if (Array.isArray(d)) return { train: d };
  return Object.fromEntries(Object.entries(d).map(([k, v]) => [k, Array.isArray(v) ? v : [v]]));
}

function localFiles(patterns: string[], base: string): string[] {
  const out: string[] = [];
  for (const p of patterns) {
    const abs = resolve(base, p);
    if (!/[*?]/.test(p)) {
      if (!existsSync(abs)) throw new Error(`data file not found: ${abs}`);
      out.push(abs);
      continue;
    }
    const dir = resolve(
      base,
      p
        .split("/")
        .slice(
          0,
          p.split("/").findIndex((s) => /[*?]/.test(s)),
        )
        .join("/"),
    );
    const all: string[] = [];
    const walk = (d: string) => {
      for (const n of readdirSync(d)) {
        const f = join(d, n);
        if (statSync(f).isDirectory()) walk(f);
        else all.push(f);
      }
    };
    if (existsSync(dir)) walk(dir);
    const re = globToRegExp(resolve(base, p));
    const hits = all.filter((f) => re.test(f)).sort();
    if (!hits.length) throw new Error(`no data file matches ${resolve(base, p)}`);
    out.push(...hits);
  }
  return out;
}

async function readFiles(builder: Builder, files: string[], o: LoadDatasetOptions): Promise<{ table: arrow.Table; features: Features }> {
  const parts: Columns[] = [];
  for (const f of files) {
    switch (builder) {
      case "csv":
        parts.push(readCsv(f, { ...o, delimiter: o.delimiter ?? (f.toLowerCase().endsWith(".tsv") ? "\t" : ",") }));
        break;
      case "json":
        parts.push(readJson(f, { field: o.field }));
        break;
      case "text":
        parts.push(readText(f, { sampleBy: o.sampleBy, keepLinebreaks: o.keepLinebreaks }));
        break;
      case "parquet":
        parts.push(await readParquet(f));
        break;
      case "arrow":
        parts.push(readArrow(f));
        break;
    }
  }
  if (parts.every((p) => p.table)) {
    const features = o.features ?? parts[0].features!;
    return { table: parts.length === 1 ? parts[0].table! : parts[0].table!.concat(...parts.slice(1).map((p) => p.table!)), features };
  }
  const names = Object.keys(parts[0].columns);
  parts.forEach((p, i) => {
    const n = Object.keys(p.columns);
    if (n.join("\u0000") !== names.join("\u0000")) throw new Error(`${files[i]} has columns ${JSON.stringify(n)} but ${files[0]} has ${JSON.stringify(names)}`);
  });
  const columns = Object.fromEntries(names.map((n) => [n, parts.flatMap((p) => p.columns[n])]));
  const features: Features = {};
  for (const n of names) features[n] = o.features?.[n] ?? parts[0].features?.[n] ?? inferFeature(columns[n], n);
  const vectors = Object.fromEntries(names.map((n) => [n, toVector(columns[n], features[n], n)]));
  return { table: names.length ? new arrow.Table(vectors) : new arrow.Table(), features };
}

function sliceSplit(d: Dataset, spec: string): Dataset {
  const m = /^([^[]+)(?:\[([-\d]*%?)?:([-\d]*%?)?\])?$/.exec(spec.trim());
  if (!m || (spec.includes("[") && m[2] === undefined && m[3] === undefined && !spec.includes(":")))
    throw new Error(`cannot read the split specification '${spec}'`);
  if (!spec.includes("[")) return d;
  const n = d.numRows;
  const at = (v: string | undefined, dflt: number) => {
    if (v === undefined || v === "") return dflt;
    const x = v.endsWith("%") ? Math.round((Number(v.slice(0, -1)) / 100) * n) : Number(v);
    return Math.max(0, Math.min(n, x < 0 ? n + x : x));
  };
  const s = at(m[2], 0);
  const e = at(m[3], n);
  return d.select(Array.from({ length: Math.max(0, e - s) }, (_, i) => s + i));
}

function pick(dd: DatasetDict, split: string | undefined): Dataset | DatasetDict {
  if (split === undefined) return dd;
  const name = split.replace(/\[.*$/, "").trim();
  if (!dd.splits.includes(name)) throw new Error(`Unknown split "${name}". Should be one of ${JSON.stringify(dd.splits)}.`);
  return sliceSplit(dd.get(name), split);
}

interface ConfigSpec {
  config_name: string;
  data_files?: unknown;
  default?: boolean;
}

function readmeYaml(path: string): Record<string, unknown> {
  const text = readFileSync(path, "utf8");
  const m = /^---\r?\n([\s\S]*?)\r?\n---/.exec(text);
  if (!m) return {};
  try {
    return (parseYaml(m[1]) ?? {}) as Record<string, unknown>;
  } catch (e) {
    throw new Error(`${path}: the README's YAML header is not valid (${(e as Error).message})`);
  }
}

async function loadHub(repoId: string, name: string | undefined, o: LoadDatasetOptions): Promise<DatasetDict> {
  // o.cacheDir is the datasets cache (map's files); hub files stay in the hub cache.
  const { cacheDir: _datasetsCache, ...hubOptions } = o;
  const hub: HubOptions = HubSession.in({ ...hubOptions, repoType: "dataset" });
  const files = await listRepoFiles(repoId, hub);
  let splitFiles: Record<string, string[]> | null = null;
  let features: Features | null = o.features ?? null;
  let config = name ?? "default";
  if (files.includes("README.md")) {
    const yaml = readmeYaml(await hfHubDownload(repoId, "README.md", hub));
    const configs = (yaml.configs ?? []) as ConfigSpec[];
    if (configs.length) {
      let chosen: ConfigSpec | undefined;
      if (name) {
        chosen = configs.find((c) => c.config_name === name);
        if (!chosen) throw new Error(`BuilderConfig '${name}' not found. Available: ${JSON.stringify(configs.map((c) => c.config_name))}`);
      } else {
        chosen = configs.find((c) => c.default) ?? (configs.length === 1 ? configs[0] : undefined);
        if (!chosen) {
          const names = configs.map((c) => c.config_name);
          throw new Error(
            `Config name is missing.\nPlease pick one among the available configs: ${JSON.stringify(names)}\nExample of usage:\n\t\`loadDataset("${repoId}", "${names[0]}")\``,
          );
        }
      }
      config = chosen.config_name;
      const df = chosen.data_files;
      const specs: Record<string, string | string[]> =
        Array.isArray(df) && df.every((x) => typeof x === "object")
          ? Object.fromEntries((df as { split: string; path: string | string[] }[]).map((x) => [x.split, x.path]))
          : (normalizeDataFiles(df as DataFiles) as Record<string, string[]>);
      splitFiles = Object.fromEntries(Object.entries(specs).map(([s, p]) => [s, matchFiles(p, files, `${repoId} config '${config}' split '${s}'`)]));
      const info = yaml.dataset_info as Record<string, unknown>[] | Record<string, unknown> | undefined;
      const infos = Array.isArray(info) ? info : info ? [info] : [];
      const mine = infos.find((i) => (i.config_name ?? "default") === config);
      if (!features && mine?.features) features = featuresFromJson(mine.features, `${repoId} README dataset_info`);
    }
  }
  if (!splitFiles) {
    // The hub's automatic parquet conversion: refs/convert/parquet with {config}/{split}/NNNN.parquet.
    const conv = await listRepoFiles(repoId, { ...hub, revision: "refs/convert/parquet" }).catch(() => null);
    const at = o.revision ? ` at revision '${o.revision}'` : "";
    if (!conv) throw new Error(`${repoId}${at}: no 'configs' in its README.md and no refs/convert/parquet branch; cannot tell which files make which split`);
    const configs = [...new Set(conv.filter((f) => f.endsWith(".parquet")).map((f) => f.split("/")[0]))];
    if (!configs.length)
      throw new Error(
        `${repoId}${at}: no 'configs' in its README.md, and its refs/convert/parquet branch holds no parquet files; cannot tell which files make which split`,
      );
    if (!name && configs.length > 1) throw new Error(`Config name is missing.\nPlease pick one among the available configs: ${JSON.stringify(configs)}`);
    config = name ?? configs[0];
    if (!configs.includes(config)) throw new Error(`BuilderConfig '${config}' not found. Available: ${JSON.stringify(configs)}`);
    splitFiles = {};
    for (const f of conv.filter((x) => x.startsWith(`${config}/`) && x.endsWith(".parquet"))) {
      const split = f.split("/")[1].replace(/^partial-/, "");
      (splitFiles[split] ??= []).push(f);
    }
    hub.revision = "refs/convert/parquet";
  }
  const commit = createHash("sha1").update(JSON.stringify(splitFiles)).digest("hex").slice(0, 16);
  const cacheDir = join(o.cacheDir ?? datasetsCacheDir(), repoId.replace("/", "___"), config, "0.0.0", commit);
  const splits: Record<string, Dataset> = {};
  for (const [split, list] of Object.entries(splitFiles)) {
    if (o.split && o.split.replace(/\[.*$/, "").trim() !== split) continue;
    const local = await Promise.all(list.map((f) => hfHubDownload(repoId, f, hub)));
    const { table, features: f } = await readFiles(builderOf(list[0]) ?? "parquet", local, { ...o, features: features ?? undefined });
    splits[split] = Dataset.fromArrow(table, f, { fingerprint: hashOf(repoId, config, split, commit), cacheDir, split });
  }
  if (o.split && !Object.keys(splits).length) throw new Error(`Unknown split "${o.split}". Should be one of ${JSON.stringify(Object.keys(splitFiles))}.`);
  return new DatasetDict(splits);
}

/** A dataset read from its original files in dataDir (conll2003's, squad's), typed with HF's features. */
function loadFromOriginalFiles(
  name: string,
  files: Record<string, string>,
  read: (file: string) => Record<string, unknown[]>,
  features: Features,
  o: LoadDatasetOptions,
): DatasetDict {
  const dir = o.dataDir!;
  const splits: Record<string, Dataset> = {};
  for (const [split, file] of Object.entries(files)) {
    if (o.split && o.split.replace(/\[.*$/, "").trim() !== split) continue;
    const path = join(dir, file);
    if (!existsSync(path)) {
      // A folder with some of the splits (SQuAD's dev file alone) loads those; a named split must be there.
      if (o.split || name === "conll2003")
        throw new Error(`loadDataset("${name}", { dataDir }): ${path} is missing (the folder needs ${Object.values(files).join(", ")})`);
      continue;
    }
    const columns = read(path);
    const vectors = Object.fromEntries(Object.entries(columns).map(([n, v]) => [n, toVector(v, features[n], n)]));
    const fp = fileFingerprint([path]);
    const cacheDir = join(o.cacheDir ?? datasetsCacheDir(), name, `${name}-${fp}`, "1.0.0");
    splits[split] = Dataset.fromArrow(new arrow.Table(vectors), features, { fingerprint: hashOf(name, fp, split), cacheDir, split });
  }
  if (o.split && !Object.keys(splits).length) throw new Error(`Unknown split "${o.split}". Should be one of ${JSON.stringify(Object.keys(files))}.`);
  if (!Object.keys(splits).length) throw new Error(`loadDataset("${name}", { dataDir }): ${dir} has none of ${Object.values(files).join(", ")}`);
  return new DatasetDict(splits);
}

function fileFingerprint(files: string[]): string {
  return hashOf(files.map((f) => [f, statSync(f).size, statSync(f).mtimeMs]));
}

async function loadBuilder(builder: Builder, o: LoadDatasetOptions): Promise<DatasetDict> {
  if (!o.dataFiles && !o.dataDir) throw new Error(`loadDataset("${builder}") needs dataFiles (a file, a list, or {split: files})`);
  let spec = o.dataFiles ? normalizeDataFiles(o.dataFiles) : null;
  const base = o.dataDir ?? process.cwd();
  if (!spec) {
    const all = readdirSync(base).filter((f) => builderOf(f) === builder);
    spec = {};
    for (const f of all) {
      const split = /test/i.test(f) ? "test" : /valid|dev/i.test(f) ? "validation" : "train";
      (spec[split] ??= []).push(f);
    }
  }
  const splits: Record<string, Dataset> = {};
  for (const [split, patterns] of Object.entries(spec)) {
    if (o.split && o.split.replace(/\[.*$/, "").trim() !== split) continue;
    const files = localFiles(patterns, base);
    const fp = fileFingerprint(files);
    const cacheDir = join(o.cacheDir ?? datasetsCacheDir(), builder, `default-${fp}`, "0.0.0");
    const { table, features } = await readFiles(builder, files, o);
    splits[split] = Dataset.fromArrow(table, features, {
      fingerprint: hashOf(
        builder,
        fp,
        split,
        o.delimiter ?? null,
        o.quoting ?? null,
        ...(o.sampleBy || o.keepLinebreaks ? [o.sampleBy ?? "line", o.keepLinebreaks ?? false] : []),
      ),
      cacheDir,
      split,
    });
  }
  if (o.split && !Object.keys(splits).length) throw new Error(`Unknown split "${o.split}". Should be one of ${JSON.stringify(Object.keys(spec))}.`);
  return new DatasetDict(splits);
}

/**
 * HF's load_dataset. `loadDataset("glue", "mrpc")` reads nyu-mll/glue from the HF cache (offline
 * with HF_HUB_OFFLINE=1) or the hub; `loadDataset("csv", { dataFiles, delimiter: "\t", quoting: false })`
 * reads local files. With `split`, one Dataset; otherwise a DatasetDict.
 */
/** GLUE's rows by config, as its features declare them (labels are ClassLabel ids; stsb's a float). */
export interface GlueRows {
  cola: { sentence: string; label: number; idx: number };
  sst2: { sentence: string; label: number; idx: number };
  mrpc: { sentence1: string; sentence2: string; label: number; idx: number };
  qqp: { question1: string; question2: string; label: number; idx: number };
  stsb: { sentence1: string; sentence2: string; label: number; idx: number };
  mnli: { premise: string; hypothesis: string; label: number; idx: number };
  qnli: { question: string; sentence: string; label: number; idx: number };
  rte: { sentence1: string; sentence2: string; label: number; idx: number };
  wnli: { sentence1: string; sentence2: string; label: number; idx: number };
}
/** GLUE's split names by config. */
export type GlueSplits<N extends keyof GlueRows> = N extends "mnli"
  ? "train" | "validation_matched" | "validation_mismatched" | "test_matched" | "test_mismatched"
  : "train" | "validation" | "test";

// GLUE, typed from its features: ds.column("sentence1") is string[], a misspelt split does not compile.
export async function loadDataset<N extends keyof GlueRows>(
  path: "glue" | "nyu-mll/glue",
  name: N,
  options: LoadDatasetOptions & { split: string },
): Promise<Dataset<GlueRows[N]>>;
export async function loadDataset<N extends keyof GlueRows>(
  path: "glue" | "nyu-mll/glue",
  name: N,
  options?: LoadDatasetOptions & { split?: undefined },
): Promise<DatasetDict<GlueRows[N], GlueSplits<N>>>;
// CoNLL-2003, typed: from the hub (eriktks/conll2003), or from the shared task's files with dataDir.
export async function loadDataset(path: "conll2003" | "eriktks/conll2003", options: LoadDatasetOptions & { split: string }): Promise<Dataset<Conll2003Row>>;
export async function loadDataset(
  path: "conll2003" | "eriktks/conll2003",
  options?: LoadDatasetOptions & { split?: undefined },
): Promise<DatasetDict<Conll2003Row, "train" | "validation" | "test">>;
// Text files: a row per line, typed { text }.
export async function loadDataset(path: "text", options: LoadDatasetOptions & { split: string }): Promise<Dataset<{ text: string }>>;
export async function loadDataset(path: "text", options?: LoadDatasetOptions & { split?: undefined }): Promise<DatasetDict<{ text: string }>>;
// SQuAD v1.1, typed: from the hub (rajpurkar/squad), or from the official JSON files with dataDir.
export async function loadDataset(path: "squad" | "rajpurkar/squad", options: LoadDatasetOptions & { split: string }): Promise<Dataset<SquadRow>>;
export async function loadDataset(
  path: "squad" | "rajpurkar/squad",
  options?: LoadDatasetOptions & { split?: undefined },
): Promise<DatasetDict<SquadRow, "train" | "validation">>;
export async function loadDataset(path: string, name: string, options: LoadDatasetOptions & { split: string }): Promise<Dataset>;
export async function loadDataset(path: string, options: LoadDatasetOptions & { split: string }): Promise<Dataset>;
export async function loadDataset(path: string, name?: string, options?: LoadDatasetOptions & { split?: undefined }): Promise<DatasetDict>;
export async function loadDataset(path: string, options?: LoadDatasetOptions & { split?: undefined }): Promise<DatasetDict>;
export async function loadDataset(path: string, nameOrOptions?: string | LoadDatasetOptions, options?: LoadDatasetOptions): Promise<DatasetDict | Dataset>;
// The overloads above give the types; the body works on untyped datasets.
export async function loadDataset(path: string, nameOrOptions?: string | LoadDatasetOptions, options: LoadDatasetOptions = {}): Promise<unknown> {
  const name = typeof nameOrOptions === "string" ? nameOrOptions : undefined;
  const o = typeof nameOrOptions === "object" ? nameOrOptions : options;
  if (typeof path !== "string" || path === "")
    throw new TypeError(`loadDataset(): path must be a dataset name, a builder or a folder, got ${JSON.stringify(path)}`);
  let dd: DatasetDict;
  if ((BUILDERS as readonly string[]).includes(path)) dd = await loadBuilder(path as Builder, o);
  else if ((path === "conll2003" || path === "eriktks/conll2003") && o.dataDir)
    dd = loadFromOriginalFiles("conll2003", CONLL2003_FILES, readConll2003, conll2003Features(), o);
  else if ((path === "squad" || path === "rajpurkar/squad") && o.dataDir) dd = loadFromOriginalFiles("squad", SQUAD_FILES, readSquad, squadFeatures(), o);
  else if (existsSync(path) && statSync(path).isDirectory()) {
    if (existsSync(join(path, "dataset_dict.json")) || existsSync(join(path, "state.json"))) {
      throw new Error(`${path} was written by saveToDisk: use loadFromDisk("${path}")`);
    }
    const files = readdirSync(path).filter((f) => builderOf(f));
    const kinds = [...new Set(files.map((f) => builderOf(f)!))];
    if (kinds.length !== 1)
      throw new Error(
        `${path}: cannot tell the builder from its files (${kinds.join(", ") || "no data files"}); use loadDataset("csv" | "json" | …, { dataFiles })`,
      );
    dd = await loadBuilder(kinds[0], { ...o, dataDir: path, dataFiles: o.dataFiles });
  } else if (/^[\w.-]+(\/[\w.-]+)?$/.test(path)) {
    dd = await loadHub(SHORT_NAMES[path] ?? path, name, o);
  } else {
    throw new Error(`loadDataset(): '${path}' is neither a packaged builder (${BUILDERS.join(", ")}), a folder, nor a hub dataset name`);
  }
  return pick(dd, o.split);
}

/** load_from_disk: a Dataset or DatasetDict folder written by saveToDisk (ours or HF's). */
export function loadFromDisk(dir: string): Dataset | DatasetDict {
  if (!existsSync(dir)) throw new Error(`loadFromDisk(): ${dir} does not exist`);
  if (existsSync(join(dir, "dataset_dict.json"))) {
    const { splits } = JSON.parse(readFileSync(join(dir, "dataset_dict.json"), "utf8")) as { splits: string[] };
    return new DatasetDict(Object.fromEntries(splits.map((s) => [s, loadFromDisk(join(dir, s)) as Dataset])));
  }
  const statePath = join(dir, "state.json");
  if (!existsSync(statePath)) throw new Error(`loadFromDisk(): ${dir} has neither dataset_dict.json nor state.json; it was not written by saveToDisk`);
  const state = JSON.parse(readFileSync(statePath, "utf8")) as {
    _data_files: { filename: string }[];
    _fingerprint: string;
    _split: string | null;
    _format_type: string | null;
    _format_columns: string[] | null;
  };
  const parts = state._data_files.map((f) => readArrowFile(join(dir, f.filename)));
  let features = parts[0].features;
  if (existsSync(join(dir, "dataset_info.json"))) {
    const info = JSON.parse(readFileSync(join(dir, "dataset_info.json"), "utf8")) as { features?: unknown };
    if (info.features) features = featuresFromJson(info.features, join(dir, "dataset_info.json"));
  }
  const table = parts.length === 1 ? parts[0].table : parts[0].table.concat(...parts.slice(1).map((p) => p.table));
  return Dataset.fromArrow(table, features, { fingerprint: state._fingerprint, cacheDir: resolve(dir), split: state._split ?? basename(dir) });
}
