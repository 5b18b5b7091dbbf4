// evaluate's "squad" metric against the official SQuAD v1.1 evaluation run in Python
// (scripts/golden/squad_reference.py): every question of SQuAD dev's first articles with predictions
// exact, cut, padded, re-cased, wrong, empty and missing; and the Unicode edges where Python's regex
// and str.split() differ from JavaScript's.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import * as evaluate from "../src/evaluate/index.js";
import { fixture } from "./helpers.js";

type Golden = {
  references: evaluate.SquadReference[];
  predictions: evaluate.SquadPrediction[];
  expected: evaluate.SquadResult;
  per_question: ([number, number] | null)[];
  edges: [string, string][];
  edge_scores: [number, number, string][];
};
const golden = JSON.parse(readFileSync(fixture("golden", "squad.json"), "utf8")) as Golden;

test("squad: exact match and F1 equal the official v1.1 script over SQuAD dev questions, unanswered ones scoring 0", async () => {
  const squad = await evaluate.load("squad");
  const byId = new Map(golden.predictions.map((p) => [p.id, p]));
  golden.references.forEach((r, i) => {
    const want = golden.per_question[i];
    if (!want) return;
    const one = evaluate.squadScores([byId.get(r.id)!], [r]);
    assert.equal(one.exact_match, want[0] * 100, `${r.id} exact match`);
    assert.ok(Math.abs(one.f1 - want[1] * 100) < 1e-9, `${r.id} f1 ${one.f1} vs ${want[1] * 100}`);
  });
  // evaluate takes predictions and references of one length: the unanswered ones get another question's id.
  const answered = new Set(golden.predictions.map((p) => p.id));
  const missing = golden.references.filter((r) => !answered.has(r.id)).map((_, k) => ({ id: `not-a-question-${k}`, prediction_text: "x" }));
  const errors: string[] = [];
  const saved = console.error;
  console.error = (m: string) => errors.push(m);
  try {
    squad.addBatch({ predictions: golden.predictions.slice(0, 100), references: golden.references.slice(0, 100) });
    const got = squad.compute({ predictions: golden.predictions.slice(100).concat(missing), references: golden.references.slice(100) });
    assert.ok(Math.abs(got.exact_match - golden.expected.exact_match) < 1e-9, `exact_match ${got.exact_match} vs ${golden.expected.exact_match}`);
    assert.ok(Math.abs(got.f1 - golden.expected.f1) < 1e-9, `f1 ${got.f1} vs ${golden.expected.f1}`);
  } finally {
    console.error = saved;
  }
  assert.equal(errors.length, missing.length);
  assert.match(errors[0], /^Unanswered question \w+ will receive score 0\.$/);
});

test("squad: normalization follows Python (Unicode word boundaries, str.split whitespace, ASCII punctuation only)", () => {
  golden.edges.forEach(([p, g], i) => {
    const [em, f1, normalized] = golden.edge_scores[i];
    assert.equal(evaluate.normalizeAnswer(p), normalized, `normalize ${JSON.stringify(p)}`);
    const s = evaluate.squadScores([{ id: "q", prediction_text: p }], [{ id: "q", answers: { text: [g], answer_start: [0] } }]);
    assert.equal(s.exact_match, em * 100, `em ${JSON.stringify(p)} vs ${JSON.stringify(g)}`);
    assert.ok(Math.abs(s.f1 - f1 * 100) < 1e-9, `f1 ${JSON.stringify(p)} vs ${JSON.stringify(g)}: ${s.f1} vs ${f1 * 100}`);
  });
});

test("squad: bad input is named", async () => {
  const squad = await evaluate.load("squad");
  assert.throws(() => squad.compute({ predictions: [{ id: "a", prediction_text: "x" }], references: [] }), /different lengths \(1 and 0\)/);
  assert.throws(
    () => squad.compute({ predictions: [{ id: "a", prediction_text: "x" }], references: [{ id: "a", answers: { text: [], answer_start: [] } }] }),
    /reference a has no answer text/,
  );
  assert.throws(
    () => squad.compute({ predictions: [{ id: "a", text: "x" } as unknown as evaluate.SquadPrediction], references: [{ id: "a", answers: { text: ["x"] } }] }),
    /prediction 0 must be \{ id: string, prediction_text: string \}/,
  );
});
