// finetune-ts/tokenizers: AutoTokenizer and what HF's PreTrainedTokenizerFast adds.
export { AutoTokenizer, type FromPretrainedOptions } from "./auto.js";
export {
  PreTrainedTokenizer,
  VERY_LARGE_INTEGER,
  type EncodeOptions,
  type BatchEncoding,
  type TensorEncoding,
  type Encoding,
  type OverflowEncoding,
  type TextInput,
  type PaddingStrategy,
} from "./tokenizer.js";
export { type TruncationStrategy } from "./truncation.js";
export { type ChatMessage, type ChatTemplateOptions } from "./chat_template.js";
