// Question answering as the course's chapter 7 does it, against scripts/golden/qa_postprocessing.py
// (the course's Python, with the independent reference tokenizer): the windows' offsets masked to the
// context, the answers' start/end tokens, and the postprocessing's chosen spans from the same logits;
// predict() giving a QA head's [start_logits, end_logits] padded across batches; the course's program.
import { test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { spawnSync } from "node:child_process";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as torch from "../src/torch/index.js";
import { AutoTokenizer } from "../src/tokenizers/index.js";
import { loadDataset, Dataset } from "../src/datasets/index.js";
import { AutoModelForQuestionAnswering } from "../src/models/index.js";
import { DataCollatorWithPadding, Trainer, TrainingArguments } from "../src/trainer/index.js";
import * as evaluate from "../src/evaluate/index.js";
import { fixture, needs, repoRoot } from "./helpers.js";

const shared = join(repoRoot, "..", "shared", "data");
const skip = needs("shared", existsSync(join(shared, "squad", "dev-v1.1.json")), "../shared/data is absent");
type Golden = {
  example_rows: number[];
  example_ids: string[];
  feature_example_ids: string[];
  offset_mapping: ([number, number] | null)[][];
  start_positions: number[];
  end_positions: number[];
  predictions: evaluate.SquadPrediction[];
};
const golden = JSON.parse(readFileSync(fixture("golden", "qa", "expected.json"), "utf8")) as Golden;

test("the course's windows: offsets masked to the context and the answer's tokens equal the Python golden", { skip }, async () => {
  const squad = await loadDataset("squad", { dataDir: join(shared, "squad"), split: "validation" });
  const rows = squad.select(golden.example_rows);
  assert.deepEqual(rows.column("id"), golden.example_ids);
  const tokenizer = await AutoTokenizer.fromPretrained(join(shared, "models", "bert-base-cased"));
  const inputs = tokenizer(
    rows.column("question").map((q) => q.trim()),
    rows.column("context"),
    { maxLength: 384, truncation: "only_second", stride: 128, returnOverflowingTokens: true, returnOffsetsMapping: true, padding: "max_length" },
  );
  const ids = rows.column("id");
  const answers = rows.column("answers");
  assert.deepEqual(
    inputs.overflow_to_sample_mapping.map((s) => ids[s]),
    golden.feature_example_ids,
  );
  inputs.offset_mapping.forEach((offsets, i) => {
    const seq = inputs.sequenceIds(i);
    assert.deepEqual(
      offsets.map((o, k) => (seq[k] === 1 ? o : null)),
      golden.offset_mapping[i],
      `window ${i}`,
    );
    // The answer's first and last tokens, as the course's loops find them (0, 0 when it is outside the window).
    const a = answers[inputs.overflow_to_sample_mapping[i]];
    const [startChar, endChar] = [a.answer_start[0], a.answer_start[0] + Array.from(a.text[0]).length];
    const ctx = seq.flatMap((s, k) => (s === 1 ? [k] : []));
    const inside = offsets[ctx[0]][0] <= startChar && offsets[ctx[ctx.length - 1]][1] >= endChar;
    const first = inside ? ctx.filter((k) => offsets[k][0] <= startChar).pop()! : 0;
    const last = inside ? ctx.filter((k) => offsets[k][1] >= endChar)[0] : 0;
    assert.deepEqual([first, last], [golden.start_positions[i], golden.end_positions[i]], `window ${i}: answer tokens`);
  });
});

test("the course's postprocessing picks the golden's spans from the same logits (n-best 20, at most 30 tokens)", { skip }, async () => {
  const squad = await loadDataset("squad", { dataDir: join(shared, "squad"), split: "validation" });
  const examples = squad.select(golden.example_rows);
  const logits = torch.loadFile(fixture("golden", "qa", "logits.safetensors"));
  const features = golden.feature_example_ids.map((id, i) => ({ example_id: id, offset_mapping: golden.offset_mapping[i] }));
  const predicted = evaluate.postprocessQaPredictions({ startLogits: logits.get("start_logits")!, endLogits: logits.get("end_logits")!, features, examples });
  assert.deepEqual(predicted, golden.predictions);
  // A window with nothing in the context answers "".
  const none = evaluate.postprocessQaPredictions({
    startLogits: torch.zeros([1, 4]),
    endLogits: torch.zeros([1, 4]),
    features: [{ example_id: "x", offset_mapping: [null, null, null, null] }],
    examples: [{ id: "x", context: "abc" }],
  });
  assert.deepEqual(none, [{ id: "x", prediction_text: "" }]);
  // Offsets count code points, as Python's: an astral character before the answer.
  const astral = evaluate.postprocessQaPredictions({
    startLogits: torch.tensor([[0, 5, 0]], { dtype: "float32" }),
    endLogits: torch.tensor([[0, 0, 5]], { dtype: "float32" }),
    features: [{ example_id: "y", offset_mapping: [null, [2, 5], [6, 11]] }],
    examples: [{ id: "y", context: "😀 fox jumps" }],
  });
  assert.deepEqual(astral, [{ id: "y", prediction_text: "fox jumps" }]);
  torch.dispose(logits);
});

test("predict() on a QA head gives [start_logits, end_logits], batches of different lengths padded with -100", { skip }, async () => {
  torch.manualSeed(0);
  const model = AutoModelForQuestionAnswering.fromConfig({
    model_type: "bert",
    vocab_size: 30,
    hidden_size: 8,
    num_hidden_layers: 1,
    num_attention_heads: 2,
    intermediate_size: 16,
  });
  const ds = Dataset.fromDict({
    input_ids: [
      [2, 5, 6, 3],
      [2, 7, 3],
      [2, 8, 9, 10, 11, 3],
      [2, 4, 3],
    ],
  });
  const tokenizer = await AutoTokenizer.fromPretrained(join(shared, "models", "bert-base-cased"));
  const trainer = new Trainer({
    model,
    args: new TrainingArguments({ outputDir: mkdtempSync(join(tmpdir(), "ft-qa-")), perDeviceEvalBatchSize: 2, reportTo: "none" }),
    dataCollator: new DataCollatorWithPadding({ tokenizer }),
  });
  const out = await trainer.predict(ds);
  const [start, end] = out.predictions;
  assert.deepEqual(
    [start.shape, end.shape],
    [
      [4, 6],
      [4, 6],
    ],
  );
  const row1 = (start.toArray() as number[][])[1];
  assert.deepEqual(row1.slice(4), [-100, -100], "the first batch (longest 4) is padded to the second's 6");
  model.eval();
  const direct = torch.noGrad(() => model.forward({ input_ids: torch.tensor([[2, 8, 9, 10, 11, 3]]) }));
  const row2 = (end.toArray() as number[][])[2];
  (direct.endLogits.toArray() as number[][])[0].forEach((v, k) => assert.ok(Math.abs(v - row2[k]) < 1e-5));
  torch.dispose([out.predictions, direct]);
});

test("the course's question answering program (examples/question_answering.ts) runs on SQuAD", { skip }, () => {
  const tiny = fixture("golden", "trainer", "tiny-bert-cased");
  const base = mkdtempSync(join(tmpdir(), "ft-qa-base-"));
  const weights = torch.loadFile(join(tiny, "model.safetensors"));
  torch.saveFile(new Map([...weights].filter(([k]) => !k.startsWith("classifier."))), join(base, "model.safetensors"));
  torch.dispose([...weights.values()]);
  const config = JSON.parse(readFileSync(join(tiny, "config.json"), "utf8")) as Record<string, unknown>;
  writeFileSync(join(base, "config.json"), JSON.stringify({ ...config, architectures: ["BertModel"], id2label: undefined, label2id: undefined }));
  const r = spawnSync(process.execPath, [join(repoRoot, "dist", "examples", "question_answering.js")], {
    env: {
      ...process.env,
      HF_DATASETS_CACHE: mkdtempSync(join(tmpdir(), "ft-qa-cache-")),
      SQUAD_DIR: join(shared, "squad"),
      CHECKPOINT: base,
      TOKENIZER: join(shared, "models", "bert-base-cased"),
      TRAIN_SPLIT: "validation",
      TRAIN_ROWS: "48",
      EVAL_ROWS: "40",
      MAX_STEPS: "6",
      OUTPUT_DIR: join(mkdtempSync(join(tmpdir(), "ft-qa-out-")), "squad"),
    },
    encoding: "utf8",
  });
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /Question: {2}Which NFL team represented the AFC at Super Bowl 50\?/);
  // The course's demo windows of the first context overlap by the stride.
  const windows = r.stdout.split("\n").filter((l) => l.startsWith("[CLS] Which NFL team represented the AFC at Super Bowl 50? [SEP]"));
  assert.ok(windows.length >= 3, `${windows.length} windows`);
  assert.match(r.stderr, /newly initialized: \['qa_outputs\.bias', 'qa_outputs\.weight'\]/);
  assert.match(r.stdout, /\[ 40, 384 \] \[ 40, 384 \]/, "one window per question here: the first 88 contexts fit in 384 tokens");
  const result = JSON.parse(r.stdout.trim().split("\n").pop()!) as evaluate.SquadResult;
  assert.ok(result.exact_match >= 0 && result.exact_match <= 100 && result.f1 >= result.exact_match, JSON.stringify(result));
});

test("loadDataset('squad') reads SQuAD's layout in HF's order and names an answer that is not in its context", async () => {
  const dir = mkdtempSync(join(tmpdir(), "ft-squad-"));
  const squadJson = (answerStart: number) => ({
    version: "1.1",
    data: [
      {
        title: "T",
        paragraphs: [{ context: "😀 The fox jumps.", qas: [{ id: "q1", question: "Who jumps?", answers: [{ text: "fox", answer_start: answerStart }] }] }],
      },
    ],
  });
  // answer_start counts code points: the emoji is one.
  writeFileSync(join(dir, "dev-v1.1.json"), JSON.stringify(squadJson(6)));
  const ok = await loadDataset("squad", { dataDir: dir, split: "validation", cacheDir: mkdtempSync(join(tmpdir(), "ft-squad-cache-")) });
  assert.deepEqual(ok.column("answers"), [{ text: ["fox"], answer_start: [6] }]);
  writeFileSync(join(dir, "dev-v1.1.json"), JSON.stringify(squadJson(7)));
  await assert.rejects(
    loadDataset("squad", { dataDir: dir, split: "validation", cacheDir: mkdtempSync(join(tmpdir(), "ft-squad-cache-")) }),
    /question q1: the answer "fox" is not in its context at answer_start 7 \(the context has "ox " there\)/,
  );
  await assert.rejects(loadDataset("squad", { dataDir: dir, split: "train" }), /train-v1\.1\.json is missing/);
});
