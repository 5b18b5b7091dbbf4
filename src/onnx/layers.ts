// The basic layers as ONNX nodes, each computing what its module's forward computes in eval mode
// (dropout is the identity there, so it has no node). The architectures' onnx() methods use these.
import type { Embedding, LayerNorm, Linear } from "../nn/index.js";
import { float, int, ints, type OnnxGraph } from "./graph.js";

/** x·Wᵀ + b as MatMul on the weight stored [in, out] (the form onnxruntime's quantizer rewrites) + Add. */
export function linear(g: OnnxGraph, m: Linear, x: string): string {
  const y = g.op("MatMul", [x, g.weight(m.weight, { transpose: true })]);
  return m.bias ? g.op("Add", [y, g.weight(m.bias)]) : y;
}

export function embedding(g: OnnxGraph, m: Embedding, ids: string): string {
  return g.op("Gather", [g.weight(m.weight), ids], { axis: int(0) });
}

/** LayerNormalization from opset 17; below it, the same mean/variance arithmetic in plain ops. */
export function layerNorm(g: OnnxGraph, m: LayerNorm, x: string): string {
  if (m.normalizedShape.length !== 1) throw new Error("ONNX export: LayerNorm over more than the last dimension is not supported");
  const w = m.weight ? g.weight(m.weight) : g.float32(new Array<number>(m.normalizedShape[0]).fill(1));
  const b = m.bias ? g.weight(m.bias) : undefined;
  if (g.opset >= 17) return g.op("LayerNormalization", b ? [x, w, b] : [x, w], { axis: int(-1), epsilon: float(m.eps) });
  const mean = g.op("ReduceMean", [x], { axes: ints([-1]) });
  const d = g.op("Sub", [x, mean]);
  const variance = g.op("ReduceMean", [g.op("Mul", [d, d])], { axes: ints([-1]) });
  const normed = g.op("Div", [d, g.op("Sqrt", [g.op("Add", [variance, g.float32([m.eps], [])])])]);
  const scaled = g.op("Mul", [normed, w]);
  return b ? g.op("Add", [scaled, b]) : scaled;
}

/** HF's ACT2FN by name: exact GELU as Erf (or the Gelu op from opset 20), the tanh form, relu, tanh, silu. */
export function activation(g: OnnxGraph, name: string, x: string): string {
  switch (name) {
    case "gelu":
      if (g.opset >= 20) return g.op("Gelu", [x]);
      return g.op("Mul", [
        g.op("Mul", [x, g.float32([0.5], [])]),
        g.op("Add", [g.op("Erf", [g.op("Div", [x, g.float32([Math.SQRT2], [])])]), g.float32([1], [])]),
      ]);
    case "gelu_new":
    case "gelu_pytorch_tanh": {
      if (g.opset >= 20) return g.op("Gelu", [x], { approximate: { s: "tanh" } });
      const cube = g.op("Mul", [g.op("Mul", [x, x]), x]);
      const inner = g.op("Mul", [g.op("Add", [x, g.op("Mul", [cube, g.float32([0.044715], [])])]), g.float32([Math.sqrt(2 / Math.PI)], [])]);
      return g.op("Mul", [g.op("Mul", [x, g.float32([0.5], [])]), g.op("Add", [g.op("Tanh", [inner]), g.float32([1], [])])]);
    }
    case "relu":
      return g.op("Relu", [x]);
    case "tanh":
      return g.op("Tanh", [x]);
    case "silu":
    case "swish":
      return g.op("Mul", [x, g.op("Sigmoid", [x])]);
    default:
      throw new Error(`ONNX export: activation '${name}' is not supported (gelu, gelu_new, relu, tanh, silu)`);
  }
}

/** [B, L, H] → [B, heads, L, H/heads] (or, with `keyT`, [B, heads, H/heads, L] for q·kᵀ). */
export function splitHeads(g: OnnxGraph, x: string, heads: number, headDim: number, keyT = false): string {
  const r = g.op("Reshape", [x, g.int64([0, 0, heads, headDim])]);
  return g.op("Transpose", [r], { perm: ints(keyT ? [0, 2, 3, 1] : [0, 2, 1, 3]) });
}

/** [B, heads, L, d] → [B, L, heads·d]. */
export function mergeHeads(g: OnnxGraph, x: string): string {
  return g.op("Reshape", [g.op("Transpose", [x], { perm: ints([0, 2, 1, 3]) }), g.int64([0, 0, -1])]);
}

/** The token at `index` along the sequence: x[:, index]. */
export function selectToken(g: OnnxGraph, x: string, index: number): string {
  return g.op("Gather", [x, g.int64([index], [])], { axis: int(1) });
}

/** arange(sequence length) as [1, L] int64, from the ids' shape. */
export function positions(g: OnnxGraph, ids: string): string {
  const len = g.op("Gather", [g.op("Shape", [ids]), g.int64([1], [])], { axis: int(0) });
  const range = g.op("Range", [g.int64([0], []), len, g.int64([1], [])]);
  return g.op("Unsqueeze", [range, g.int64([0])]);
}

/** The batch's dynamic axes as HF's exporter names them. */
export const BATCH_SEQ = ["batch_size", "sequence_length"];

/** A QA head's [B, L, 2] logits as the exporter's two outputs, start_logits and end_logits. */
export function questionAnsweringOutputs(g: OnnxGraph, both: string): void {
  const [start, end] = g.opN("Split", [both, g.int64([1, 1])], 2, { axis: int(-1) });
  const axis = g.int64([-1]);
  g.output("start_logits", g.op("Squeeze", [start, axis]), "float32", BATCH_SEQ);
  g.output("end_logits", g.op("Squeeze", [end, axis]), "float32", BATCH_SEQ);
}

/** An output projection tied to the word embeddings: the weight is stored once (as the embeddings) and transposed in the graph. */
export function tiedProjection(g: OnnxGraph, m: Linear, x: string): string {
  const y = g.op("MatMul", [x, g.op("Transpose", [g.weight(m.weight)], { perm: ints([1, 0]) })]);
  return m.bias ? g.op("Add", [y, g.weight(m.bias)]) : y;
}
