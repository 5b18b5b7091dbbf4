// Misuses the type checker must refuse. Each line marked @ts-expect-error has to be a compile error:
// if one ever compiles, `npm run build:ts` (and so `npm test`) fails with "Unused '@ts-expect-error'
// directive". At run time, for JavaScript callers, each is also an error that names the field.
import { test } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";
import ts from "typescript";
import { repoRoot } from "./helpers.js";
import { TrainingArguments } from "../src/trainer/index.js";
import type { PreTrainedTokenizer } from "../src/tokenizers/index.js";
import type { PreTrainedModel } from "../src/models/index.js";
import type { Tensor } from "../src/torch/index.js";
import { loadDataset } from "../src/datasets/index.js";

test("TrainingArguments: a misspelt option, a wrong strategy, a string for a number, snake_case in the constructor do not compile", () => {
  // @ts-expect-error a misspelt option
  assert.throws(() => new TrainingArguments({ outputDir: "x", learningRte: 2e-5 }), /unknown field 'learningRte'/);
  // @ts-expect-error not one of "no" | "steps" | "epoch"
  assert.throws(() => new TrainingArguments({ outputDir: "x", evalStrategy: "epochs" }), /eval_strategy must be one of 'no', 'steps', 'epoch', got 'epochs'/);
  assert.throws(
    // @ts-expect-error a string where a number goes (fromDict checks types at run time)
    () => TrainingArguments.fromDict({ outputDir: "x", learningRate: "2e-5" }) && new TrainingArguments({ outputDir: "x", learningRate: "2e-5" }),
    /learningRate must be number/,
  );
  assert.throws(
    // @ts-expect-error snake_case names belong to fromDict/fromJSON
    () => new TrainingArguments({ output_dir: "x" }),
    /unknown field 'output_dir' \(HF's name for outputDir: pass it as outputDir, or the dict through TrainingArguments.fromDict\)/,
  );
  // What the course writes compiles and runs.
  const args = new TrainingArguments({ outputDir: "test-trainer", evalStrategy: "epoch", learningRate: 2e-5, numTrainEpochs: 3 });
  assert.equal(args.evalStrategy, "epoch");
});

// Type-checked only (the build fails if a marked line compiles): what a tokenizer call returns.
export function tokenizerTypes(tokenizer: PreTrainedTokenizer, model: PreTrainedModel): void {
  const pt = tokenizer(["a sentence", "another"], { padding: true, returnTensors: "pt" });
  const ids: Tensor = pt.input_ids;
  model.forward({ ...pt, labels: ids });
  const pair = tokenizer("first", "second", { returnTensors: "pt" });
  model.forward(pair);
  // @ts-expect-error without returnTensors the ids are plain arrays, not a Tensor
  const notTensor: Tensor = tokenizer("a sentence").input_ids;
  void notTensor;
  // Plain outputs follow the input's shape, and decode/convertIdsToTokens take them as they are.
  const one: number[] = tokenizer("a sentence", "its pair", { truncation: true }).input_ids;
  const many: number[][] = tokenizer(["a", "b"], ["c", "d"], { padding: true }).input_ids;
  const text: string = tokenizer.decode(one);
  const tokens: string[] = tokenizer.convertIdsToTokens(one);
  const texts: string[] = tokenizer.batchDecode(many);
  void [text, tokens, texts];
  // @ts-expect-error a batch's ids are number[][], not number[]
  const wrong: number[] = tokenizer(["a", "b"]).input_ids;
  void wrong;
}

// Type-checked only: GLUE's datasets carry their row type from the features.
export async function datasetTypes(tokenizer: PreTrainedTokenizer): Promise<void> {
  const raw = await loadDataset("glue", "mrpc");
  const first: string[] = raw.train.column("sentence1");
  const labels: number[] = raw["validation"].column("label");
  const enc = tokenizer(raw.train.column("sentence1"), raw.train.column("sentence2"), { truncation: true });
  const ids: number[][] = enc.input_ids;
  const tokenized = await raw.map((ex) => tokenizer(ex.sentence1, ex.sentence2, { truncation: true }), { batched: true });
  const tokenIds: number[][] = tokenized.train.column("input_ids");
  const sentences: string[] = tokenized.train.column("sentence1");
  void [first, labels, ids, tokenIds, sentences];
  // @ts-expect-error a misspelt split does not compile
  void raw.validaton;
  // @ts-expect-error nor a column the features do not have
  void raw.train.column("sentence3");
  // @ts-expect-error removed columns are gone from the type
  void tokenized.train.removeColumns(["sentence1", "sentence2", "idx"]).column("sentence1");
}

// Type-checked only: the course's lines after trainer.predict, the glue metric's result and a head's logits.
export async function courseResultTypes(
  trainer: import("../src/trainer/index.js").Trainer<import("../src/models/index.js").ModelWithOutput<import("../src/models/index.js").LogitsOutput>>,
  tokenizer: PreTrainedTokenizer,
): Promise<void> {
  const evaluate = await import("../src/evaluate/index.js");
  const { AutoModelForSequenceClassification } = await import("../src/models/index.js");
  const raw = await loadDataset("glue", "mrpc");
  const tokenized = await raw.map((ex) => tokenizer(ex.sentence1, ex.sentence2, { truncation: true }), { batched: true });
  const predictions = await trainer.predict(tokenized["validation"]);
  const shape: number[] = predictions.label_ids.shape;
  const metric = await evaluate.load("glue", "mrpc");
  const scores = metric.compute({ predictions: predictions.predictions.argmax(-1), references: predictions.labelIds });
  const accuracy: number = scores.accuracy;
  const f1: number = scores.f1;
  // @ts-expect-error mrpc's metric has no matthews_correlation
  void scores.matthews_correlation;
  const stsb: number = (await evaluate.load("glue", "stsb")).compute({ predictions: [1], references: [1] }).pearson;
  const model = await AutoModelForSequenceClassification.fromPretrained("bert-base-cased", { numLabels: 2 });
  const logits: Tensor = model.forward(tokenizer("a", "b", { returnTensors: "pt" })).logits;
  void [shape, accuracy, f1, stsb, logits];
  // An untyped dataset (csv) may have no labels: labelIds can be null.
  const csv = await loadDataset("csv", { dataFiles: "x.csv", split: "train" });
  // @ts-expect-error labelIds may be null for rows the type checker cannot know
  const maybe: Tensor = (await trainer.predict(csv)).labelIds;
  void maybe;
}

for (const example of ["mrpc.ts", "lora_mrpc.ts", "token_classification.ts", "question_answering.ts", "mlm_adaptation.ts", "causal_lm.ts", "sft_lora.ts"])
  test(`the course's program (examples/${example}) has no cast and no expression of type any`, () => {
    const file = join(repoRoot, "examples", example);
    const config = ts.readConfigFile(join(repoRoot, "tsconfig.json"), ts.sys.readFile);
    const parsed = ts.parseJsonConfigFileContent(config.config, ts.sys, repoRoot);
    const program = ts.createProgram([file], { ...parsed.options, noEmit: true, incremental: false, tsBuildInfoFile: undefined });
    const checker = program.getTypeChecker();
    const source = program.getSourceFile(file)!;
    const found: string[] = [];
    const visit = (node: ts.Node): void => {
      const where = () => `examples/${example}:${source.getLineAndCharacterOfPosition(node.getStart()).line + 1}: ${node.getText().slice(0, 60)}`;
      if (ts.isAsExpression(node) || ts.isTypeAssertionExpression(node) || ts.isNonNullExpression(node)) found.push(`cast ${where()}`);
      // Values only: an imported name or a type reference has no value type to ask about.
      const typePosition =
        node.parent &&
        (ts.isImportSpecifier(node.parent) || ts.isImportClause(node.parent) || ts.isNamespaceImport(node.parent) || ts.isTypeReferenceNode(node.parent));
      if (ts.isIdentifier(node) && !typePosition && checker.getTypeAtLocation(node).flags & ts.TypeFlags.Any) found.push(`any ${where()}`);
      ts.forEachChild(node, visit);
    };
    visit(source);
    assert.deepEqual(found, []);
    assert.deepEqual(
      ts.getPreEmitDiagnostics(program, source).map((d) => ts.flattenDiagnosticMessageText(d.messageText, "\n")),
      [],
    );
  });
