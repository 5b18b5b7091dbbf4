// finetune-ts's Trainer layer: TrainingArguments, Trainer, collators, callbacks.
export { DataCollatorWithPadding, DataCollatorForTokenClassification, type Features, type Batch } from "./data_collator.js";
export { DataCollatorForLanguageModeling, DataCollatorForWholeWordMask, type DataCollatorForLanguageModelingOptions } from "./language_modeling_collator.js";
export { TrainingArguments, type TrainingArgumentsInit, type IntervalStrategy, type SaveStrategy } from "./training_args.js";
export {
  Trainer,
  type TrainerInit,
  type TrainOutput,
  type PredictionOutput,
  type PredictionOutputFor,
  type EvalPrediction,
  type ComputeMetrics,
  type Predictions,
} from "./trainer.js";
export { TrainerCallback, TrainerControl, TrainerState, EarlyStoppingCallback, type LogEntry } from "./trainer_callback.js";
export { TensorBoardWriter, crc32c } from "./tensorboard.js";
