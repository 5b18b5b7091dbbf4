// Data types by PyTorch's names, with the codes of c10::ScalarType (stable across libtorch versions).

export type DType = "float32" | "float16" | "bfloat16" | "float64" | "int64" | "int32" | "int16" | "int8" | "uint8" | "bool";

const CODES: Record<DType, number> = {
  uint8: 0,
  int8: 1,
  int16: 2,
  int32: 3,
  int64: 4,
  float16: 5,
  float32: 6,
  float64: 7,
  bool: 11,
  bfloat16: 15,
};
const NAMES = new Map<number, DType>(Object.entries(CODES).map(([k, v]) => [v, k as DType]));

// PyTorch's aliases, so `dtype: "float"` or `"half"` read as they do in Python.
const ALIASES: Record<string, DType> = {
  float: "float32",
  double: "float64",
  half: "float16",
  long: "int64",
  int: "int32",
  short: "int16",
};

export const BYTES: Record<DType, number> = {
  uint8: 1,
  int8: 1,
  bool: 1,
  int16: 2,
  float16: 2,
  bfloat16: 2,
  int32: 4,
  float32: 4,
  int64: 8,
  float64: 8,
};

/** Bytes of one element of a dtype. */
export function elementBytes(d: DType): number {
  return BYTES[d];
}

export function normalizeDType(d: string, what = "dtype"): DType {
  if (d in CODES) return d as DType;
  if (d in ALIASES) return ALIASES[d];
  throw new TypeError(`${what}: unknown dtype '${d}' (expected one of ${Object.keys(CODES).join(", ")})`);
}

export function dtypeCode(d: DType | string): number {
  return CODES[normalizeDType(d)];
}

export function dtypeName(code: number): DType {
  const name = NAMES.get(code);
  if (!name) throw new Error(`libtorch returned a dtype this library does not expose (ScalarType ${code})`);
  return name;
}

export function isFloating(d: DType): boolean {
  return d === "float32" || d === "float16" || d === "bfloat16" || d === "float64";
}

export type TypedArrayFor = Float32Array | Float64Array | Int32Array | Int16Array | Int8Array | Uint8Array | BigInt64Array | Uint16Array;

/** The typed array that holds a dtype's raw elements (float16/bfloat16 as their raw 16 bits). */
export function rawArray(d: DType, buf: ArrayBuffer): TypedArrayFor {
  switch (d) {
    case "float32":
      return new Float32Array(buf);
    case "float64":
      return new Float64Array(buf);
    case "int64":
      return new BigInt64Array(buf);
    case "int32":
      return new Int32Array(buf);
    case "int16":
      return new Int16Array(buf);
    case "int8":
      return new Int8Array(buf);
    case "uint8":
    case "bool":
      return new Uint8Array(buf);
    case "float16":
    case "bfloat16":
      return new Uint16Array(buf);
  }
}
