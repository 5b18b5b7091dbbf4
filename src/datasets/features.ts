// Features: the schema of a dataset, as HF datasets writes it (Value, ClassLabel, Sequence), with
// its JSON form (dataset_info.json, the parquet "huggingface" metadata) and its Arrow types.
import { inspect } from "node:util";
import * as arrow from "apache-arrow";

export type Dtype =
  "string" | "large_string" | "bool" | "int8" | "int16" | "int32" | "int64" | "uint8" | "uint16" | "uint32" | "uint64" | "float16" | "float32" | "float64";
const DTYPES: Dtype[] = [
  "string",
  "large_string",
  "bool",
  "int8",
  "int16",
  "int32",
  "int64",
  "uint8",
  "uint16",
  "uint32",
  "uint64",
  "float16",
  "float32",
  "float64",
];
const ALIASES: Record<string, Dtype> = { float: "float32", double: "float64", int: "int32", long: "int64", boolean: "bool", utf8: "string" };

export class Value {
  readonly _type = "Value";
  readonly dtype: Dtype;
  constructor(dtype: Dtype | string) {
    const d = (ALIASES[dtype] ?? dtype) as Dtype;
    if (!DTYPES.includes(d)) throw new TypeError(`Value: unknown dtype '${dtype}' (expected one of ${DTYPES.join(", ")})`);
    this.dtype = d;
  }
  toString(): string {
    return `Value(dtype='${this.dtype}', id=None)`;
  }
  [inspect.custom](): string {
    return this.toString();
  }
}

export class ClassLabel {
  readonly _type = "ClassLabel";
  readonly names: string[];
  constructor(o: { names?: string[]; numClasses?: number }) {
    if (o.names) this.names = [...o.names];
    else if (o.numClasses !== undefined) this.names = Array.from({ length: o.numClasses }, (_, i) => String(i));
    else throw new TypeError("ClassLabel: give names or numClasses");
    if (new Set(this.names).size !== this.names.length) throw new TypeError(`ClassLabel: duplicate names in ${JSON.stringify(this.names)}`);
  }
  get numClasses(): number {
    return this.names.length;
  }
  str2int(name: string): number {
    const i = this.names.indexOf(name);
    if (i < 0) throw new RangeError(`ClassLabel: invalid string class label '${name}' (names: ${JSON.stringify(this.names)})`);
    return i;
  }
  int2str(i: number): string {
    if (!Number.isInteger(i) || i < 0 || i >= this.names.length)
      throw new RangeError(`ClassLabel: invalid integer class label ${i} (numClasses ${this.names.length})`);
    return this.names[i];
  }
  toString(): string {
    return `ClassLabel(names=${JSON.stringify(this.names).replace(/"/g, "'").replace(/,/g, ", ")}, id=None)`;
  }
  [inspect.custom](): string {
    return this.toString();
  }
}

export class Sequence {
  readonly _type = "Sequence";
  readonly feature: Feature;
  readonly length: number;
  constructor(feature: Feature, length = -1) {
    this.feature = feature;
    this.length = length;
  }
  toString(): string {
    return `Sequence(feature=${this.feature}, length=${this.length}, id=None)`;
  }
  [inspect.custom](): string {
    return this.toString();
  }
}

/**
 * A dict of features (HF writes it as a plain dict in Features): each row holds an object with these
 * fields, stored as an Arrow struct. HF's Sequence of a dict (SQuAD's `answers`) is a dict of
 * sequences when stored, and is read as one.
 */
export class Struct {
  readonly _type = "Struct";
  readonly fields: Features;
  constructor(fields: Features) {
    if (!fields || typeof fields !== "object" || Object.keys(fields).length === 0) throw new TypeError("Struct: expected a non-empty object of features");
    this.fields = fields;
  }
  toString(): string {
    return `{${Object.entries(this.fields)
      .map(([k, f]) => `'${k}': ${f}`)
      .join(", ")}}`;
  }
  [inspect.custom](): string {
    return this.toString();
  }
}

export type Feature = Value | ClassLabel | Sequence | Struct;
export type Features = Record<string, Feature>;

/** HF's Sequence(feature): a list of it, or for a dict, the dict of lists HF stores. */
function sequenceOf(feature: Feature, length: number): Feature {
  if (feature instanceof Struct) return new Struct(Object.fromEntries(Object.entries(feature.fields).map(([k, f]) => [k, sequenceOf(f, length)])));
  return new Sequence(feature, length);
}

/** A feature from HF's JSON (dataset_info.json, parquet metadata), including the YAML README form. */
export function featureFromJson(j: unknown, where = "features"): Feature {
  if (typeof j === "string") return new Value(j);
  const o = j as Record<string, unknown>;
  if (!o || typeof o !== "object") throw new TypeError(`${where}: cannot read feature ${JSON.stringify(j)}`);
  if (Array.isArray(j)) return sequenceOf(featureFromJson(j[0], where), -1);
  switch (o._type) {
    case "Value":
      return new Value(String(o.dtype));
    case "ClassLabel":
      return new ClassLabel(o.names ? { names: o.names as string[] } : { numClasses: o.num_classes as number });
    case "Sequence":
    case "List":
    case "LargeList":
      return sequenceOf(featureFromJson(o.feature, where), (o.length as number | undefined) ?? -1);
    case undefined:
      // README YAML: {dtype: "string"} or {dtype: {class_label: {names: {"0": ...}}}} or {sequence: ...}
      if ("dtype" in o) {
        const d = o.dtype as unknown;
        if (typeof d === "string") return new Value(d);
        const cl = (d as Record<string, unknown>)?.class_label as { names: Record<string, string> } | undefined;
        if (cl)
          return new ClassLabel({
            names: Object.keys(cl.names)
              .sort((a, b) => Number(a) - Number(b))
              .map((k) => cl.names[k]),
          });
      }
      if ("sequence" in o) return sequenceOf(featureFromJson(o.sequence, where), -1);
      // A plain dict of features.
      if (Object.keys(o).length) return new Struct(Object.fromEntries(Object.entries(o).map(([k, v]) => [k, featureFromJson(v, `${where}.${k}`)])));
      throw new TypeError(`${where}: cannot read feature ${JSON.stringify(j)}`);
    default:
      throw new TypeError(`${where}: unsupported feature type '${String(o._type)}'`);
  }
}

export function featuresFromJson(j: unknown, where = "features"): Features {
  if (Array.isArray(j)) {
    // README YAML lists [{name, dtype}, …]
    return Object.fromEntries(j.map((f: Record<string, unknown>) => [String(f.name), featureFromJson(f, where)]));
  }
  if (!j || typeof j !== "object") throw new TypeError(`${where}: expected an object of features`);
  return Object.fromEntries(Object.entries(j as Record<string, unknown>).map(([k, v]) => [k, featureFromJson(v, `${where}.${k}`)]));
}

export function featureToJson(f: Feature): Record<string, unknown> {
  if (f instanceof Value) return { dtype: f.dtype, _type: "Value" };
  if (f instanceof ClassLabel) return { names: f.names, _type: "ClassLabel" };
  if (f instanceof Struct) return featuresToJson(f.fields);
  return { feature: featureToJson(f.feature), ...(f.length >= 0 ? { length: f.length } : {}), _type: "Sequence" };
}

export function featuresToJson(fs: Features): Record<string, unknown> {
  return Object.fromEntries(Object.entries(fs).map(([k, f]) => [k, featureToJson(f)]));
}

export function arrowType(f: Feature): arrow.DataType {
  if (f instanceof ClassLabel) return new arrow.Int64();
  if (f instanceof Sequence) return new arrow.List(new arrow.Field("item", arrowType(f.feature), true));
  if (f instanceof Struct) return new arrow.Struct(Object.entries(f.fields).map(([k, x]) => new arrow.Field(k, arrowType(x), true)));
  switch (f.dtype) {
    case "string":
      return new arrow.Utf8();
    case "large_string":
      return new arrow.LargeUtf8();
    case "bool":
      return new arrow.Bool();
    case "int8":
      return new arrow.Int8();
    case "int16":
      return new arrow.Int16();
    case "int32":
      return new arrow.Int32();
    case "int64":
      return new arrow.Int64();
    case "uint8":
      return new arrow.Uint8();
    case "uint16":
      return new arrow.Uint16();
    case "uint32":
      return new arrow.Uint32();
    case "uint64":
      return new arrow.Uint64();
    case "float16":
      return new arrow.Float16();
    case "float32":
      return new arrow.Float32();
    case "float64":
      return new arrow.Float64();
  }
}

/** The feature HF datasets would give an Arrow column it did not describe. */
export function featureFromArrow(t: arrow.DataType): Feature {
  if (arrow.DataType.isList(t)) return sequenceOf(featureFromArrow(t.children[0].type), -1);
  if (arrow.DataType.isStruct(t)) return new Struct(Object.fromEntries(t.children.map((c) => [c.name, featureFromArrow(c.type)])));
  if (arrow.DataType.isUtf8(t)) return new Value("string");
  if (arrow.DataType.isLargeUtf8(t)) return new Value("large_string");
  if (arrow.DataType.isBool(t)) return new Value("bool");
  if (arrow.DataType.isInt(t)) return new Value(`${t.isSigned ? "int" : "uint"}${t.bitWidth}`);
  if (arrow.DataType.isFloat(t))
    return new Value(t.precision === arrow.Precision.HALF ? "float16" : t.precision === arrow.Precision.SINGLE ? "float32" : "float64");
  if (arrow.DataType.isDictionary(t)) return featureFromArrow(t.dictionary);
  throw new TypeError(`unsupported Arrow type ${String(t)}`);
}

// HF datasets stores these tokenizer outputs in small integer types (its OptimizedTypedSequence).
const OPTIMIZED: Record<string, Dtype> = { input_ids: "int32", attention_mask: "int8", token_type_ids: "int8", special_tokens_mask: "int8" };

/** The feature of a column of JS values: strings, numbers (ints → int64, else float64), booleans, arrays. */
export function inferFeature(values: unknown[], column: string): Feature {
  const present = values.filter((v) => v !== null && v !== undefined);
  if (present.length === 0) return new Value("string");
  const first = present[0];
  if (Array.isArray(first) || ArrayBuffer.isView(first)) {
    const inner = present.flatMap((v) => Array.from(v as ArrayLike<unknown>));
    const f = inferFeature(inner, "");
    if (f instanceof Value && f.dtype === "int64" && OPTIMIZED[column]) return new Sequence(new Value(OPTIMIZED[column]));
    return new Sequence(f);
  }
  if (present.every((v) => Object.getPrototypeOf(v) === Object.prototype)) {
    const keys = [...new Set(present.flatMap((v) => Object.keys(v as object)))];
    return new Struct(
      Object.fromEntries(
        keys.map((k) => [
          k,
          inferFeature(
            present.map((v) => (v as Record<string, unknown>)[k]),
            `${column}.${k}`,
          ),
        ]),
      ),
    );
  }
  if (present.every((v) => typeof v === "string")) return new Value("string");
  if (present.every((v) => typeof v === "boolean")) return new Value("bool");
  if (present.every((v) => typeof v === "bigint" || (typeof v === "number" && Number.isInteger(v)))) return new Value("int64");
  if (present.every((v) => typeof v === "number" || typeof v === "bigint")) return new Value("float64");
  const kinds = [...new Set(present.map((v) => (Array.isArray(v) ? "array" : typeof v)))];
  throw new TypeError(`column '${column}' mixes value types (${kinds.join(", ")}); give features to say its type`);
}

export function featureEquals(a: Feature, b: Feature): boolean {
  return JSON.stringify(featureToJson(a)) === JSON.stringify(featureToJson(b));
}
