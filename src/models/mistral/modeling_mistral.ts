// Mistral, as Hugging Face's modular_mistral.py derives it from Llama: no attention biases, and every
// layer attends within a sliding window of sliding_window positions (none when it is null).
import type { PretrainedConfig, Json } from "../configuration_utils.js";
import { LlamaConfig, LlamaForCausalLM, LlamaModel, type AttentionVariant } from "../llama/modeling_llama.js";

export class MistralConfig extends LlamaConfig {
  static override readonly modelType: string = "mistral";
  static override readonly defaults: Json = {
    ...LlamaConfig.defaults,
    intermediate_size: 14336,
    num_key_value_heads: 8,
    max_position_embeddings: 4096 * 32,
    sliding_window: 4096,
  };
  override slidingWindow(layer: number): number | null {
    void layer;
    return this.get<number | null>("sliding_window");
  }
}

export class MistralModel extends LlamaModel {
  static override configClass = MistralConfig;
  static override variant(_c: PretrainedConfig): AttentionVariant {
    return { qkvBias: false, oBias: false, qkNorm: false };
  }
}

export class MistralForCausalLM extends LlamaForCausalLM {
  static override configClass = MistralConfig;
  static override baseModel = MistralModel;
}
