// finetune-ts/trl: TRL's supervised fine-tuning: SFTConfig, SFTTrainer, dataset preparation, packing and the padding-free collator.
export { packDataset, packBfd, packWrapped, type PackingStrategy } from "./data_utils.js";
export { DataCollatorForLanguageModeling, type SftDataCollatorOptions } from "./collator.js";
export { SFTConfig, type SFTConfigInit } from "./sft_config.js";
export { SFTTrainer, hasGenerationMarkers, tokenStats, type SFTTrainerInit } from "./sft_trainer.js";
export { prepareSftDataset, isConversational, isConversationalFromValue, maybeConvertToChatml, type SftPrepareOptions } from "./sft_dataset.js";
