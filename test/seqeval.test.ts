// evaluate.load("seqeval") against the seqeval library itself (scripts/golden/seqeval_reference.py):
// per-entity precision/recall/F1/number and the overall scores, on evaluate's docstring example,
// suffix tags, odd tags (untyped, dashed types, IOBES, IOB1 starts), zero division either way, and
// CoNLL-2003's validation set (IOB2) and eng.testa (IOB1) against deterministic perturbations.
import { test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import * as evaluate from "../src/evaluate/index.js";
import type { SeqevalResult } from "../src/evaluate/index.js";
import { fixture, needs, repoRoot } from "./helpers.js";

interface Case {
  name: string;
  references?: string[][];
  predictions?: string[][];
  file?: string;
  options: { suffix?: boolean; zero_division?: 0 | 1 };
  result: Record<string, unknown>;
  identity?: Record<string, unknown>;
}
const cases = JSON.parse(readFileSync(fixture("golden", "seqeval.json"), "utf8")) as Case[];
const conll = join(repoRoot, "..", "shared", "data", "conll2003");
const noConll = needs("shared", existsSync(join(conll, "valid.txt")), "../shared/data/conll2003 is absent");

/** The golden script's read_conll: NER tags per sentence. */
function readConll(path: string): string[][] {
  const sentences: string[][] = [];
  let current: string[] = [];
  for (const line of readFileSync(path, "utf8").split("\n")) {
    if (!line || line.startsWith("-DOCSTART-")) {
      if (current.length) sentences.push(current);
      current = [];
      continue;
    }
    current.push(line.split(" ").at(-1)!);
  }
  if (current.length) sentences.push(current);
  return sentences;
}

/** The golden script's perturb(): the same mistakes at the same token positions. */
function perturb(sentences: string[][]): string[][] {
  const types = ["PER", "ORG", "LOC", "MISC"];
  let k = 0;
  return sentences.map((s) =>
    s.map((t0) => {
      let t = t0;
      if (t !== "O" && k % 17 === 3) t = "I" + t.slice(1);
      else if (t !== "O" && k % 23 === 5) t = t.slice(0, 2) + types[(types.indexOf(t.slice(2)) + 1) % 4];
      else if (t !== "O" && k % 29 === 7) t = "O";
      else if (t === "O" && k % 41 === 11) t = "B-" + types[k % 4];
      k++;
      return t;
    }),
  );
}

function same(got: SeqevalResult, want: Record<string, unknown>, what: string): void {
  assert.deepEqual(Object.keys(got), Object.keys(want), `${what}: keys (entity types sorted, then the overall scores)`);
  for (const [k, v] of Object.entries(want)) {
    const g = got[k];
    if (typeof v === "number") assert.ok(Math.abs((g as number) - v) <= 1e-12, `${what} ${k}: ${g} vs seqeval ${v}`);
    else {
      const e = v as Record<string, number>;
      const o = g as Record<string, number>;
      for (const f of ["precision", "recall", "f1", "number"]) assert.ok(Math.abs(o[f] - e[f]) <= 1e-12, `${what} ${k}.${f}: ${o[f]} vs seqeval ${e[f]}`);
    }
  }
}

const optionsOf = (c: Case) => ({ suffix: c.options.suffix, zeroDivision: c.options.zero_division });

test("seqeval: evaluate's example, suffix tags, odd tags and zero division equal the seqeval library's", async () => {
  for (const c of cases.filter((x) => x.references)) {
    const metric = await evaluate.load("seqeval");
    same(metric.compute({ predictions: c.predictions!, references: c.references!, ...optionsOf(c) }), c.result, c.name);
  }
  // addBatch then compute, as evaluate accumulates batches.
  const doc = cases[0];
  const metric = await evaluate.load("seqeval");
  metric.addBatch({ predictions: doc.predictions!.slice(0, 1), references: doc.references!.slice(0, 1) });
  metric.add({ prediction: doc.predictions![1], reference: doc.references![1] });
  same(metric.compute(), doc.result, "added in batches");
  const r = (await evaluate.load("seqeval")).compute({ predictions: doc.predictions!, references: doc.references! });
  const f1: number = r.overall_f1;
  assert.equal(f1, 0.5);
});

test("seqeval on CoNLL-2003: IOB2 validation and IOB1 eng.testa against perturbed predictions equal the seqeval library's", { skip: noConll }, async () => {
  for (const c of cases.filter((x) => x.file)) {
    const refs = readConll(join(conll, c.file!));
    const metric = await evaluate.load("seqeval");
    same(metric.compute({ predictions: perturb(refs), references: refs }), c.result, c.name);
    same(metric.compute({ predictions: refs, references: refs }), c.identity!, `${c.name}, identical`);
  }
});

test("seqeval: bad input names what is wrong", async () => {
  const metric = await evaluate.load("seqeval");
  assert.throws(() => metric.compute({ predictions: [["O"]], references: [["O", "O"]] }), /inconsistent numbers of samples:\n\[2\]\n\[1\]/);
  assert.throws(
    () => metric.compute({ predictions: [[1 as unknown as string]], references: [["O"]] }),
    /predictions must be a list of sentences, each a list of tag strings/,
  );
  assert.throws(() => metric.compute({ predictions: [], references: [] }), /no tags to score/);
  assert.throws(() => metric.compute({ predictions: [["O"]], references: [["O"]], mode: "strict" as never }), /mode "strict" .* is not supported/);
});
