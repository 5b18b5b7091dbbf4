// finetune-ts/trl: what TRL adds for supervised fine-tuning (packing, so far).
export { packDataset, packBfd, packWrapped, type PackingStrategy } from "./data_utils.js";
