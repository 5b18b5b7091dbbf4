// evaluate's "squad" metric: exact match and F1 of extractive answers, as the official SQuAD v1.1
// script (evaluate-v1.1.py) computes them — answers normalized (lowercase, ASCII punctuation removed,
// the articles a/an/the removed as whole words, whitespace collapsed), each prediction scored against
// its best ground truth, averaged over the references and scaled to 100. Python's semantics are kept
// where JavaScript's differ: `\b` and `\w` are Unicode-aware there, and str.split() splits on
// Python's whitespace (str.isspace), not JavaScript's \s.

export type SquadPrediction = { id: string; prediction_text: string };
export type SquadReference = { id: string; answers: { text: string[]; answer_start?: number[] } };
export type SquadResult = { exact_match: number; f1: number };

// string.punctuation
const PUNCTUATION = new Set("!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~");
// re's \b(a|an|the)\b with str patterns: a word character is a letter, a number or '_' (Unicode).
const ARTICLES = /(?<![\p{L}\p{N}_])(?:a|an|the)(?![\p{L}\p{N}_])/gu;
// str.isspace(): the characters Python's str.split() splits on.
const PY_WHITESPACE = /[\t\n\v\f\r\x1c-\x1f \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]+/;

const pySplit = (s: string): string[] => s.split(PY_WHITESPACE).filter((w) => w.length > 0);

/** evaluate-v1.1.py's normalize_answer: white_space_fix(remove_articles(remove_punc(lower(s)))). */
export function normalizeAnswer(s: string): string {
  const lower = s.toLowerCase();
  const noPunc = Array.from(lower)
    .filter((c) => !PUNCTUATION.has(c))
    .join("");
  return pySplit(noPunc.replace(ARTICLES, " ")).join(" ");
}

/** evaluate-v1.1.py's f1_score: token overlap (a multiset intersection) of the normalized answers. */
export function squadF1(prediction: string, groundTruth: string): number {
  const p = pySplit(normalizeAnswer(prediction));
  const g = pySplit(normalizeAnswer(groundTruth));
  const counts = new Map<string, number>();
  for (const t of g) counts.set(t, (counts.get(t) ?? 0) + 1);
  let same = 0;
  for (const t of p) {
    const n = counts.get(t) ?? 0;
    if (n > 0) {
      same++;
      counts.set(t, n - 1);
    }
  }
  if (same === 0) return 0;
  const precision = same / p.length;
  const recall = same / g.length;
  return (2 * precision * recall) / (precision + recall);
}

export function squadExactMatch(prediction: string, groundTruth: string): number {
  return normalizeAnswer(prediction) === normalizeAnswer(groundTruth) ? 1 : 0;
}

/** evaluate's squad _compute: the predictions by id, scored over every reference (a question without a prediction scores 0). */
export function squadScores(predictions: SquadPrediction[], references: SquadReference[]): SquadResult {
  const byId = new Map(predictions.map((p) => [p.id, p.prediction_text]));
  let em = 0;
  let f1 = 0;
  for (const ref of references) {
    const prediction = byId.get(ref.id);
    if (prediction === undefined) {
      console.error(`Unanswered question ${ref.id} will receive score 0.`);
      continue;
    }
    const truths = ref.answers.text;
    em += Math.max(...truths.map((t) => squadExactMatch(prediction, t)));
    f1 += Math.max(...truths.map((t) => squadF1(prediction, t)));
  }
  if (!references.length) throw new RangeError("squad: there are no references to score (the averages would divide by zero)");
  return { exact_match: (100 * em) / references.length, f1: (100 * f1) / references.length };
}

function checkInputs(predictions: unknown, references: unknown): [SquadPrediction[], SquadReference[]] {
  if (!Array.isArray(predictions) || !Array.isArray(references)) throw new TypeError("squad: predictions and references must be arrays");
  if (predictions.length !== references.length) {
    throw new RangeError(`squad: predictions and references have different lengths (${predictions.length} and ${references.length})`);
  }
  predictions.forEach((p: SquadPrediction, i) => {
    if (typeof p?.id !== "string" || typeof p.prediction_text !== "string") {
      throw new TypeError(`squad: prediction ${i} must be { id: string, prediction_text: string }, got ${JSON.stringify(p)}`);
    }
  });
  references.forEach((r: SquadReference, i) => {
    if (typeof r?.id !== "string" || !Array.isArray(r.answers?.text) || r.answers.text.some((t) => typeof t !== "string")) {
      throw new TypeError(`squad: reference ${i} must be { id: string, answers: { text: string[], answer_start: number[] } }, got ${JSON.stringify(r)}`);
    }
    if (r.answers.text.length === 0) throw new RangeError(`squad: reference ${r.id} has no answer text (SQuAD v1.1 questions all have one)`);
  });
  return [predictions, references];
}

/** evaluate.load("squad"): compute({ predictions, references }) or add them batch by batch. */
export class Squad {
  readonly name = "squad";
  readonly configName = "default";
  #predictions: SquadPrediction[] = [];
  #references: SquadReference[] = [];

  add(o: { prediction: SquadPrediction; reference: SquadReference }): void {
    this.addBatch({ predictions: [o.prediction], references: [o.reference] });
  }

  addBatch(o: { predictions: SquadPrediction[]; references: SquadReference[] }): void {
    const [p, r] = checkInputs(o.predictions, o.references);
    this.#predictions.push(...p);
    this.#references.push(...r);
  }

  compute(args: { predictions?: SquadPrediction[]; references?: SquadReference[] } = {}): SquadResult {
    let p = this.#predictions;
    let r = this.#references;
    if (args.predictions !== undefined || args.references !== undefined) {
      const [np, nr] = checkInputs(args.predictions, args.references);
      p = p.concat(np);
      r = r.concat(nr);
    }
    this.#predictions = [];
    this.#references = [];
    return squadScores(p, r);
  }

  toString(): string {
    return `EvaluationModule(name: "squad", module_type: "metric", config_name: "default")`;
  }
}
