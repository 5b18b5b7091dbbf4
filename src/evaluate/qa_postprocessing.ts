// The course's question-answering postprocessing (chapter 7, "Question answering", compute_metrics):
// for each example, every window (feature) of its context proposes the spans of its nBest best start
// and end logits that lie in the context, end after start and are at most maxAnswerLength tokens
// long; the span with the largest start + end logit wins, and its text is cut from the context through
// the offsets (code points, as Python's). An example with no valid span answers "".
import type { Tensor } from "../torch/index.js";
import type { SquadPrediction } from "./squad.js";

type Offsets = ([number, number] | null)[];
/** Rows with these columns: a Dataset (anything with column()) or an array of objects. */
type Rows<T> = { column(name: string): unknown[] } | T[];

function columnOf<T>(rows: Rows<T>, name: keyof T & string): unknown[] {
  if (Array.isArray(rows)) return rows.map((r) => r[name]);
  return rows.column(name);
}

/** The indices of the n largest values, largest first (numpy's argsort(x)[-1:-n-1:-1]: a tie puts the later index first). */
function topIndices(values: Float32Array, start: number, length: number, n: number): number[] {
  const idx = Array.from({ length }, (_, i) => i);
  idx.sort((a, b) => values[start + b] - values[start + a] || b - a);
  return idx.slice(0, n);
}

export interface QaPostprocessingOptions {
  /** [windows, sequence length] start and end logits: predict()'s pair for a QA head. */
  startLogits: Tensor;
  endLogits: Tensor;
  /** The windows, as the course's preprocess_validation_examples makes them: example_id, and offset_mapping with null outside the context. */
  features: Rows<{ example_id: string; offset_mapping: Offsets }>;
  /** The examples: id and context. */
  examples: Rows<{ id: string; context: string }>;
  nBest?: number;
  maxAnswerLength?: number;
}

/** The course's compute_metrics before the metric: one { id, prediction_text } per example, in the examples' order. */
export function postprocessQaPredictions(o: QaPostprocessingOptions): SquadPrediction[] {
  const nBest = o.nBest ?? 20;
  const maxAnswerLength = o.maxAnswerLength ?? 30;
  const [windows, length] = o.startLogits.shape;
  if (o.startLogits.ndim !== 2 || o.endLogits.shape.join() !== o.startLogits.shape.join()) {
    throw new RangeError(
      `postprocessQaPredictions: start and end logits must both be [windows, length], got [${o.startLogits.shape}] and [${o.endLogits.shape}]`,
    );
  }
  const featureIds = columnOf(o.features, "example_id") as string[];
  const offsets = columnOf(o.features, "offset_mapping") as Offsets[];
  if (featureIds.length !== windows) throw new RangeError(`postprocessQaPredictions: ${featureIds.length} features but logits for ${windows} windows`);
  const start = o.startLogits.float().contiguous().dataSync() as Float32Array;
  const end = o.endLogits.float().contiguous().dataSync() as Float32Array;
  const exampleToFeatures = new Map<string, number[]>();
  featureIds.forEach((id, i) => {
    if (!exampleToFeatures.has(id)) exampleToFeatures.set(id, []);
    exampleToFeatures.get(id)!.push(i);
  });
  const ids = columnOf(o.examples, "id") as string[];
  const contexts = columnOf(o.examples, "context") as string[];
  return ids.map((exampleId, e) => {
    const context = contexts[e];
    let best: { from: number; to: number; score: number } | null = null;
    for (const f of exampleToFeatures.get(exampleId) ?? []) {
      const offset = offsets[f];
      if (offset.length > length) throw new RangeError(`postprocessQaPredictions: feature ${f} has ${offset.length} offsets for logits of length ${length}`);
      const base = f * length;
      for (const s of topIndices(start, base, length, nBest)) {
        for (const t of topIndices(end, base, length, nBest)) {
          // Skip answers that are not fully in the context, or of a length < 0 or > maxAnswerLength.
          const a = offset[s];
          const b = offset[t];
          if (!a || !b) continue;
          if (t < s || t - s + 1 > maxAnswerLength) continue;
          // numpy adds the two float32 logits in float32; the first of equal scores wins, as max() keeps it.
          const score = Math.fround(start[base + s] + end[base + t]);
          if (best === null || score > best.score) best = { from: a[0], to: b[1], score };
        }
      }
    }
    return { id: exampleId, prediction_text: best ? sliceCodePoints(context, best.from, best.to) : "" };
  });
}

/** Python's context[from:to]: offsets count code points, and a JavaScript string counts UTF-16 units. */
export function sliceCodePoints(text: string, from: number, to: number): string {
  if (!/[\uD800-\uDFFF]/.test(text)) return text.slice(from, to);
  return Array.from(text).slice(from, to).join("");
}
