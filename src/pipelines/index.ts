// finetune-ts/pipelines: using a fine-tuned model, as transformers' pipeline() does.
export { pipeline, type PipelineTask, type PipelineOptions } from "./pipeline.js";
export {
  TextClassificationPipeline,
  type TextClassificationInput,
  type TextClassificationOptions,
  type TextPair,
  type LabelScore,
} from "./text_classification.js";
export {
  TokenClassificationPipeline,
  type AggregationStrategy,
  type TokenEntity,
  type EntityGroup,
  type TokenClassificationOptions,
} from "./token_classification.js";
export { QuestionAnsweringPipeline, type QuestionAnsweringInput, type QuestionAnsweringResult, type QuestionAnsweringOptions } from "./question_answering.js";
export { FillMaskPipeline, type FillMaskResult, type FillMaskOptions } from "./fill_mask.js";
export { TextGenerationPipeline, type TextGenerationOptions, type GeneratedText, type GeneratedChat } from "./text_generation.js";
