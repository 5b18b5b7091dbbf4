// finetune-ts/models: configs, the Auto classes, and the BERT family.
export { PretrainedConfig, type ProblemType } from "./configuration_utils.js";
export {
  PreTrainedModel,
  type ModelInputs,
  type ModelOutput,
  type LogitsOutput,
  type QuestionAnsweringOutput,
  type BaseModelOutput,
  type ModelWithOutput,
  type ForwardOptions,
  type FromPretrainedOptions,
  type LoadingInfo,
} from "./modeling_utils.js";
export {
  AutoConfig,
  AutoModel,
  AutoModelForSequenceClassification,
  AutoModelForTokenClassification,
  AutoModelForQuestionAnswering,
  AutoModelForMaskedLM,
  fromPretrainedArchitecture,
} from "./auto.js";
export * from "./bert/modeling_bert.js";
export * from "./distilbert/modeling_distilbert.js";
export * from "./roberta/modeling_roberta.js";
export * from "./modernbert/modeling_modernbert.js";
export { loadPytorchBin } from "./pytorch_bin.js";
export { setVerbosity, setWarningSink, isEnabledFor, type Level as LogLevel } from "./logging.js";
