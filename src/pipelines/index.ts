// finetune-ts/pipelines: using a fine-tuned model, as transformers' pipeline() does.
export {
  pipeline,
  TextClassificationPipeline,
  type TextClassificationInput,
  type TextClassificationOptions,
  type TextPair,
  type LabelScore,
} from "./text_classification.js";
