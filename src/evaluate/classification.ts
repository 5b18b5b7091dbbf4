// Classification metrics with scikit-learn's definitions (accuracy_score, precision/recall/f1 with
// binary, micro, macro and weighted averages, matthews_corrcoef).

export type Average = "binary" | "micro" | "macro" | "weighted" | null;
export interface ScoreOptions {
  average?: Average;
  posLabel?: number;
  labels?: number[];
  sampleWeight?: number[];
  /** The value where a ratio is 0/0 (sklearn's zero_division: "warn" gives 0 too). */
  zeroDivision?: 0 | 1;
}

function weights(n: number, w: number[] | undefined): number[] {
  if (w && w.length !== n) throw new RangeError(`sampleWeight has ${w.length} values for ${n} samples`);
  return w ?? new Array(n).fill(1);
}

export function accuracy(p: number[], r: number[], o: { normalize?: boolean; sampleWeight?: number[] } = {}): number {
  const w = weights(p.length, o.sampleWeight);
  let hit = 0;
  let total = 0;
  for (let i = 0; i < p.length; i++) {
    if (p[i] === r[i]) hit += w[i];
    total += w[i];
  }
  return o.normalize === false ? hit : total === 0 ? 0 : hit / total;
}

function counts(p: number[], r: number[], labels: number[], w: number[]): { tp: number[]; fp: number[]; fn: number[] } {
  const idx = new Map(labels.map((l, i) => [l, i]));
  const tp = labels.map(() => 0);
  const fp = labels.map(() => 0);
  const fn = labels.map(() => 0);
  for (let i = 0; i < p.length; i++) {
    const pi = idx.get(p[i]);
    const ri = idx.get(r[i]);
    if (p[i] === r[i]) {
      if (pi !== undefined) tp[pi] += w[i];
    } else {
      if (pi !== undefined) fp[pi] += w[i];
      if (ri !== undefined) fn[ri] += w[i];
    }
  }
  return { tp, fp, fn };
}

const ratio = (a: number, b: number, z: number) => (b === 0 ? z : a / b);

/** precision, recall and F-beta per sklearn's precision_recall_fscore_support. */
export function prfs(
  p: number[],
  r: number[],
  o: ScoreOptions = {},
  beta = 1,
): { precision: number | number[]; recall: number | number[]; f: number | number[] } {
  const average = o.average === undefined ? "binary" : o.average;
  const z = o.zeroDivision ?? 0;
  const present = [...new Set([...r, ...p])].sort((a, b) => a - b);
  let labels = o.labels ?? present;
  if (average === "binary") {
    if (present.length > 2) {
      throw new Error("Target is multiclass but average='binary'. Please choose another average setting, one of [None, 'micro', 'macro', 'weighted'].");
    }
    const pos = o.posLabel ?? 1;
    if (present.length && !present.includes(pos) && present.length === 2) {
      throw new Error(`pos_label=${pos} is not a valid label. It should be one of ${JSON.stringify(present)}`);
    }
    labels = [pos];
  }
  const w = weights(p.length, o.sampleWeight);
  let { tp, fp, fn } = counts(p, r, labels, w);
  if (average === "micro") {
    tp = [tp.reduce((a, b) => a + b, 0)];
    fp = [fp.reduce((a, b) => a + b, 0)];
    fn = [fn.reduce((a, b) => a + b, 0)];
  }
  const b2 = beta * beta;
  const precision = tp.map((t, i) => ratio(t, t + fp[i], z));
  const recall = tp.map((t, i) => ratio(t, t + fn[i], z));
  const f = tp.map((t, i) => {
    const denom = (1 + b2) * t + b2 * fn[i] + fp[i];
    return denom === 0 ? z : ((1 + b2) * t) / denom;
  });
  if (average === null) return { precision, recall, f };
  if (average === "weighted") {
    const support = tp.map((t, i) => t + fn[i]);
    const total = support.reduce((a, b) => a + b, 0);
    const avg = (xs: number[]) => (total === 0 ? z : xs.reduce((a, x, i) => a + x * support[i], 0) / total);
    return { precision: avg(precision), recall: avg(recall), f: avg(f) };
  }
  const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
  return { precision: mean(precision), recall: mean(recall), f: mean(f) };
}

/** matthews_corrcoef, from the confusion matrix (multiclass too); 0 when undefined. */
export function matthews(p: number[], r: number[], o: { sampleWeight?: number[] } = {}): number {
  const w = weights(p.length, o.sampleWeight);
  const labels = [...new Set([...r, ...p])].sort((a, b) => a - b);
  const idx = new Map(labels.map((l, i) => [l, i]));
  const t = labels.map(() => 0);
  const q = labels.map(() => 0);
  let c = 0;
  let s = 0;
  for (let i = 0; i < p.length; i++) {
    t[idx.get(r[i])!] += w[i];
    q[idx.get(p[i])!] += w[i];
    if (p[i] === r[i]) c += w[i];
    s += w[i];
  }
  const dot = (a: number[], b: number[]) => a.reduce((acc, x, i) => acc + x * b[i], 0);
  const cov = c * s - dot(t, q);
  const denom = Math.sqrt((s * s - dot(q, q)) * (s * s - dot(t, t)));
  return denom === 0 ? 0 : cov / denom;
}
