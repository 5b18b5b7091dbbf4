// transformers' pipeline(task, model): the task's pipeline over a model folder or hub name (loaded with
// the task's Auto class), or over a loaded model with its tokenizer.
import { AutoTokenizer, type PreTrainedTokenizer } from "../tokenizers/index.js";
import {
  AutoModelForMaskedLM,
  AutoModelForQuestionAnswering,
  AutoModelForSequenceClassification,
  AutoModelForTokenClassification,
  AutoModelForCausalLM,
  type GenerationMixin,
  type PreTrainedModel,
} from "../models/index.js";
import { TextClassificationPipeline } from "./text_classification.js";
import { TokenClassificationPipeline, type AggregationStrategy } from "./token_classification.js";
import { QuestionAnsweringPipeline } from "./question_answering.js";
import { FillMaskPipeline } from "./fill_mask.js";
import { TextGenerationPipeline } from "./text_generation.js";

export type PipelineTask =
  "text-classification" | "sentiment-analysis" | "token-classification" | "ner" | "question-answering" | "fill-mask" | "text-generation";
const TASKS: PipelineTask[] = [
  "text-classification",
  "sentiment-analysis",
  "token-classification",
  "ner",
  "question-answering",
  "fill-mask",
  "text-generation",
];

export interface PipelineOptions {
  tokenizer?: string | PreTrainedTokenizer;
  /** token-classification: the default aggregation of calls that name none. */
  aggregationStrategy?: AggregationStrategy;
}

export async function pipeline(
  task: "text-classification" | "sentiment-analysis",
  model: string | PreTrainedModel,
  o?: PipelineOptions,
): Promise<TextClassificationPipeline>;
export async function pipeline(
  task: "token-classification" | "ner",
  model: string | PreTrainedModel,
  o?: PipelineOptions,
): Promise<TokenClassificationPipeline>;
export async function pipeline(task: "question-answering", model: string | PreTrainedModel, o?: PipelineOptions): Promise<QuestionAnsweringPipeline>;
export async function pipeline(task: "fill-mask", model: string | PreTrainedModel, o?: PipelineOptions): Promise<FillMaskPipeline>;
export async function pipeline(
  task: "text-generation",
  model: string | (PreTrainedModel & GenerationMixin),
  o?: PipelineOptions,
): Promise<TextGenerationPipeline>;
export async function pipeline(
  task: PipelineTask,
  model: string | PreTrainedModel,
  o: PipelineOptions = {},
): Promise<TextClassificationPipeline | TokenClassificationPipeline | QuestionAnsweringPipeline | FillMaskPipeline | TextGenerationPipeline> {
  if (!TASKS.includes(task)) throw new Error(`pipeline: task '${task as string}' is not supported (${TASKS.join(", ")})`);
  const load = async (): Promise<PreTrainedModel> => {
    if (typeof model !== "string") return model;
    switch (task) {
      case "token-classification":
      case "ner":
        return AutoModelForTokenClassification.fromPretrained(model);
      case "question-answering":
        return AutoModelForQuestionAnswering.fromPretrained(model);
      case "fill-mask":
        return AutoModelForMaskedLM.fromPretrained(model);
      case "text-generation":
        return AutoModelForCausalLM.fromPretrained(model);
      default:
        return AutoModelForSequenceClassification.fromPretrained(model);
    }
  };
  const m = await load();
  const tokenizerSource = o.tokenizer ?? (typeof model === "string" ? model : model.nameOrPath);
  if (!tokenizerSource) throw new Error("pipeline: give the tokenizer ({ tokenizer }) for a model loaded without a name or path");
  const tokenizer = typeof tokenizerSource === "string" ? await AutoTokenizer.fromPretrained(tokenizerSource) : tokenizerSource;
  switch (task) {
    case "token-classification":
    case "ner":
      return new TokenClassificationPipeline(m, tokenizer, { aggregationStrategy: o.aggregationStrategy });
    case "question-answering":
      return new QuestionAnsweringPipeline(m, tokenizer);
    case "fill-mask":
      return new FillMaskPipeline(m, tokenizer);
    case "text-generation":
      return new TextGenerationPipeline(m as PreTrainedModel & GenerationMixin, tokenizer);
    default:
      return new TextClassificationPipeline(m, tokenizer);
  }
}
