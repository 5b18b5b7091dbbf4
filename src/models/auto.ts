// The Auto classes: pick the architecture by config.json's model_type, as transformers' Auto* do.
import { join } from "node:path";
import { PretrainedConfig, loadConfigJson, readConfigJson, type Json } from "./configuration_utils.js";
import { HubSession } from "../hub/index.js";
import {
  PreTrainedModel,
  type BaseModelOutput,
  type FromPretrainedOptions,
  type LoadingInfo,
  type LogitsOutput,
  type ModelWithOutput,
  type QuestionAnsweringOutput,
} from "./modeling_utils.js";
import {
  BertConfig,
  BertForMaskedLM,
  BertForQuestionAnswering,
  BertForSequenceClassification,
  BertForTokenClassification,
  BertModel,
} from "./bert/modeling_bert.js";
import {
  DistilBertConfig,
  DistilBertForMaskedLM,
  DistilBertForQuestionAnswering,
  DistilBertForSequenceClassification,
  DistilBertForTokenClassification,
  DistilBertModel,
} from "./distilbert/modeling_distilbert.js";
import {
  RobertaConfig,
  RobertaForMaskedLM,
  RobertaForQuestionAnswering,
  RobertaForSequenceClassification,
  RobertaForTokenClassification,
  RobertaModel,
} from "./roberta/modeling_roberta.js";
import {
  ModernBertConfig,
  ModernBertForMaskedLM,
  ModernBertForQuestionAnswering,
  ModernBertForSequenceClassification,
  ModernBertForTokenClassification,
  ModernBertModel,
} from "./modernbert/modeling_modernbert.js";
import { GPT2Config, GPT2LMHeadModel, GPT2Model } from "./gpt2/modeling_gpt2.js";
import { LlamaConfig, LlamaForCausalLM, LlamaModel } from "./llama/modeling_llama.js";
import { Qwen2Config, Qwen2ForCausalLM, Qwen2Model } from "./qwen2/modeling_qwen2.js";
import { Qwen3Config, Qwen3ForCausalLM, Qwen3Model } from "./qwen3/modeling_qwen3.js";
import { MistralConfig, MistralForCausalLM, MistralModel } from "./mistral/modeling_mistral.js";
import type { GenerationMixin } from "./generation.js";
import { isLocalDir, type HubOptions } from "../hub/index.js";

type ModelClass<M extends PreTrainedModel> = new (config: PretrainedConfig) => M;
type ConfigClass = new (values?: Json) => PretrainedConfig;

const CONFIGS: Record<string, ConfigClass> = {
  bert: BertConfig,
  distilbert: DistilBertConfig,
  roberta: RobertaConfig,
  modernbert: ModernBertConfig,
  gpt2: GPT2Config,
  llama: LlamaConfig,
  qwen2: Qwen2Config,
  qwen3: Qwen3Config,
  mistral: MistralConfig,
};

/** An Auto class over the architectures of `map`: what it loads is typed as their union (a head's forward returns its logits). */
function registry<M extends PreTrainedModel>(name: string, map: Record<string, ModelClass<M>>) {
  const byType = map;
  const pick = (modelType: string): ModelClass<M> => {
    const cls = byType[modelType];
    if (!cls) {
      throw new Error(
        `Unrecognized configuration class for this kind of ${name}: model_type '${modelType}'. Model type should be one of ${Object.keys(byType).join(", ")}.`,
      );
    }
    return cls;
  };
  return {
    /** The model class for a model_type. */
    classFor: pick,
    async fromPretrained(nameOrPath: string, options: FromPretrainedOptions = {}): Promise<M> {
      const o = HubSession.in(options);
      const modelType = o.config?.modelType ?? (await loadConfigJson(nameOrPath, o)).json.model_type;
      if (typeof modelType !== "string") throw new Error(`${nameOrPath}/config.json has no 'model_type': cannot tell which architecture to build`);
      const cls = pick(modelType) as unknown as { fromPretrained(n: string, o: FromPretrainedOptions): Promise<M> };
      return cls.fromPretrained(nameOrPath, o);
    },
    async fromPretrainedWithInfo(nameOrPath: string, options: FromPretrainedOptions = {}): Promise<{ model: M; info: LoadingInfo }> {
      const o = HubSession.in(options);
      const modelType = o.config?.modelType ?? (await loadConfigJson(nameOrPath, o)).json.model_type;
      const cls = pick(String(modelType)) as unknown as {
        fromPretrainedWithInfo(n: string, o: FromPretrainedOptions): Promise<{ model: M; info: LoadingInfo }>;
      };
      return cls.fromPretrainedWithInfo(nameOrPath, o);
    },
    /** HF's from_config: a randomly initialised model for a config object, config.json values, or a config.json path. */
    fromConfig(config: PretrainedConfig | Json | string): M {
      if (typeof config === "string") config = readConfigJson(isLocalDir(config) ? join(config, "config.json") : config);
      const c = config instanceof PretrainedConfig ? config : AutoConfig.forModel(String(config.model_type ?? ""), config);
      const cls = pick(c.modelType);
      return new cls(c);
    },
  };
}

export const AutoConfig = {
  async fromPretrained(nameOrPath: string, o: HubOptions & { configOverrides?: Json } = {}): Promise<PretrainedConfig> {
    const { json, path } = await loadConfigJson(nameOrPath, o);
    if (typeof json.model_type !== "string") throw new Error(`${path} has no 'model_type'`);
    return AutoConfig.forModel(json.model_type, { ...json, ...(o.configOverrides ?? {}) });
  },
  /** A config of the given model_type (HF's AutoConfig.for_model). */
  forModel(modelType: string, values: Json = {}): PretrainedConfig {
    const cls = CONFIGS[modelType];
    if (!cls) throw new Error(`Unrecognized model type '${modelType}': should be one of ${Object.keys(CONFIGS).join(", ")}`);
    return new cls(values);
  },
};

export const AutoModel = registry<ModelWithOutput<BaseModelOutput>>("AutoModel", {
  bert: BertModel,
  distilbert: DistilBertModel,
  roberta: RobertaModel,
  modernbert: ModernBertModel,
  gpt2: GPT2Model,
  llama: LlamaModel,
  qwen2: Qwen2Model,
  qwen3: Qwen3Model,
  mistral: MistralModel,
});
export const AutoModelForSequenceClassification = registry<ModelWithOutput<LogitsOutput>>("AutoModelForSequenceClassification", {
  bert: BertForSequenceClassification,
  distilbert: DistilBertForSequenceClassification,
  roberta: RobertaForSequenceClassification,
  modernbert: ModernBertForSequenceClassification,
});
export const AutoModelForTokenClassification = registry<ModelWithOutput<LogitsOutput>>("AutoModelForTokenClassification", {
  bert: BertForTokenClassification,
  distilbert: DistilBertForTokenClassification,
  roberta: RobertaForTokenClassification,
  modernbert: ModernBertForTokenClassification,
});
export const AutoModelForQuestionAnswering = registry<ModelWithOutput<QuestionAnsweringOutput>>("AutoModelForQuestionAnswering", {
  bert: BertForQuestionAnswering,
  distilbert: DistilBertForQuestionAnswering,
  roberta: RobertaForQuestionAnswering,
  modernbert: ModernBertForQuestionAnswering,
});
export const AutoModelForMaskedLM = registry<ModelWithOutput<LogitsOutput>>("AutoModelForMaskedLM", {
  bert: BertForMaskedLM,
  distilbert: DistilBertForMaskedLM,
  roberta: RobertaForMaskedLM,
  modernbert: ModernBertForMaskedLM,
});

/** AutoModelForCausalLM: GPT-2 and the Llama family (HF's MODEL_FOR_CAUSAL_LM_MAPPING for these types). */
export const AutoModelForCausalLM = registry<ModelWithOutput<LogitsOutput> & GenerationMixin>("AutoModelForCausalLM", {
  gpt2: GPT2LMHeadModel,
  llama: LlamaForCausalLM,
  qwen2: Qwen2ForCausalLM,
  qwen3: Qwen3ForCausalLM,
  mistral: MistralForCausalLM,
});

const ARCHITECTURES: Record<string, unknown> = {
  BertModel,
  BertForSequenceClassification,
  BertForTokenClassification,
  BertForQuestionAnswering,
  BertForMaskedLM,
  DistilBertModel,
  DistilBertForSequenceClassification,
  DistilBertForTokenClassification,
  DistilBertForQuestionAnswering,
  DistilBertForMaskedLM,
  RobertaModel,
  RobertaForSequenceClassification,
  RobertaForTokenClassification,
  RobertaForQuestionAnswering,
  RobertaForMaskedLM,
  ModernBertModel,
  ModernBertForSequenceClassification,
  ModernBertForTokenClassification,
  ModernBertForQuestionAnswering,
  ModernBertForMaskedLM,
  GPT2Model,
  GPT2LMHeadModel,
  LlamaModel,
  LlamaForCausalLM,
  Qwen2Model,
  Qwen2ForCausalLM,
  Qwen3Model,
  Qwen3ForCausalLM,
  MistralModel,
  MistralForCausalLM,
};

/**
 * The model config.json's `architectures` names, with its head (as optimum's exporter infers the task
 * from it); the bare model of its model_type when it names none.
 */
export async function fromPretrainedArchitecture(nameOrPath: string, o: FromPretrainedOptions = {}): Promise<PreTrainedModel> {
  const { json, path } = await loadConfigJson(nameOrPath, o);
  const named = Array.isArray(json.architectures) ? json.architectures.filter((a): a is string => typeof a === "string") : [];
  if (!named.length) return AutoModel.fromPretrained(nameOrPath, o);
  const cls = ARCHITECTURES[named[0]] as { fromPretrained(n: string, o: FromPretrainedOptions): Promise<PreTrainedModel> } | undefined;
  if (!cls) throw new Error(`${path}: architecture '${named[0]}' is not supported (${Object.keys(ARCHITECTURES).join(", ")})`);
  return cls.fromPretrained(nameOrPath, o);
}
