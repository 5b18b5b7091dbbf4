// Dynamic int8 quantization, as onnxruntime's quantize_dynamic does it by default (QInt8 weights,
// symmetric, per tensor, constant weights only). Each MatMul on a weight becomes
//   DynamicQuantizeLinear(x) → MatMulInteger(x_q, W_q, x_zp, 0) → Cast → Mul(x_scale · W_scale)
// so the weight is stored in int8 and the activations are quantized to uint8 at run time; each
// embedding lookup (Gather on a table no other node reads) gathers int8 rows and dequantizes them,
// which is what makes a small model's file about four times smaller (its embeddings dominate).
import { DATA_TYPE, type Initializer, type Node, type OnnxGraph } from "./graph.js";

/** Symmetric int8 of a weight: scale = max|w| / 127, values round(w / scale) (half to even, as numpy) in [-127, 127]. */
export function quantizeSymmetricInt8(w: Float32Array): { q: Int8Array; scale: number } {
  let absmax = 0;
  for (const v of w) absmax = Math.max(absmax, Math.abs(v));
  // onnxruntime's compute_scale_zp: a range too small for a float scale quantizes with scale 1.
  const s = Math.fround((2 * absmax) / 254);
  const scale = s < 1.1754943508222875e-38 ? 1 : s;
  const q = new Int8Array(w.length);
  for (let i = 0; i < w.length; i++) q[i] = Math.max(-127, Math.min(127, roundHalfEven(Math.fround(w[i] / scale))));
  return { q, scale };
}

function roundHalfEven(x: number): number {
  const r = Math.round(x);
  return Math.abs(x % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

export function quantizeDynamicInt8(g: OnnxGraph): { quantized: number } {
  const out: Node[] = [];
  let quantized = 0;
  const replaced = new Set<string>();
  const readers = new Map<string, number>();
  for (const n of g.nodes) for (const i of n.inputs) readers.set(i, (readers.get(i) ?? 0) + 1);
  /** The int8 copy of a 2-D float weight (made once), or undefined for anything else. */
  const quantized8 = (name: string | undefined): string | undefined => {
    const w = name === undefined ? undefined : g.initializers.get(name);
    if (!w || w.type !== "float32" || w.dims.length !== 2) return undefined;
    const base = w.name;
    if (!replaced.has(base)) {
      const { q, scale } = quantizeSymmetricInt8(w.data as Float32Array);
      const put = (t: Initializer) => g.initializers.set(t.name, t);
      put({ name: `${base}_quantized`, type: "int8", dims: w.dims, data: q });
      put({ name: `${base}_scale`, type: "float32", dims: [], data: Float32Array.of(scale) });
      put({ name: `${base}_zero_point`, type: "int8", dims: [], data: Int8Array.of(0) });
      replaced.add(base);
    }
    return base;
  };
  for (const n of g.nodes) {
    if (n.opType === "Gather" && readers.get(n.inputs[0]) === 1) {
      const base = quantized8(n.inputs[0]);
      if (base) {
        const rows = `${n.name}_int8`;
        out.push({ ...n, inputs: [`${base}_quantized`, n.inputs[1]], outputs: [rows] });
        out.push({
          opType: "DequantizeLinear",
          inputs: [rows, `${base}_scale`, `${base}_zero_point`],
          outputs: n.outputs,
          attrs: {},
          name: `${n.name}_dequantize`,
        });
        continue;
      }
    }
    const base = n.opType === "MatMul" ? quantized8(n.inputs[1]) : undefined;
    if (!base) {
      out.push(n);
      continue;
    }
    const x = n.inputs[0];
    const stem = n.name;
    const [xq, xScale, xZp] = [`${stem}_x_quantized`, `${stem}_x_scale`, `${stem}_x_zero_point`];
    out.push({ opType: "DynamicQuantizeLinear", inputs: [x], outputs: [xq, xScale, xZp], attrs: {}, name: `${stem}_quant` });
    out.push({
      opType: "MatMulInteger",
      inputs: [xq, `${base}_quantized`, xZp, `${base}_zero_point`],
      outputs: [`${stem}_int32`],
      attrs: {},
      name: `${stem}_MatMulInteger`,
    });
    out.push({ opType: "Cast", inputs: [`${stem}_int32`], outputs: [`${stem}_float`], attrs: { to: { i: DATA_TYPE.float32 } }, name: `${stem}_cast` });
    out.push({ opType: "Mul", inputs: [xScale, `${base}_scale`], outputs: [`${stem}_scale`], attrs: {}, name: `${stem}_scale_mul` });
    out.push({ opType: "Mul", inputs: [`${stem}_float`, `${stem}_scale`], outputs: n.outputs, attrs: {}, name: `${stem}_output_mul` });
    quantized++;
  }
  g.nodes = out;
  // A float weight no other node reads is dropped (the quantized copy replaces it).
  const used = new Set(out.flatMap((n) => n.inputs));
  for (const name of replaced) if (!used.has(name)) g.initializers.delete(name);
  return { quantized };
}
