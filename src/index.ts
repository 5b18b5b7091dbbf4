// finetune-ts: the course's workflow in TypeScript. Layers: finetune-ts/torch, /nn, /optim, /hub, /tokenizers.
export { AutoTokenizer, PreTrainedTokenizer, type BatchEncoding, type TensorEncoding, type EncodeOptions } from "./tokenizers/index.js";
export {
  DataCollatorWithPadding,
  DataCollatorForTokenClassification,
  DataCollatorForLanguageModeling,
  DataCollatorForWholeWordMask,
  TrainingArguments,
  Trainer,
  TrainerCallback,
  EarlyStoppingCallback,
  type EvalPrediction,
  type TrainOutput,
  type PredictionOutput,
} from "./trainer/index.js";
export {
  AutoConfig,
  AutoModel,
  AutoModelForSequenceClassification,
  AutoModelForTokenClassification,
  AutoModelForQuestionAnswering,
  AutoModelForMaskedLM,
  AutoModelForCausalLM,
  PretrainedConfig,
  PreTrainedModel,
  setVerbosity,
  type LogLevel,
} from "./models/index.js";
export {
  pipeline,
  TextClassificationPipeline,
  TokenClassificationPipeline,
  QuestionAnsweringPipeline,
  FillMaskPipeline,
  TextGenerationPipeline,
  type LabelScore,
  type TextPair,
} from "./pipelines/index.js";
export { exportOnnx, type OnnxDtype } from "./export/index.js";
export { LoraConfig, getPeftModel, PeftModel, type LoraConfigOptions } from "./peft/index.js";
