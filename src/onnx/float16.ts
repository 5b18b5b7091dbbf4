// fp32 → fp16 graph, as onnxconverter-common's float16 converter with keep_io_types: every float
// constant stored and computed in half precision, the float outputs cast back to float32 so callers
// read the same types. onnxruntime runs it on CPU too (it casts around ops it has no fp16 kernel for).
import { DATA_TYPE, type OnnxGraph } from "./graph.js";

const FP16_MAX = 65504;

/** IEEE half bits of a float32, round to nearest even; beyond ±65504 clamped (the fp32 mask minimum becomes fp16's). */
export function toHalfBits(v: number): number {
  const x = Math.max(-FP16_MAX, Math.min(FP16_MAX, v));
  const f32 = new Float32Array([x]);
  const bits = new Uint32Array(f32.buffer)[0];
  const sign = (bits >>> 16) & 0x8000;
  const exp = (bits >>> 23) & 0xff;
  let mant = bits & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant ? 0x200 : 0); // NaN stays NaN
  let e = exp - 127 + 15;
  if (e <= 0) {
    // Subnormal half (or zero): shift the implicit 1 in, round to nearest even.
    if (e < -10) return sign;
    mant |= 0x800000;
    const shift = 14 - e;
    const half = 1 << (shift - 1);
    const rest = mant & ((1 << shift) - 1);
    let m = mant >>> shift;
    if (rest > half || (rest === half && m & 1)) m++;
    return sign | m;
  }
  let m = mant >>> 13;
  const rest = mant & 0x1fff;
  if (rest > 0x1000 || (rest === 0x1000 && m & 1)) {
    m++;
    if (m === 0x400) {
      m = 0;
      e++;
    }
  }
  return sign | (e << 10) | m;
}

export function convertToFloat16(g: OnnxGraph): void {
  for (const t of g.initializers.values()) {
    if (t.type !== "float32") continue;
    const src = t.data as Float32Array;
    t.data = Uint16Array.from(src, toHalfBits);
    t.type = "float16";
  }
  for (const n of g.nodes) {
    const to = n.attrs.to;
    if (n.opType === "Cast" && to && "i" in to && to.i === DATA_TYPE.float32) n.attrs.to = { i: DATA_TYPE.float16 };
  }
  for (const out of g.outputs) {
    if (out.type !== "float32") continue;
    const producer = g.nodes.find((n) => n.outputs.includes(out.name));
    if (!producer) throw new Error(`ONNX export: no node gives output ${out.name}`);
    const half = `${out.name}_fp16`;
    producer.outputs = producer.outputs.map((o) => (o === out.name ? half : o));
    g.op("Cast", [half], { to: { i: DATA_TYPE.float32 } }, [out.name]);
  }
}
