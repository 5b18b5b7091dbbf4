// An ONNX graph under construction: named values, nodes, initializers, inputs and outputs, and its
// encoding to a ModelProto with protobufjs over ONNX's own onnx.proto (the onnx-proto package). A
// model writes itself into one (each architecture's onnx() method mirrors its forward); passes
// (float16.ts, quantize.ts) rewrite the graph before it is encoded.
import onnxProto from "onnx-proto";
import * as torch from "../torch/index.js";
import type { Tensor } from "../torch/index.js";

const { onnx } = onnxProto;

export type ElemType = "float32" | "float16" | "int64" | "int32" | "int8" | "uint8" | "bool";

/** TensorProto.DataType's numbers. */
export const DATA_TYPE: Record<ElemType, number> = { float32: 1, uint8: 2, int8: 3, int32: 6, int64: 7, bool: 9, float16: 10 };

export type Attribute = { f: number } | { i: number } | { ints: number[] } | { s: string };
export const float = (f: number): Attribute => ({ f });
export const int = (i: number): Attribute => ({ i });
export const ints = (v: number[]): Attribute => ({ ints: v });

export interface Node {
  opType: string;
  inputs: string[];
  outputs: string[];
  attrs: Record<string, Attribute>;
  name: string;
  domain?: string;
}

/** A constant: its elements as a JS typed array (float16 as the raw 16-bit patterns). */
export interface Initializer {
  name: string;
  type: ElemType;
  dims: number[];
  data: Float32Array | Uint16Array | BigInt64Array | Int32Array | Int8Array | Uint8Array;
}

export interface ValueInfo {
  name: string;
  type: ElemType;
  /** Numbers are fixed sizes; strings name a dynamic axis ("batch_size", "sequence_length"). */
  dims: (number | string)[];
}

export class OnnxGraph {
  readonly opset: number;
  nodes: Node[] = [];
  initializers = new Map<string, Initializer>();
  readonly inputs: ValueInfo[] = [];
  readonly outputs: ValueInfo[] = [];
  readonly #weightNames: Map<Tensor, string>;
  readonly #weights = new Map<Tensor, string>();
  readonly #constants = new Map<string, string>();
  #count = 0;

  /** `names` gives parameters their state-dict names (a model's namedParameters()). */
  constructor(o: { opset: number; names?: Iterable<[string, Tensor]> }) {
    this.opset = o.opset;
    this.#weightNames = new Map([...(o.names ?? [])].map(([n, t]) => [t, n]));
  }

  /** A fresh value or node name. */
  fresh(stem: string): string {
    return `/${stem}_${this.#count++}`;
  }

  /** Declares a graph input once and returns its value (a second call returns the same). */
  input(name: string, type: ElemType, dims: (number | string)[]): string {
    if (!this.inputs.some((i) => i.name === name)) this.inputs.push({ name, type, dims });
    return name;
  }

  /**
   * An independent graph for a pass to rewrite (nodes, initializer records and names are its own;
   * the weights' data arrays are shared, which the passes replace and never write into).
   */
  copy(): OnnxGraph {
    const c = new OnnxGraph({ opset: this.opset });
    c.nodes = this.nodes.map((n) => ({ ...n, inputs: [...n.inputs], outputs: [...n.outputs], attrs: { ...n.attrs } }));
    c.initializers = new Map([...this.initializers].map(([k, t]) => [k, { ...t }]));
    c.inputs.push(...this.inputs);
    c.outputs.push(...this.outputs);
    c.#count = this.#count;
    return c;
  }

  /** Names `value` as the graph output `name`. */
  output(name: string, value: string, type: ElemType, dims: (number | string)[]): void {
    if (this.outputs.some((o) => o.name === name)) throw new Error(`ONNX export: output '${name}' declared twice`);
    if (value !== name) this.op("Identity", [value], {}, [name]);
    this.outputs.push({ name, type, dims });
  }

  /** A parameter as a float32 initializer, once per tensor (tied weights share one); `transpose` stores a 2-D weight as [in, out] for MatMul. */
  weight(t: Tensor, o: { transpose?: boolean } = {}): string {
    const key = o.transpose ? undefined : t;
    const known = key && this.#weights.get(key);
    if (known) return known;
    const base = this.#weightNames.get(t) ?? this.fresh("weight").slice(1);
    const name = o.transpose ? `${base}.T` : base;
    if (this.initializers.has(name)) return name;
    if (t.dtype !== "float32" && t.dtype !== "float16" && t.dtype !== "bfloat16")
      throw new TypeError(`ONNX export: parameter ${base} is ${t.dtype}, not floating point`);
    const { data, dims } = torch.tidy(() => {
      const src = o.transpose ? t.detach().t().contiguous() : t.detach();
      return { data: src.dataSync(), dims: src.shape };
    });
    if (!(data instanceof Float32Array)) throw new TypeError(`ONNX export: parameter ${base} did not read back as float32`);
    this.initializers.set(name, { name, type: "float32", dims, data });
    if (key) this.#weights.set(key, name);
    return name;
  }

  /** An int64 constant (shapes, axes, indices), shared by value. */
  int64(values: number[], dims: number[] = [values.length]): string {
    return this.#constant(
      "int64",
      dims,
      BigInt64Array.from(values, (v) => BigInt(v)),
      values.join(","),
    );
  }

  /** A float32 constant, shared by value. */
  float32(values: number[], dims: number[] = [values.length]): string {
    return this.#constant("float32", dims, Float32Array.from(values), values.join(","));
  }

  #constant(type: ElemType, dims: number[], data: Initializer["data"], text: string): string {
    const key = `${type}[${dims.join("x")}]:${text}`;
    let name = this.#constants.get(key);
    if (!name) {
      name = this.fresh(`const_${type}`).slice(1);
      this.initializers.set(name, { name, type, dims, data });
      this.#constants.set(key, name);
    }
    return name;
  }

  /** Adds a node; returns its first output (or the names given in `outputs`). */
  op(opType: string, inputs: string[], attrs: Record<string, Attribute> = {}, outputs?: string[], domain?: string): string {
    const name = this.fresh(opType);
    const outs = outputs ?? [`${name}_output_0`];
    this.nodes.push({ opType, inputs, outputs: outs, attrs, name, domain });
    return outs[0];
  }

  /** A node with several outputs. */
  opN(opType: string, inputs: string[], n: number, attrs: Record<string, Attribute> = {}): string[] {
    const name = this.fresh(opType);
    const outs = Array.from({ length: n }, (_, i) => `${name}_output_${i}`);
    this.nodes.push({ opType, inputs, outputs: outs, attrs, name });
    return outs;
  }

  /** The encoded ModelProto. */
  encode(o: { producerVersion: string; docString?: string; metadata?: Record<string, string> }): Uint8Array {
    const valueInfo = (v: ValueInfo) => ({
      name: v.name,
      type: { tensorType: { elemType: DATA_TYPE[v.type], shape: { dim: v.dims.map((d) => (typeof d === "number" ? { dimValue: d } : { dimParam: d })) } } },
    });
    const domains = new Set(this.nodes.map((n) => n.domain ?? ""));
    const model = onnx.ModelProto.create({
      irVersion: 8,
      producerName: "finetune-ts",
      producerVersion: o.producerVersion,
      docString: o.docString,
      opsetImport: [...domains].map((domain) => ({ domain, version: domain === "" ? this.opset : 1 })),
      metadataProps: Object.entries(o.metadata ?? {}).map(([key, value]) => ({ key, value })),
      graph: {
        name: "main_graph",
        node: this.nodes.map((n) => ({
          name: n.name,
          opType: n.opType,
          domain: n.domain ?? "",
          input: n.inputs,
          output: n.outputs,
          attribute: Object.entries(n.attrs).map(([name, a]) => attributeProto(name, a)),
        })),
        initializer: [...this.initializers.values()].map((t) => ({
          name: t.name,
          dataType: DATA_TYPE[t.type],
          dims: t.dims,
          rawData: new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength),
        })),
        input: this.inputs.map(valueInfo),
        output: this.outputs.map(valueInfo),
      },
    });
    return onnx.ModelProto.encode(model).finish();
  }
}

function attributeProto(name: string, a: Attribute) {
  const T = onnx.AttributeProto.AttributeType;
  if ("f" in a) return { name, type: T.FLOAT, f: a.f };
  if ("i" in a) return { name, type: T.INT, i: a.i };
  if ("ints" in a) return { name, type: T.INTS, ints: a.ints };
  return { name, type: T.STRING, s: new TextEncoder().encode(a.s) };
}
