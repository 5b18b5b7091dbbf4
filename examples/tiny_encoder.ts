// A tiny transformer encoder classifier built from the engine's layers: the model of the engine's
// golden test (scripts/golden/tiny_encoder.py builds the same one in PyTorch), its benchmark and
// the example training run. Parameter names match the PyTorch script's.
import * as torch from "../src/torch/index.js";
import { Dropout, Embedding, LayerNorm, Linear, Module, ModuleList, F } from "../src/nn/index.js";
import type { Tensor } from "../src/torch/index.js";

export interface TinyEncoderConfig {
  vocab_size: number;
  hidden_size: number;
  num_layers: number;
  num_heads: number;
  intermediate_size: number;
  max_positions: number;
  num_labels: number;
  layer_norm_eps: number;
  pad_token_id: number;
  dropout?: number;
  /** HF's attn_implementation: "sdpa" uses libtorch's fused kernel where it has one, "eager" composes it. */
  attn_implementation?: "sdpa" | "eager";
}

export class EncoderLayer extends Module {
  readonly heads: number;
  query: Linear;
  key: Linear;
  value: Linear;
  attention_output: Linear;
  attention_norm: LayerNorm;
  intermediate: Linear;
  output: Linear;
  output_norm: LayerNorm;
  dropout: Dropout;
  readonly eager: boolean;

  constructor(c: Pick<TinyEncoderConfig, "hidden_size" | "num_heads" | "intermediate_size" | "layer_norm_eps" | "dropout" | "attn_implementation">) {
    super();
    const h = c.hidden_size;
    this.heads = c.num_heads;
    this.eager = c.attn_implementation === "eager";
    this.query = this.registerModule("query", new Linear(h, h));
    this.key = this.registerModule("key", new Linear(h, h));
    this.value = this.registerModule("value", new Linear(h, h));
    this.attention_output = this.registerModule("attention_output", new Linear(h, h));
    this.attention_norm = this.registerModule("attention_norm", new LayerNorm(h, { eps: c.layer_norm_eps }));
    this.intermediate = this.registerModule("intermediate", new Linear(h, c.intermediate_size));
    this.output = this.registerModule("output", new Linear(c.intermediate_size, h));
    this.output_norm = this.registerModule("output_norm", new LayerNorm(h, { eps: c.layer_norm_eps }));
    this.dropout = this.registerModule("dropout", new Dropout(c.dropout ?? 0));
  }

  #split(x: Tensor): Tensor {
    const [b, l, h] = x.shape;
    return x.view(b, l, this.heads, h / this.heads).permute(0, 2, 1, 3);
  }

  forward(x: Tensor, additiveMask: Tensor): Tensor {
    const q = this.#split(this.query.forward(x));
    const k = this.#split(this.key.forward(x));
    const v = this.#split(this.value.forward(x));
    const ctx = F.scaledDotProductAttention(q, k, v, { attnMask: additiveMask, composed: this.eager });
    const [b, , l] = ctx.shape;
    const merged = ctx.permute(0, 2, 1, 3).reshape(b, l, -1);
    const attended = this.attention_norm.forward(this.dropout.forward(this.attention_output.forward(merged)).add(x));
    const ff = this.output.forward(F.gelu(this.intermediate.forward(attended)));
    return this.output_norm.forward(this.dropout.forward(ff).add(attended));
  }
}

export class TinyEncoder extends Module {
  readonly config: TinyEncoderConfig;
  word_embeddings: Embedding;
  position_embeddings: Embedding;
  embeddings_norm: LayerNorm;
  layers: ModuleList<EncoderLayer>;
  classifier: Linear;

  constructor(c: TinyEncoderConfig) {
    super();
    if (c.hidden_size % c.num_heads !== 0) {
      throw new RangeError(`hidden_size (${c.hidden_size}) must be a multiple of num_heads (${c.num_heads})`);
    }
    this.config = c;
    this.word_embeddings = this.registerModule("word_embeddings", new Embedding(c.vocab_size, c.hidden_size, { paddingIdx: c.pad_token_id }));
    this.position_embeddings = this.registerModule("position_embeddings", new Embedding(c.max_positions, c.hidden_size));
    this.embeddings_norm = this.registerModule("embeddings_norm", new LayerNorm(c.hidden_size, { eps: c.layer_norm_eps }));
    this.layers = this.registerModule("layers", new ModuleList(Array.from({ length: c.num_layers }, () => new EncoderLayer(c))));
    this.classifier = this.registerModule("classifier", new Linear(c.hidden_size, c.num_labels));
  }

  /** Logits [batch, num_labels] from the first token, and the cross-entropy loss when labels are given. */
  forward(inputIds: Tensor, attentionMask: Tensor, labels?: Tensor): { logits: Tensor; loss?: Tensor } {
    const [, len] = inputIds.shape;
    const positions = torch.arange(len, undefined, 1, { device: inputIds.device }).unsqueeze(0);
    let x = this.embeddings_norm.forward(this.word_embeddings.forward(inputIds).add(this.position_embeddings.forward(positions)));
    // HF's extended attention mask: 0 where attended, the dtype's minimum where padded.
    const additive = torch.tensor(1, { dtype: x.dtype, device: x.device }).sub(attentionMask.unsqueeze(1).unsqueeze(1).to(x.dtype)).mul(-3.4028234663852886e38);
    for (const layer of this.layers) x = layer.forward(x, additive);
    const logits = this.classifier.forward(x.select(1, 0));
    return labels ? { logits, loss: F.crossEntropy(logits, labels) } : { logits };
  }
}
