// JS values ↔ Arrow vectors, following a column's Feature. Integers come back as JS numbers (int64
// values beyond 2^53 lose precision, as they would in JSON), lists as plain arrays.
import * as arrow from "apache-arrow";
import { ClassLabel, Sequence, Struct, Value, arrowType, type Feature } from "./features.js";

function checkValue(v: unknown, f: Value, column: string): unknown {
  if (v === null || v === undefined) return null;
  const d = f.dtype;
  if (d === "string" || d === "large_string") {
    if (typeof v !== "string") throw new TypeError(`column '${column}' is ${d} but holds ${JSON.stringify(v)}`);
    return v;
  }
  if (d === "bool") {
    if (typeof v !== "boolean" && v !== 0 && v !== 1) throw new TypeError(`column '${column}' is bool but holds ${JSON.stringify(v)}`);
    return Boolean(v);
  }
  if (typeof v === "bigint") v = Number(v);
  if (typeof v === "boolean") v = v ? 1 : 0;
  if (typeof v !== "number") throw new TypeError(`column '${column}' is ${d} but holds ${JSON.stringify(v)}`);
  if (d.startsWith("int") || d.startsWith("uint")) {
    if (!Number.isInteger(v)) throw new TypeError(`column '${column}' is ${d} but holds the non-integer ${v}`);
    return d.endsWith("64") ? BigInt(v) : v;
  }
  return v;
}

function prepare(values: unknown[], f: Feature, column: string): unknown[] {
  if (f instanceof ClassLabel) {
    return values.map((v) => {
      if (v === null || v === undefined) return null;
      const i = typeof v === "string" ? f.str2int(v) : Number(v);
      if (!Number.isInteger(i) || i < -1 || i >= f.numClasses) {
        throw new RangeError(`column '${column}': class label ${JSON.stringify(v)} is outside ClassLabel(${f.numClasses} classes)`);
      }
      return BigInt(i);
    });
  }
  if (f instanceof Sequence) {
    return values.map((v) => {
      if (v === null || v === undefined) return null;
      if (!Array.isArray(v) && !ArrayBuffer.isView(v)) throw new TypeError(`column '${column}' is a sequence but holds ${JSON.stringify(v)}`);
      return prepare(Array.from(v as ArrayLike<unknown>), f.feature, column);
    });
  }
  if (f instanceof Struct) {
    const present = values.map((v) => {
      if (v === null || v === undefined) return null;
      if (typeof v !== "object" || Array.isArray(v))
        throw new TypeError(`column '${column}' is a dict of ${Object.keys(f.fields).join(", ")} but holds ${JSON.stringify(v)}`);
      return v as Record<string, unknown>;
    });
    const fields = Object.fromEntries(
      Object.entries(f.fields).map(([k, x]) => [
        k,
        prepare(
          present.map((v) => (v === null ? null : v[k])),
          x,
          `${column}.${k}`,
        ),
      ]),
    );
    return present.map((v, i) => (v === null ? null : Object.fromEntries(Object.keys(f.fields).map((k) => [k, fields[k][i]]))));
  }
  return values.map((v) => checkValue(v, f, column));
}

export function toVector(values: unknown[], f: Feature, column: string): arrow.Vector {
  return arrow.vectorFromArray(prepare(values, f, column), arrowType(f));
}

/** Plain JS values of an Arrow cell (lists as arrays, int64 as numbers). */
export function plain(v: unknown): unknown {
  if (typeof v === "bigint") return Number(v);
  // toArray() gives a typed array's raw values, where a null reads as 0: a list with nulls (word_ids'
  // None for special tokens) is read element by element, which honours the validity bitmap.
  if (v instanceof arrow.Vector) {
    if (v.nullCount > 0) return Array.from({ length: v.length }, (_, i) => plain(v.get(i)));
    return Array.from(v.toArray() as ArrayLike<unknown>, plain);
  }
  if (ArrayBuffer.isView(v)) return Array.from(v as unknown as ArrayLike<unknown>, plain);
  // A struct row: an object of its fields.
  if (v !== null && typeof v === "object" && typeof (v as { toJSON?: unknown }).toJSON === "function" && !(v instanceof Date)) {
    return Object.fromEntries(Object.entries((v as { toJSON(): Record<string, unknown> }).toJSON()).map(([k, x]) => [k, plain(x)]));
  }
  return v;
}

/** Values of rows [start, end) — or of the given row indices — as JS values. */
export function fromVector(vec: arrow.Vector, rows: { start: number; end: number } | ArrayLike<number>): unknown[] {
  const out: unknown[] = [];
  if ("start" in rows) {
    for (let i = rows.start; i < rows.end; i++) out.push(plain(vec.get(i)));
  } else {
    for (let k = 0; k < rows.length; k++) out.push(plain(vec.get(rows[k])));
  }
  return out;
}

export { Value };
