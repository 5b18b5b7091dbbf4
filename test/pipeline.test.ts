// pipeline("text-classification") on a fine-tuned model folder: HF's output shape ([{ label, score }]),
// labels from id2label, scores equal to softmax(logits) computed here from the model, pairs, batches,
// topK, and errors for bad input.
import { test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as torch from "../src/torch/index.js";
import { AutoTokenizer } from "../src/tokenizers/index.js";
import { AutoModelForSequenceClassification, setWarningSink, type PreTrainedModel } from "../src/models/index.js";
import { pipeline } from "../src/pipelines/index.js";
import { fixture, repoRoot, needs } from "./helpers.js";

const shared = join(repoRoot, "..", "shared", "data");
const noShared = needs("shared", existsSync(join(shared, "models", "bert-base-cased")), "../shared/data is absent");

test("text-classification: [{ label, score }] from id2label, softmax of the model's logits, pairs, batches, topK", { skip: noShared }, async () => {
  const dir = mkdtempSync(join(tmpdir(), "ft-pipeline-"));
  setWarningSink(() => {});
  const model = (await AutoModelForSequenceClassification.fromPretrained(fixture("golden", "trainer", "tiny-bert-cased"), {
    id2label: { "0": "not_equivalent", "1": "equivalent" },
    label2id: { not_equivalent: 0, equivalent: 1 },
  })) as PreTrainedModel;
  setWarningSink(null);
  const tokenizer = await AutoTokenizer.fromPretrained(join(shared, "models", "bert-base-cased"));
  model.savePretrained(dir);
  tokenizer.savePretrained(dir);

  const classifier = await pipeline("text-classification", dir);
  const expected = (a: string, b?: string) =>
    torch.tidy(() => {
      const enc = tokenizer(a, b ?? null, { returnTensors: "pt" });
      return (
        model
          .forward({
            input_ids: enc.input_ids as torch.Tensor,
            attention_mask: enc.attention_mask as torch.Tensor,
            token_type_ids: enc.token_type_ids as torch.Tensor,
          })
          .logits!.softmax(-1)
          .toArray() as number[][]
      )[0];
    });
  const one = classifier("The cat sat on the mat.");
  const want = expected("The cat sat on the mat.");
  const best = want[1] > want[0] ? 1 : 0;
  assert.deepEqual(
    one.map((r) => r.label),
    [best ? "equivalent" : "not_equivalent"],
  );
  assert.ok(Math.abs(one[0].score - want[best]) < 1e-6);

  const pair = classifier({ text: "He said hello.", textPair: "He greeted them." }, { topK: null });
  const wantPair = expected("He said hello.", "He greeted them.");
  assert.equal(pair.length, 2, "topK null: every label, best first");
  assert.ok(pair[0].score >= pair[1].score);
  assert.ok(Math.abs(pair.find((r) => r.label === "equivalent")!.score - wantPair[1]) < 1e-6);
  assert.ok(Math.abs(pair[0].score + pair[1].score - 1) < 1e-6);

  // A batch (with padding inside) gives the same scores as one at a time.
  const texts = ["short", "a rather longer sentence than the first one", "mid length text"];
  const batched = classifier(texts, { topK: null, batchSize: 2 });
  texts.forEach((t, i) => {
    const alone = classifier(t, { topK: null });
    for (const r of alone) assert.ok(Math.abs(batched[i].find((x) => x.label === r.label)!.score - r.score) < 1e-5, `${t}: ${r.label}`);
  });
  assert.throws(() => classifier([{ text: "a", textPair: "b" }, { text: "c" }]), /give every input a textPair, or none/);
  assert.throws(() => classifier(42 as never), /input 0 must be a string or \{ text, textPair \}/);
  await assert.rejects(pipeline("summarization" as never, dir), /task 'summarization' is not supported/);
});
