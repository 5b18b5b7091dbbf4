// Qwen3, as Hugging Face's modular_qwen3.py derives it from Qwen2/Llama: an RMSNorm over each head of
// q and k (q_norm, k_norm) before the rotary embedding, biases as attention_bias says (none by
// default), an explicit head_dim, and Qwen2's sliding-window layers.
import type { PretrainedConfig, Json } from "../configuration_utils.js";
import { LlamaForCausalLM, LlamaModel, type AttentionVariant } from "../llama/modeling_llama.js";
import { Qwen2Config } from "../qwen2/modeling_qwen2.js";

export class Qwen3Config extends Qwen2Config {
  static override readonly modelType: string = "qwen3";
  static override readonly defaults: Json = { ...Qwen2Config.defaults, head_dim: 128, attention_bias: false };
}

export class Qwen3Model extends LlamaModel {
  static override configClass = Qwen3Config;
  static override variant(c: PretrainedConfig): AttentionVariant {
    const bias = c.get<boolean>("attention_bias") ?? false;
    return { qkvBias: bias, oBias: bias, qkNorm: true };
  }
}

export class Qwen3ForCausalLM extends LlamaForCausalLM {
  static override configClass = Qwen3Config;
  static override baseModel = Qwen3Model;
}
