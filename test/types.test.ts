// Misuses the type checker must refuse. Each line marked @ts-expect-error has to be a compile error:
// if one ever compiles, `npm run build:ts` (and so `npm test`) fails with "Unused '@ts-expect-error'
// directive". At run time, for JavaScript callers, each is also an error that names the field.
import { test } from "node:test";
import assert from "node:assert/strict";
import { TrainingArguments } from "../src/trainer/index.js";
import type { PreTrainedTokenizer } from "../src/tokenizers/index.js";
import type { PreTrainedModel } from "../src/models/index.js";
import type { Tensor } from "../src/torch/index.js";

test("TrainingArguments: a misspelt option, a wrong strategy, a string for a number, snake_case in the constructor do not compile", () => {
  // @ts-expect-error a misspelt option
  assert.throws(() => new TrainingArguments({ outputDir: "x", learningRte: 2e-5 }), /unknown field 'learningRte'/);
  // @ts-expect-error not one of "no" | "steps" | "epoch"
  assert.throws(() => new TrainingArguments({ outputDir: "x", evalStrategy: "epochs" }), /eval_strategy must be one of 'no', 'steps', 'epoch', got 'epochs'/);
  // @ts-expect-error a string where a number goes (fromDict checks types at run time)
  assert.throws(() => TrainingArguments.fromDict({ outputDir: "x", learningRate: "2e-5" }) && new TrainingArguments({ outputDir: "x", learningRate: "2e-5" }), /learningRate must be number/);
  // @ts-expect-error snake_case names belong to fromDict/fromJSON
  assert.throws(() => new TrainingArguments({ output_dir: "x" }), /unknown field 'output_dir' \(HF's name for outputDir: pass it as outputDir, or the dict through TrainingArguments.fromDict\)/);
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
