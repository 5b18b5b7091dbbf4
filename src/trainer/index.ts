// The Trainer layer (so far: its data collator).
export { DataCollatorWithPadding, type Features, type Batch } from "./data_collator.js";
