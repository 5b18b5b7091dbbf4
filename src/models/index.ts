// finetune-ts/models: configs, the Auto classes, the encoders (BERT family, ModernBERT) and the decoders (GPT-2, the Llama family).
export { PretrainedConfig, type ProblemType } from "./configuration_utils.js";
export {
  PreTrainedModel,
  type ModelInputs,
  type ModelOutput,
  type LogitsOutput,
  type QuestionAnsweringOutput,
  type BaseModelOutput,
  type ModelWithOutput,
  type HeadOutput,
  type ForwardOptions,
  type FromPretrainedOptions,
  type LoadingInfo,
} from "./modeling_utils.js";
export { causalLmLoss } from "./causal_lm.js";
export {
  AutoConfig,
  AutoModel,
  AutoModelForSequenceClassification,
  AutoModelForTokenClassification,
  AutoModelForQuestionAnswering,
  AutoModelForMaskedLM,
  AutoModelForCausalLM,
  fromPretrainedArchitecture,
} from "./auto.js";
export * from "./bert/modeling_bert.js";
export * from "./distilbert/modeling_distilbert.js";
export * from "./roberta/modeling_roberta.js";
export * from "./modernbert/modeling_modernbert.js";
export * from "./gpt2/modeling_gpt2.js";
export * from "./llama/modeling_llama.js";
export { GradientCheckpointingLayer } from "./gradient_checkpointing.js";
export * from "./qwen2/modeling_qwen2.js";
export * from "./qwen3/modeling_qwen3.js";
export * from "./mistral/modeling_mistral.js";
export { generate, generationDefaults, TextIteratorStreamer, type GenerationOptions, type GenerationMixin, type Streamer } from "./generation.js";
export { ropeParameters, inverseFrequencies, RotaryEmbedding, ROPE_TYPES, type RopeParameters, type RopeType } from "./rope_utils.js";
export { loadPytorchBin } from "./pytorch_bin.js";
export { setVerbosity, setWarningSink, isEnabledFor, type Level as LogLevel } from "./logging.js";
