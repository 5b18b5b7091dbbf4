// evaluate's "seqeval" metric: entity-level precision, recall and F1 of sequence labelling, computed
// as the seqeval library's default (conlleval-compatible) mode does — get_entities with its
// end_of_chunk/start_of_chunk rules, so IOB1 and IOB2 (and IOE/IOBES tags) are read alike — per
// entity type and micro-averaged, plus token accuracy. Ported from seqeval 1.2.2's
// metrics/sequence_labeling.py and metrics/v1.py, and evaluate's metrics/seqeval/seqeval.py.

/** One entity type's scores, as evaluate's seqeval names them. */
export type EntityScores = {
  precision: number;
  recall: number;
  f1: number;
  number: number;
};
export type SeqevalResult = Record<string, EntityScores | number> & {
  overall_precision: number;
  overall_recall: number;
  overall_f1: number;
  overall_accuracy: number;
};

export interface SeqevalOptions {
  /** Tags written as TYPE-B instead of B-TYPE. */
  suffix?: boolean;
  /** "strict" needs seqeval's tagging schemes, not supported here; the default is conlleval's reading. */
  mode?: "default" | null;
  /** What a score with a zero denominator is: 0 or 1 ("warn": 0, with seqeval's warning). */
  zeroDivision?: "warn" | 0 | 1;
}

type Entity = [type: string, start: number, end: number];

function endOfChunk(prevTag: string, tag: string, prevType: string, type: string): boolean {
  if (prevTag === "E" || prevTag === "S") return true;
  if ((prevTag === "B" || prevTag === "I") && (tag === "B" || tag === "S" || tag === "O")) return true;
  return prevTag !== "O" && prevTag !== "." && prevType !== type;
}

function startOfChunk(prevTag: string, tag: string, prevType: string, type: string): boolean {
  if (tag === "B" || tag === "S") return true;
  if ((prevTag === "E" || prevTag === "S" || prevTag === "O") && (tag === "E" || tag === "I")) return true;
  return tag !== "O" && tag !== "." && prevType !== type;
}

/** seqeval's get_entities: (type, start, end) of each chunk, the sentences joined with an O between them. */
export function getEntities(sequences: string[][], suffix = false): Entity[] {
  const seq = sequences.flatMap((s) => [...s, "O"]);
  const chunks: Entity[] = [];
  let prevTag = "O";
  let prevType = "";
  let begin = 0;
  [...seq, "O"].forEach((chunk, i) => {
    const tag = suffix ? chunk.slice(-1) : chunk.slice(0, 1);
    let type: string;
    if (suffix) {
      // Python's chunk[:-1].rsplit('-', maxsplit=1)[0]: everything before the last '-'.
      const head = chunk.slice(0, -1);
      const at = head.lastIndexOf("-");
      type = at < 0 ? head : head.slice(0, at);
    } else {
      // Python's chunk[1:].split('-', maxsplit=1)[-1]: after the first '-', or the rest when there is none.
      const rest = chunk.slice(1);
      const at = rest.indexOf("-");
      type = at < 0 ? rest : rest.slice(at + 1);
    }
    type ||= "_";
    if (endOfChunk(prevTag, tag, prevType, type)) chunks.push([prevType, begin, i - 1]);
    if (startOfChunk(prevTag, tag, prevType, type)) begin = i;
    prevTag = tag;
    prevType = type;
  });
  return chunks;
}

function checkSequences(predictions: unknown, references: unknown): [string[][], string[][]] {
  const check = (x: unknown, what: string): string[][] => {
    if (!Array.isArray(x) || !x.every((s) => Array.isArray(s) && s.every((t) => typeof t === "string"))) {
      throw new TypeError(`seqeval: ${what} must be a list of sentences, each a list of tag strings (e.g. [["B-PER", "I-PER", "O"]])`);
    }
    return x as string[][];
  };
  const p = check(predictions, "predictions");
  const r = check(references, "references");
  const lp = p.map((s) => s.length);
  const lr = r.map((s) => s.length);
  if (p.length !== r.length || lp.some((n, i) => n !== lr[i])) {
    throw new RangeError(`seqeval: Found input variables with inconsistent numbers of samples:\n${JSON.stringify(lr)}\n${JSON.stringify(lp)}`);
  }
  return [p, r];
}

/** evaluate.load("seqeval"): compute({ predictions, references }) over sentences of tags, or add them batch by batch. */
export class Seqeval {
  readonly name = "seqeval";
  readonly configName = "default";
  #predictions: string[][] = [];
  #references: string[][] = [];

  /** Adds one sentence's predicted and true tags. */
  add(o: { prediction: string[]; reference: string[] }): void {
    this.addBatch({ predictions: [o.prediction], references: [o.reference] });
  }

  addBatch(o: { predictions: string[][]; references: string[][] }): void {
    const [p, r] = checkSequences(o.predictions, o.references);
    this.#predictions.push(...p);
    this.#references.push(...r);
  }

  compute(args: { predictions?: string[][]; references?: string[][] } & SeqevalOptions = {}): SeqevalResult {
    const { predictions, references, ...options } = args;
    let p = this.#predictions;
    let r = this.#references;
    if (predictions !== undefined || references !== undefined) {
      const [np, nr] = checkSequences(predictions, references);
      p = p.concat(np);
      r = r.concat(nr);
    }
    this.#predictions = [];
    this.#references = [];
    return seqevalScores(p, r, options);
  }

  toString(): string {
    return `EvaluationModule(name: "seqeval", module_type: "metric", config_name: "default")`;
  }
}

/** evaluate's seqeval _compute: seqeval's classification_report per type and micro average, and accuracy_score. */
export function seqevalScores(predictions: string[][], references: string[][], o: SeqevalOptions = {}): SeqevalResult {
  if (o.mode !== undefined && o.mode !== null && o.mode !== "default") {
    throw new Error(
      `seqeval: mode ${JSON.stringify(o.mode)} (seqeval's strict mode with a tagging scheme) is not supported; the default mode reads tags as conlleval does`,
    );
  }
  const zero = o.zeroDivision ?? "warn";
  if (zero !== "warn" && zero !== 0 && zero !== 1) throw new TypeError(`seqeval: zeroDivision must be "warn", 0 or 1, got ${JSON.stringify(zero)}`);
  const byType = (entities: Entity[]) => {
    const m = new Map<string, Set<string>>();
    for (const [type, s, e] of entities) {
      if (!m.has(type)) m.set(type, new Set());
      m.get(type)!.add(`${s},${e}`);
    }
    return m;
  };
  const truth = byType(getEntities(references, o.suffix ?? false));
  const pred = byType(getEntities(predictions, o.suffix ?? false));
  const types = [...new Set([...truth.keys(), ...pred.keys()])].sort();
  let warned = false;
  const divide = (n: number, d: number, what: string) => {
    if (d > 0) return n / d;
    if (zero === "warn" && !warned) {
      warned = true;
      console.warn(
        `UndefinedMetricWarning: ${what} is ill-defined and being set to 0.0 in labels with no ${what === "Precision" ? "predicted" : "true"} samples. Use \`zero_division\` parameter to control this behavior.`,
      );
    }
    return zero === 1 ? 1 : 0;
  };
  const f1 = (p: number, r: number) => (p + r === 0 ? 0 : (2 * p * r) / (p + r));
  const out: Record<string, EntityScores | number> = {};
  let tpAll = 0;
  let predAll = 0;
  let trueAll = 0;
  for (const type of types) {
    const t = truth.get(type) ?? new Set<string>();
    const pr = pred.get(type) ?? new Set<string>();
    const tp = [...pr].filter((x) => t.has(x)).length;
    tpAll += tp;
    predAll += pr.size;
    trueAll += t.size;
    const precision = divide(tp, pr.size, "Precision");
    const recall = divide(tp, t.size, "Recall");
    out[type] = { precision, recall, f1: f1(precision, recall), number: t.size };
  }
  const precision = divide(tpAll, predAll, "Precision");
  const recall = divide(tpAll, trueAll, "Recall");
  const flatP = predictions.flat();
  const flatR = references.flat();
  if (!flatR.length) throw new RangeError("seqeval: there are no tags to score (the accuracy would divide by zero)");
  return {
    ...out,
    overall_precision: precision,
    overall_recall: recall,
    overall_f1: f1(precision, recall),
    overall_accuracy: flatR.filter((t, i) => t === flatP[i]).length / flatR.length,
  } as SeqevalResult;
}
