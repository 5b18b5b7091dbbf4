// finetune-ts/trl: what TRL adds for supervised fine-tuning (packing and the padding-free collator, so far).
export { packDataset, packBfd, packWrapped, type PackingStrategy } from "./data_utils.js";
export { DataCollatorForLanguageModeling, type SftDataCollatorOptions } from "./collator.js";
