// What every pipeline does around its model call: the tokenizer's encoding of one text (or a batch)
// as the tensors the model reads (only the tokenizer's model input names), and the forward in eval
// mode without gradients, the model's mode restored after.
import * as torch from "../torch/index.js";
import type { Tensor } from "../torch/index.js";
import type { PreTrainedTokenizer } from "../tokenizers/index.js";
import type { PreTrainedModel } from "../models/index.js";

/** The encoding's model inputs as int64 tensors: a row ([ids]) for one text, as they are for a batch. */
export function modelInputs(tokenizer: PreTrainedTokenizer, enc: Record<string, unknown>, one: boolean): Record<string, Tensor> {
  return Object.fromEntries(
    Object.entries(enc)
      .filter(([name]) => tokenizer.modelInputNames.includes(name))
      .map(([name, v]) => [name, torch.tensor(one ? [v as number[]] : (v as number[][]))]),
  );
}

/** fn in the model's eval mode, without gradients, in a tensor scope; the model's mode restored after. */
export function inference<T>(model: PreTrainedModel, fn: () => T): T {
  const wasTraining = model.training;
  model.eval();
  try {
    return torch.noGrad(() => torch.tidy(fn));
  } finally {
    if (wasTraining) model.train();
  }
}
