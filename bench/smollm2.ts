// SmolLM2-135M's config (HuggingFaceTB/SmolLM2-135M config.json), the decoder the causal-LM and SFT benches train.
export const SMOLLM2_135M = {
  model_type: "llama",
  vocab_size: 49152,
  hidden_size: 576,
  intermediate_size: 1536,
  num_hidden_layers: 30,
  num_attention_heads: 9,
  num_key_value_heads: 3,
  hidden_act: "silu",
  max_position_embeddings: 8192,
  rms_norm_eps: 1e-5,
  rope_theta: 100000,
  tie_word_embeddings: true,
};
