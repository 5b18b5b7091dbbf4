// Qwen2, as Hugging Face's modular_qwen2.py derives it from Llama: biases on q_proj, k_proj and
// v_proj (not o_proj), and sliding-window attention in the layers from max_window_layers on when
// use_sliding_window is set (HF's layer_types).
import type { PretrainedConfig, Json } from "../configuration_utils.js";
import { LlamaConfig, LlamaForCausalLM, LlamaModel, type AttentionVariant } from "../llama/modeling_llama.js";

export class Qwen2Config extends LlamaConfig {
  static override readonly modelType: string = "qwen2";
  static override readonly defaults: Json = {
    ...LlamaConfig.defaults,
    vocab_size: 151936,
    hidden_size: 4096,
    intermediate_size: 22016,
    num_hidden_layers: 32,
    num_attention_heads: 32,
    num_key_value_heads: 32,
    max_position_embeddings: 32768,
    bos_token_id: null,
    eos_token_id: null,
    use_sliding_window: false,
    sliding_window: 4096,
    max_window_layers: 28,
    layer_types: null,
  };
  /** HF's layer_types: "sliding_attention" from max_window_layers on when use_sliding_window, else full attention. */
  override slidingWindow(layer: number): number | null {
    const types = this.get<string[] | null>("layer_types");
    const n = this.need<number>("num_hidden_layers");
    if (types && types.length !== n) throw new Error(`layer_types has ${types.length} entries for ${n} layers`);
    const type =
      types?.[layer] ?? (this.get<boolean>("use_sliding_window") && layer >= this.need<number>("max_window_layers") ? "sliding_attention" : "full_attention");
    if (type !== "sliding_attention" && type !== "full_attention")
      throw new Error(`layer_types: unknown attention type '${type}' (full_attention, sliding_attention)`);
    return type === "sliding_attention" ? this.get<number | null>("sliding_window") : null;
  }
}

export class Qwen2Model extends LlamaModel {
  static override configClass = Qwen2Config;
  static override variant(_c: PretrainedConfig): AttentionVariant {
    return { qkvBias: true, oBias: false, qkNorm: false };
  }
}

export class Qwen2ForCausalLM extends LlamaForCausalLM {
  static override configClass = Qwen2Config;
  static override baseModel = Qwen2Model;
}
