// Metrics equal scikit-learn's and scipy's (fixtures from scripts/golden/metrics.py) on fixed and
// random inputs; evaluate.load("glue", config) gives HF's metric set per task.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import * as evaluate from "../src/evaluate/index.js";
import * as torch from "../src/torch/index.js";
import { fixture } from "./helpers.js";

type Case = Record<string, unknown> & { name: string; predictions: number[]; references: number[]; sample_weight?: number[] };
const golden = JSON.parse(readFileSync(fixture("golden", "metrics.json"), "utf8")) as { classification: Case[]; regression: Case[] };
const close = (a: unknown, b: unknown, what: string) => assert.ok(Math.abs((a as number) - (b as number)) <= 1e-12, `${what}: ${a} != ${b}`);

test("accuracy, f1, precision, recall (binary, posLabel, micro, macro, weighted) and MCC equal scikit-learn", async () => {
  for (const c of golden.classification) {
    const args = { predictions: c.predictions, references: c.references, sample_weight: c.sample_weight };
    close((await evaluate.load("accuracy")).compute(args).accuracy, c.accuracy, `${c.name} accuracy`);
    close((await evaluate.load("matthews_correlation")).compute(args).matthews_correlation, c.matthews_correlation, `${c.name} mcc`);
    for (const avg of ["binary", "micro", "macro", "weighted"]) {
      if (!(`f1_${avg}` in c)) continue;
      for (const m of ["f1", "precision", "recall"] as const) {
        const scores: Record<string, unknown> = (await evaluate.load(m)).compute({ ...args, average: avg });
        const got = scores[m] as number;
        close(got, c[`${m}_${avg}`], `${c.name} ${m} ${avg}`);
      }
    }
    if ("f1_binary_pos0" in c) close((await evaluate.load("f1")).compute({ ...args, pos_label: 0 }).f1, c.f1_binary_pos0, `${c.name} f1 pos_label 0`);
  }
});

test("pearsonr and spearmanr (with ties) equal scipy", async () => {
  for (const c of golden.regression) {
    close((await evaluate.load("pearsonr")).compute(c).pearsonr, c.pearsonr, `${c.name} pearsonr`);
    close((await evaluate.load("spearmanr")).compute(c).spearmanr, c.spearmanr, `${c.name} spearmanr`);
  }
});

test('evaluate.load("glue", config): each task\'s metrics; Tensors and addBatch work', async () => {
  const bin = golden.classification[0];
  const mrpc = await evaluate.load("glue", "mrpc");
  const out = mrpc.compute({ predictions: bin.predictions, references: bin.references });
  assert.deepEqual(Object.keys(out), ["accuracy", "f1"]);
  close(out.accuracy, bin.accuracy, "mrpc accuracy");
  close(out.f1, bin.f1_binary, "mrpc f1");
  assert.deepEqual(Object.keys((await evaluate.load("glue", "qqp")).compute(bin)), ["accuracy", "f1"]);
  assert.deepEqual(Object.keys((await evaluate.load("glue", "cola")).compute(bin)), ["matthews_correlation"]);
  assert.deepEqual(Object.keys((await evaluate.load("glue", "stsb")).compute(golden.regression[0])), ["pearson", "spearmanr"]);
  for (const t of ["sst2", "mnli", "mnli_mismatched", "mnli_matched", "qnli", "rte", "wnli", "hans"] as const) {
    assert.deepEqual(Object.keys((await evaluate.load("glue", t)).compute(bin)), ["accuracy"], t);
  }
  await assert.rejects(evaluate.load("glue", "mrcp"), /You should supply a configuration name selected in \["sst2", "mnli", .*"hans"\]/);
  await assert.rejects(evaluate.load("bleurt"), /Unknown metric 'bleurt'/);

  // Tensors in, as computeMetrics gets them: logits.argmax(-1) and label ids.
  const logits = torch.tensor([
    [0.1, 0.9],
    [0.8, 0.2],
    [0.3, 0.7],
  ]);
  const labels = torch.tensor([1, 0, 0]);
  const viaTensors = mrpc.compute({ predictions: logits.argmax(-1), references: labels });
  assert.deepEqual(viaTensors, { accuracy: 2 / 3, f1: 2 / 3 });
  torch.dispose([logits, labels]);

  // addBatch accumulates until compute, which then starts over.
  const acc = await evaluate.load("accuracy");
  acc.addBatch({ predictions: [1, 0], references: [1, 1] });
  acc.add({ prediction: 1, reference: 1 });
  assert.deepEqual(acc.compute(), { accuracy: 2 / 3 });
  assert.throws(() => acc.compute({ predictions: [1, 2], references: [1] }), /Mismatch in the number of predictions \(2\) and references \(1\)/);
  assert.throws(() => acc.compute({ predictions: "01" as never, references: [0, 1] }), /predictions must be an array, a typed array or a Tensor/);
  await assert.rejects(
    async () => (await evaluate.load("f1")).compute({ predictions: [0, 1, 2], references: [0, 1, 2] }),
    /Target is multiclass but average='binary'/,
  );
  assert.match(String(mrpc), /EvaluationModule\(name: "glue", module_type: "metric", config_name: "mrpc"\)/);
});
