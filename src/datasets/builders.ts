// The packaged builders: csv (any delimiter, quoting on or off), json/jsonl, parquet, arrow, text.
// Each reads one file into columns; load.ts concatenates files and applies features.
import { readFileSync } from "node:fs";
import { asyncBufferFromFile, parquetMetadataAsync, parquetReadObjects } from "hyparquet";
import * as arrow from "apache-arrow";
import { readArrowFile } from "./arrow_io.js";
import { featuresFromJson, type Features } from "./features.js";

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

function stripBom(s: string): string {
  return s.charCodeAt(0) === 0xfeff ? s.slice(1) : s;
}

/** Rows of fields; with quoting, RFC 4180 (quotes, doubled quotes, newlines inside quotes). */
function parseCsv(text: string, delimiter: string, quoting: boolean, file: string): string[][] {
  const rows: string[][] = [];
  if (!quoting) {
    const lines = text.split(/\r?\n/);
    if (lines[lines.length - 1] === "") lines.pop();
    for (const line of lines) rows.push(line.split(delimiter));
    return rows;
  }
  let row: string[] = [];
  let field = "";
  let inQuotes = false;
  let quoteLine = 0;
  let line = 1;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (inQuotes) {
      if (c === '"') {
        if (text[i + 1] === '"') {
          field += '"';
          i++;
        } else inQuotes = false;
      } else {
        if (c === "\n") line++;
        field += c;
      }
    } else if (c === '"' && field === "") {
      inQuotes = true;
      quoteLine = line;
    } else if (c === delimiter) {
      row.push(field);
      field = "";
    } else if (c === "\n" || c === "\r") {
      if (c === "\r" && text[i + 1] === "\n") i++;
      row.push(field);
      rows.push(row);
      row = [];
      field = "";
      line++;
    } else field += c;
  }
  if (inQuotes) {
    throw new Error(`${file}: a quote opened on line ${quoteLine} is never closed (EOF inside string); if the file has unbalanced quotes (as GLUE's TSVs do), pass quoting: false`);
  }
  if (field !== "" || row.length) {
    row.push(field);
    rows.push(row);
  }
  return rows;
}

/** pandas-like column typing: all integers → int64, all numbers → float64, else strings; "" → null. */
function typeColumn(values: string[]): unknown[] {
  const present = values.filter((v) => v !== "");
  if (present.length && present.every((v) => /^[-+]?\d+$/.test(v.trim()) && Number.isSafeInteger(Number(v)))) return values.map((v) => (v === "" ? null : Number(v)));
  if (present.length && present.every((v) => v.trim() !== "" && !Number.isNaN(Number(v)))) return values.map((v) => (v === "" ? null : Number(v)));
  return values.map((v) => (v === "" ? null : v));
}

export function readCsv(file: string, o: CsvOptions = {}): Columns {
  const delimiter = o.delimiter ?? ",";
  if (delimiter.length !== 1) throw new TypeError(`csv: delimiter must be one character, got ${JSON.stringify(delimiter)}`);
  const quoting = o.quoting === undefined ? true : typeof o.quoting === "number" ? o.quoting !== 3 : o.quoting;
  let rows = parseCsv(stripBom(readFileSync(file, "utf8")), delimiter, quoting, file);
  rows = rows.slice(o.skipRows ?? 0);
  const header = o.header === undefined ? (o.columnNames ? null : 0) : o.header;
  let names: string[];
  if (header === null) names = o.columnNames ?? rows[0]?.map((_, i) => String(i)) ?? [];
  else {
    names = o.columnNames ?? rows[header] ?? [];
    rows = rows.slice(header + 1);
  }
  rows.forEach((r, i) => {
    if (r.length !== names.length) {
      throw new Error(`${file}: line ${i + 1 + (o.skipRows ?? 0) + (header === null ? 0 : header + 1)} has ${r.length} fields but the header has ${names.length} (${JSON.stringify(names)}); a ragged file, or one that needs quoting: ${quoting ? "false" : "true"}?`);
    }
  });
  const columns = Object.fromEntries(names.map((n, k) => [n, typeColumn(rows.map((r) => r[k]))]));
  return { columns, features: null };
}

export function readJson(file: string, o: { field?: string } = {}): Columns {
  const text = readFileSync(file, "utf8");
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
    rows = text.split(/\r?\n/).filter((l) => l.trim() !== "").map((l, i) => {
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
  return { columns: Object.fromEntries(keys.map((k) => [k, rows.map((r) => r[k] ?? null)])), features: null };
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

export function readText(file: string): Columns {
  const lines = readFileSync(file, "utf8").split(/\r?\n/);
  if (lines[lines.length - 1] === "") lines.pop();
  return { columns: { text: lines }, features: null };
}

export async function readParquet(file: string): Promise<Columns> {
  let buf;
  let rows: Record<string, unknown>[];
  let features: Features | null = null;
  try {
    buf = await asyncBufferFromFile(file);
    const md = await parquetMetadataAsync(buf);
    const hf = md.key_value_metadata?.find((kv) => kv.key === "huggingface")?.value;
    if (hf) features = featuresFromJson((JSON.parse(hf) as { info: { features: unknown } }).info.features, file);
    rows = (await parquetReadObjects({ file: buf })) as Record<string, unknown>[];
    const names = md.schema.slice(1).filter((s) => s.num_children === undefined || s.num_children === 0).map((s) => s.name);
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

