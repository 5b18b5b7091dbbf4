// The packaged builders: csv (any delimiter, quoting on or off), json/jsonl, parquet, arrow, text.
// Each reads one file into columns; load.ts concatenates files and applies features.
import { statSync } from "node:fs";
import { asyncBufferFromFile, parquetMetadataAsync, parquetReadObjects } from "hyparquet";
import * as arrow from "apache-arrow";
import { readArrowFile } from "./arrow_io.js";
import { parse } from "csv-parse/sync";
import { Value, featuresFromJson, type Feature, type Features } from "./features.js";
import { readUtf8 } from "../util/files.js";

export interface Columns {
  columns: Record<string, unknown[]>;
  features: Features | null;
  table?: arrow.Table;
}

export interface CsvOptions {
  delimiter?: string;
  /** false (or 3, Python's csv.QUOTE_NONE) splits on the delimiter only, as GLUE's TSVs need. */
  quoting?: boolean | number;
  columnNames?: string[];
  /** Row holding the column names (0), or null when the file has none. */
  header?: number | null;
  skipRows?: number;
}

/** Rows of fields through csv-parse: RFC 4180 quoting (or none), blank lines skipped as pandas does. */
function parseCsv(text: string, delimiter: string, quoting: boolean, file: string): string[][] {
  let rows: string[][];
  try {
    rows = parse(text, { delimiter, quote: quoting ? '"' : false, skip_empty_lines: true, relax_column_count: true }) as string[][];
  } catch (e) {
    const err = e as Error & { code?: string };
    if (err.code === "CSV_QUOTE_NOT_CLOSED") {
      throw new Error(
        `${file}: a quote opened on line ${unclosedQuoteLine(text, delimiter)} is never closed (EOF inside string); if the file has unbalanced quotes (as GLUE's TSVs do), pass quoting: false`,
      );
    }
    throw new Error(`${file}: ${err.message}${quoting ? "; if the file has stray quotes (as GLUE's TSVs do), pass quoting: false" : ""}`);
  }
  // pandas' skip_blank_lines also skips lines of spaces alone.
  return rows.filter((r) => !(r.length === 1 && r[0].trim() === ""));
}

/** The line where the quote that never closes was opened (csv-parse reports where the file ended). */
function unclosedQuoteLine(text: string, delimiter: string): number {
  let line = 1;
  let opened = 1;
  let inQuotes = false;
  let fieldStart = true;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (inQuotes) {
      if (c === '"' && text[i + 1] === '"') i++;
      else if (c === '"') inQuotes = false;
    } else if (c === '"' && fieldStart) {
      inQuotes = true;
      opened = line;
    }
    if (c === "\n") line++;
    fieldStart = c === delimiter || c === "\n" || (c === "\r" && text[i + 1] !== "\n");
  }
  return opened;
}

// pandas' default na_values: these cells read as missing (null), as datasets' csv builder gives them.
const NA = new Set([
  "",
  "#N/A",
  "#N/A N/A",
  "#NA",
  "-1.#IND",
  "-1.#QNAN",
  "-NaN",
  "-nan",
  "1.#IND",
  "1.#QNAN",
  "<NA>",
  "N/A",
  "NA",
  "NULL",
  "NaN",
  "None",
  "n/a",
  "nan",
  "null",
]);
const INT = /^[-+]?\d+$/;
const FLOAT = /^[-+]?(\d+\.?\d*([eE][-+]?\d+)?|\.\d+([eE][-+]?\d+)?|inf|infinity)$/i;

function toFloat(v: string): number {
  const t = v.trim().toLowerCase().replace(/^\+/, "");
  if (t === "inf" || t === "infinity") return Infinity;
  if (t === "-inf" || t === "-infinity") return -Infinity;
  return Number(v);
}

/**
 * pandas' read_csv typing: integers → int64 (float64 when a cell is missing, as pandas gives NaN),
 * numbers → float64, True/False → bool, else strings; NA cells → null.
 */
function typeColumn(values: (string | undefined)[]): { values: unknown[]; feature: Feature } {
  const cells = values.map((v) => (v === undefined || NA.has(v) ? null : v));
  const present = cells.filter((v): v is string => v !== null);
  const missing = present.length < cells.length;
  if (present.length && present.every((v) => INT.test(v.trim()) && Number.isSafeInteger(Number(v)))) {
    return { values: cells.map((v) => (v === null ? null : Number(v))), feature: new Value(missing ? "float64" : "int64") };
  }
  if (present.length && present.every((v) => FLOAT.test(v.trim())))
    return { values: cells.map((v) => (v === null ? null : toFloat(v))), feature: new Value("float64") };
  if (present.length && present.every((v) => /^(true|false)$/i.test(v)))
    return { values: cells.map((v) => (v === null ? null : /^true$/i.test(v))), feature: new Value("bool") };
  return { values: cells, feature: new Value("string") };
}

export function readCsv(file: string, o: CsvOptions = {}): Columns {
  const delimiter = o.delimiter ?? ",";
  if (delimiter.length !== 1) throw new TypeError(`csv: delimiter must be one character, got ${JSON.stringify(delimiter)}`);
  const quoting = o.quoting === undefined ? true : typeof o.quoting === "number" ? o.quoting !== 3 : o.quoting;
  const text = readUtf8(file);
  if (text.trim() === "") throw new Error(`${file} is empty: no columns to parse (a CSV file needs at least a header line)`);
  let rows = parseCsv(text, delimiter, quoting, file);
  rows = rows.slice(o.skipRows ?? 0);
  const header = o.header === undefined ? (o.columnNames ? null : 0) : o.header;
  let names: string[];
  if (header === null) names = o.columnNames ?? rows[0]?.map((_, i) => String(i)) ?? [];
  else {
    names = o.columnNames ?? rows[header] ?? [];
    rows = rows.slice(header + 1);
  }
  rows.forEach((r, i) => {
    // pandas fills a short row with NaN and refuses a long one.
    if (r.length > names.length) {
      throw new Error(
        `${file}: data row ${i + 1} has ${r.length} fields but the header has ${names.length} (${JSON.stringify(names)}); a ragged file, or one that needs quoting: ${quoting ? "false" : "true"}?`,
      );
    }
  });
  const typed = names.map((_, k) => typeColumn(rows.map((r) => r[k])));
  return { columns: Object.fromEntries(names.map((n, k) => [n, typed[k].values])), features: Object.fromEntries(names.map((n, k) => [n, typed[k].feature])) };
}

export function readJson(file: string, o: { field?: string } = {}): Columns {
  const text = readUtf8(file);
  if (text.trim() === "") throw new Error(`${file} is empty: no JSON to read`);
  let data: unknown;
  let lines = /\.jsonl$/i.test(file);
  if (!lines) {
    try {
      data = JSON.parse(text);
    } catch (e) {
      if (!isJsonLines(text)) throw new Error(`${file}: not valid JSON (${(e as Error).message})`);
      lines = true;
    }
  }
  let rows: Record<string, unknown>[];
  if (lines) {
    rows = text
      .split(/\r?\n/)
      .filter((l) => l.trim() !== "")
      .map((l, i) => {
        try {
          return JSON.parse(l) as Record<string, unknown>;
        } catch (e) {
          throw new Error(`${file}: line ${i + 1} is not valid JSON (${(e as Error).message})`);
        }
      });
  } else {
    if (o.field) data = (data as Record<string, unknown>)?.[o.field];
    if (Array.isArray(data)) rows = data as Record<string, unknown>[];
    else if (data && typeof data === "object" && Object.values(data).every(Array.isArray)) {
      return { columns: data as Record<string, unknown[]>, features: null };
    } else throw new Error(`${file}: expected an array of objects${o.field ? ` under field '${o.field}'` : ""}, or JSON Lines`);
  }
  const keys = [...new Set(rows.flatMap((r) => Object.keys(r)))];
  const columns = Object.fromEntries(keys.map((k) => [k, rows.map((r) => r[k] ?? null)]));
  // pyarrow's JSON reader types a number written with a point or an exponent (1.0, 2e3) as a double:
  // JSON.parse loses that, so the literals are read again. A regression target of 1.0 … 5.0 stays float.
  const floats = floatLiteralKeys(text, lines ? 1 : o.field ? 3 : 2);
  const features: Features = {};
  for (const k of floats) if (columns[k]?.every((v) => v === null || typeof v === "number")) features[k] = new Value("float64");
  return { columns, features };
}

/**
 * The keys of the row objects (the objects at `rowDepth` brackets deep: 1 in JSON Lines, 2 in an
 * array of rows) whose value is at least once a number literal with a fraction or an exponent.
 */
export function floatLiteralKeys(text: string, rowDepth: number): Set<string> {
  const out = new Set<string>();
  let depth = 0;
  let key: string | null = null;
  let afterColon = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === '"') {
      let j = i + 1;
      while (j < text.length && text[j] !== '"') j += text[j] === "\\" ? 2 : 1;
      if (depth === rowDepth && !afterColon) {
        try {
          key = JSON.parse(text.slice(i, j + 1)) as string;
        } catch {
          key = null;
        }
      }
      afterColon = false;
      i = j;
    } else if (c === "{" || c === "[") {
      depth++;
      afterColon = false;
    } else if (c === "}" || c === "]") {
      depth--;
      afterColon = false;
    } else if (c === ":") afterColon = depth === rowDepth;
    else if (c === "," || c === "\n") afterColon = false;
    else if (afterColon && (c === "-" || (c >= "0" && c <= "9"))) {
      let j = i;
      while (j < text.length && /[-+0-9.eE]/.test(text[j])) j++;
      if (key !== null && /[.eE]/.test(text.slice(i, j))) out.add(key);
      afterColon = false;
      i = j - 1;
    }
  }
  return out;
}

function isJsonLines(text: string): boolean {
  const lines = text.split(/\r?\n/).filter((l) => l.trim() !== "");
  if (lines.length < 2) return false;
  try {
    JSON.parse(lines[0]);
    JSON.parse(lines[1]);
    return true;
  } catch {
    return false;
  }
}

export interface TextOptions {
  /** HF's sample_by: a row per line (default), per paragraph (blank-line separated), or the whole file. */
  sampleBy?: "line" | "paragraph" | "document";
  /** HF's keep_linebreaks: lines keep their line break. */
  keepLinebreaks?: boolean;
}

// Python's str.splitlines boundaries (after text mode's universal newlines turned \r\n and \r into \n).
const LINE_BREAK = /[\n\v\f\x1c\x1d\x1e\x85\u2028\u2029]/;

/** HF's text builder: the file read in text mode (universal newlines), cut as sample_by says. */
export function readText(file: string, o: TextOptions = {}): Columns {
  const text = readUtf8(file).replace(/\r\n?/g, "\n");
  const by = o.sampleBy ?? "line";
  let rows: string[];
  if (by === "document") rows = text ? [text] : [];
  else if (by === "paragraph") {
    const parts = text.split("\n\n");
    const last = parts.pop()!;
    rows = parts.filter((p) => p !== "");
    if (last) rows.push(last);
  } else if (by === "line") {
    rows = [];
    let start = 0;
    for (let i = 0; i < text.length; i++) {
      if (LINE_BREAK.test(text[i])) {
        rows.push(text.slice(start, o.keepLinebreaks ? i + 1 : i));
        start = i + 1;
      }
    }
    if (start < text.length) rows.push(text.slice(start));
  } else throw new TypeError(`text: sampleBy must be "line", "paragraph" or "document", got ${JSON.stringify(by)}`);
  return { columns: { text: rows }, features: null };
}

export async function readParquet(file: string): Promise<Columns> {
  if (statSync(file).size === 0) throw new Error(`${file} is empty (0 bytes): not a parquet file`);
  let buf;
  let rows: Record<string, unknown>[];
  let features: Features | null = null;
  try {
    buf = await asyncBufferFromFile(file);
    const md = await parquetMetadataAsync(buf);
    const hf = md.key_value_metadata?.find((kv) => kv.key === "huggingface")?.value;
    if (hf) features = featuresFromJson((JSON.parse(hf) as { info: { features: unknown } }).info.features, file);
    rows = (await parquetReadObjects({ file: buf })) as Record<string, unknown>[];
    const names = md.schema
      .slice(1)
      .filter((s) => s.num_children === undefined || s.num_children === 0)
      .map((s) => s.name);
    const cols = features ? Object.keys(features) : [...new Set([...names, ...rows.flatMap((r) => Object.keys(r))])];
    return { columns: Object.fromEntries(cols.map((c) => [c, rows.map((r) => r[c] ?? null)])), features };
  } catch (e) {
    throw new Error(`${file}: not a readable parquet file (${(e as Error).message})`);
  }
}

export function readArrow(file: string): Columns {
  const { table, features } = readArrowFile(file);
  return { columns: {}, features, table };
}
