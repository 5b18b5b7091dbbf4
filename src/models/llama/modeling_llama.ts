// Llama, as Hugging Face's modeling_llama.py (transformers 5): token embeddings → decoder layers
// (RMSNorm → self-attention with rotary embeddings and grouped key/value heads → residual, RMSNorm →
// SwiGLU MLP → residual) → a final RMSNorm, and the causal-LM head. The building blocks take the
// variations of Llama's close kin as options, the way HF's modular files derive them: biases on
// q/k/v (Qwen2), an RMSNorm on each head of q and k before RoPE (Qwen3), and sliding-window layers
// (Mistral, Qwen2/3). A KV cache (HF's DynamicCache) lets generation feed one token at a time.
import * as torch from "../../torch/index.js";
import type { Tensor } from "../../torch/index.js";
import { Embedding, Linear, Module, ModuleList, F, init } from "../../nn/index.js";
import { GradientCheckpointingLayer, checkCacheAllowed } from "../gradient_checkpointing.js";
import { PretrainedConfig, type Json } from "../configuration_utils.js";
import { PreTrainedModel, type BaseModelOutput, type ForwardOptions, type LogitsOutput, type ModelInputs } from "../modeling_utils.js";
import { causalLmForward, rowDecoderForward, type RowDecoder } from "../causal_lm.js";
import { activation, type Activation } from "../activations.js";
import { generate, type GenerationOptions } from "../generation.js";
import { RotaryEmbedding, applyRotaryPosEmb } from "../rope_utils.js";
import { KvCache } from "../cache_utils.js";
import { causalMask, layerMask, packedSequenceIds, positionsReached } from "../masking_utils.js";
import { packedSegments, segmentedAttention, type Segment } from "../packed_attention.js";
import { decoderUnpadding, type Unpadded } from "../unpadding.js";

export { KvCache, causalMask, packedSequenceIds, positionsReached };

/** A packed row's sequences and the layer's sliding window, for attention per sequence. */
export interface PackedRow {
  segments: Segment[];
  window: number | null;
}

export class LlamaConfig extends PretrainedConfig {
  static override readonly modelType: string = "llama";
  static override readonly defaults: Json = {
    vocab_size: 32000,
    hidden_size: 4096,
    intermediate_size: 11008,
    num_hidden_layers: 32,
    num_attention_heads: 32,
    num_key_value_heads: null,
    hidden_act: "silu",
    max_position_embeddings: 2048,
    initializer_range: 0.02,
    rms_norm_eps: 1e-6,
    use_cache: true,
    pad_token_id: null,
    bos_token_id: 1,
    eos_token_id: 2,
    pretraining_tp: 1,
    tie_word_embeddings: false,
    rope_theta: 10000.0,
    attention_bias: false,
    attention_dropout: 0.0,
    mlp_bias: false,
    head_dim: null,
  };

  get headDim(): number {
    return this.get<number | null>("head_dim") ?? this.need<number>("hidden_size") / this.need<number>("num_attention_heads");
  }
  get numKeyValueHeads(): number {
    return this.get<number | null>("num_key_value_heads") ?? this.need<number>("num_attention_heads");
  }
  /** The window of each layer's attention (null: full causal attention); Llama has none. */
  slidingWindow(layer: number): number | null {
    void layer;
    return null;
  }
}

/** How a decoder's attention differs from Llama's (HF's modular subclasses). */
export interface AttentionVariant {
  /** Biases on q_proj, k_proj and v_proj (and o_proj's separately). */
  qkvBias: boolean;
  oBias: boolean;
  /** An RMSNorm over each head of q and k, before RoPE (Qwen3). */
  qkNorm: boolean;
}

/** LlamaRMSNorm: x / √(mean(x²) + ε) in float32, cast back, times the weight. */
export class LlamaRMSNorm extends Module {
  weight: Tensor;
  readonly eps: number;
  constructor(size: number, eps = 1e-6) {
    super();
    this.weight = this.registerParameter("weight", torch.ones([size]));
    this.eps = eps;
  }
  forward(x: Tensor): Tensor {
    const dtype = x.dtype;
    const h = x.to("float32");
    return this.weight.mul(h.mul(h.pow(2).mean(-1, true).add(this.eps).rsqrt()).to(dtype));
  }
}

class LlamaMLP extends Module {
  gate_proj: Linear;
  up_proj: Linear;
  down_proj: Linear;
  readonly act: Activation;
  constructor(c: PretrainedConfig) {
    super();
    const h = c.need<number>("hidden_size");
    const inner = c.need<number>("intermediate_size");
    const bias = c.get<boolean>("mlp_bias") ?? false;
    if ((c.get<number>("pretraining_tp") ?? 1) !== 1) throw new Error("Llama with pretraining_tp > 1 is not supported (it only splits the same matmuls)");
    this.gate_proj = this.registerModule("gate_proj", new Linear(h, inner, { bias }));
    this.up_proj = this.registerModule("up_proj", new Linear(h, inner, { bias }));
    this.down_proj = this.registerModule("down_proj", new Linear(inner, h, { bias }));
    this.act = activation(c.need("hidden_act"));
  }
  forward(x: Tensor): Tensor {
    return this.down_proj.forward(this.act(this.gate_proj.forward(x)).mul(this.up_proj.forward(x)));
  }
}

/** repeat_kv: [b, kv_heads, L, d] → [b, kv_heads·n, L, d], each key/value head serving n query heads. */
function repeatKv(x: Tensor, n: number): Tensor {
  if (n === 1) return x;
  const [b, kv, l, d] = x.shape;
  return x
    .unsqueeze(2)
    .expand([b, kv, n, l, d])
    .reshape([b, kv * n, l, d]);
}

export class LlamaAttention extends Module {
  q_proj: Linear;
  k_proj: Linear;
  v_proj: Linear;
  o_proj: Linear;
  q_norm: LlamaRMSNorm | null;
  k_norm: LlamaRMSNorm | null;
  readonly heads: number;
  readonly kvHeads: number;
  readonly headDim: number;
  readonly dropoutP: number;
  readonly eager: boolean;
  constructor(
    c: LlamaConfig,
    readonly layerIdx: number,
    v: AttentionVariant,
  ) {
    super();
    const h = c.need<number>("hidden_size");
    this.heads = c.need("num_attention_heads");
    this.kvHeads = c.numKeyValueHeads;
    this.headDim = c.headDim;
    if (this.heads % this.kvHeads !== 0) throw new Error(`num_attention_heads (${this.heads}) must be a multiple of num_key_value_heads (${this.kvHeads})`);
    this.dropoutP = c.get<number>("attention_dropout") ?? 0;
    this.eager = c.get("_attn_implementation") === "eager";
    this.q_proj = this.registerModule("q_proj", new Linear(h, this.heads * this.headDim, { bias: v.qkvBias }));
    this.k_proj = this.registerModule("k_proj", new Linear(h, this.kvHeads * this.headDim, { bias: v.qkvBias }));
    this.v_proj = this.registerModule("v_proj", new Linear(h, this.kvHeads * this.headDim, { bias: v.qkvBias }));
    this.o_proj = this.registerModule("o_proj", new Linear(this.heads * this.headDim, h, { bias: v.oBias }));
    const eps = c.need<number>("rms_norm_eps");
    this.q_norm = v.qkNorm ? this.registerModule("q_norm", new LlamaRMSNorm(this.headDim, eps)) : null;
    this.k_norm = v.qkNorm ? this.registerModule("k_norm", new LlamaRMSNorm(this.headDim, eps)) : null;
  }

  /**
   * With `packed` (a single packed row, no attention dropout, no probabilities asked), attention runs
   * within each sequence (packed_attention.ts) and `mask` is not used; otherwise `mask` is required.
   * With `unpad`, x, the rotary tables and the output are the real tokens' rows ([n, hidden], [n,
   * head_dim]): the projections, q/k norms and rotations act on the rows, and q, k and v are
   * scattered to the padded layout for attention.
   */
  forward(
    x: Tensor,
    rope: [Tensor, Tensor],
    mask: Tensor | null,
    cache: KvCache | null,
    wantProbs: boolean,
    packed: PackedRow | null = null,
    unpad: Unpadded | null = null,
  ): [Tensor, Tensor | undefined] {
    const [b, l] = unpad ? [unpad.batch, unpad.length] : x.shape;
    // [b, heads, l, d], or the rows' [n, heads, d] (the rotary tables broadcast over heads either way).
    const heads = (t: Tensor, norm: LlamaRMSNorm | null) => {
      const shaped = unpad ? t.view(t.shape[0], -1, this.headDim) : t.view(b, l, -1, this.headDim);
      const normed = norm ? norm.forward(shaped) : shaped;
      return unpad ? normed : normed.transpose(1, 2);
    };
    const padded = (t: Tensor) =>
      unpad
        ? unpad
            .scatter(t.reshape([t.shape[0], -1]))
            .view(b, l, -1, this.headDim)
            .transpose(1, 2)
        : t;
    let [q, k] = applyRotaryPosEmb(heads(this.q_proj.forward(x), this.q_norm), heads(this.k_proj.forward(x), this.k_norm), rope[0], rope[1]);
    let v = heads(this.v_proj.forward(x), null);
    [q, k, v] = [padded(q), padded(k), padded(v)];
    if (cache) [k, v] = cache.update(this.layerIdx, k, v);
    const groups = this.heads / this.kvHeads;
    k = repeatKv(k, groups);
    v = repeatKv(v, groups);
    const p = this.training ? this.dropoutP : 0;
    let ctx: Tensor;
    let probs: Tensor | undefined;
    if (packed && !wantProbs && p === 0) {
      ctx = segmentedAttention(q, k, v, packed.segments, packed.window, this.headDim ** -0.5, this.eager);
    } else if (!mask) {
      throw new Error("LlamaAttention: a mask is required unless the row is packed and attention runs per sequence");
    } else if (this.eager || wantProbs) {
      const scores = q
        .matmul(k.transpose(2, 3))
        .mul(this.headDim ** -0.5)
        .add(mask);
      probs = scores.softmax(-1, "float32").to(q.dtype);
      ctx = F.dropout(probs, p, this.training).matmul(v);
    } else {
      ctx = F.scaledDotProductAttention(q, k, v, { attnMask: mask, dropoutP: p, scale: this.headDim ** -0.5 });
    }
    const merged = ctx.transpose(1, 2).reshape([b, l, -1]);
    return [this.o_proj.forward(unpad ? unpad.gather(merged) : merged), probs];
  }
}

export class LlamaDecoderLayer extends GradientCheckpointingLayer {
  self_attn: LlamaAttention;
  mlp: LlamaMLP;
  input_layernorm: LlamaRMSNorm;
  post_attention_layernorm: LlamaRMSNorm;
  constructor(c: LlamaConfig, layerIdx: number, v: AttentionVariant) {
    super();
    const h = c.need<number>("hidden_size");
    const eps = c.need<number>("rms_norm_eps");
    this.self_attn = this.registerModule("self_attn", new LlamaAttention(c, layerIdx, v));
    this.mlp = this.registerModule("mlp", new LlamaMLP(c));
    this.input_layernorm = this.registerModule("input_layernorm", new LlamaRMSNorm(h, eps));
    this.post_attention_layernorm = this.registerModule("post_attention_layernorm", new LlamaRMSNorm(h, eps));
  }
  /** x [b, l, hidden], or with unpad the real tokens' rows [n, hidden] (see LlamaAttention.forward). */
  forward(
    x: Tensor,
    rope: [Tensor, Tensor],
    mask: Tensor | null,
    cache: KvCache | null,
    wantProbs: boolean,
    packed: PackedRow | null = null,
    unpad: Unpadded | null = null,
  ): [Tensor, Tensor | undefined] {
    const [a, probs] = this.self_attn.forward(this.input_layernorm.forward(x), rope, mask, cache, wantProbs, packed, unpad);
    const h = x.add(a);
    return [h.add(this.mlp.forward(this.post_attention_layernorm.forward(h))), probs];
  }
}

export abstract class LlamaPreTrainedModel extends PreTrainedModel {
  static override configClass: new (values?: Json) => PretrainedConfig = LlamaConfig;
  static override baseModelPrefix = "model";
  static override inputNames = ["input_ids", "attention_mask", "position_ids", "labels"];

  /** HF's _init_weights: normal(0, initializer_range) for linears and embeddings (padding row zero), RMSNorm weights one. */
  override initWeights(m: Module): void {
    super.initWeights(m);
    if (m instanceof LlamaRMSNorm) init.ones_(m.weight);
  }
}

export interface DecoderInputs extends ModelInputs {
  /** HF's past_key_values: the KV cache generation grows, one token at a time. */
  pastKeyValues?: KvCache;
}

export class LlamaModel extends LlamaPreTrainedModel implements RowDecoder<DecoderInputs> {
  /** The attention variant of this family (Llama: no biases, no q/k norms). */
  static variant(c: PretrainedConfig): AttentionVariant {
    const bias = c.get<boolean>("attention_bias") ?? false;
    return { qkvBias: bias, oBias: bias, qkNorm: false };
  }
  embed_tokens: Embedding;
  layers: ModuleList<LlamaDecoderLayer>;
  norm: LlamaRMSNorm;
  readonly rotary: RotaryEmbedding;
  /**
   * How a single packed row (position ids restarting, no attention mask: TRL's padding-free batches)
   * attends: "segments", each sequence on its own (the default; exact, and Σ len² work instead of L²),
   * or "mask", the whole row under a block-diagonal causal mask (transformers' sdpa/eager path). Rows
   * with attention dropout in training, or whose attention probabilities are asked for, use the mask.
   */
  packedAttention: "segments" | "mask" = "segments";
  /**
   * Run the decoder on the real tokens only (unpadding.ts): on for the causal-LM head, which uses it
   * where its loss reads no padded position's logits; off by default, since the hidden states of
   * padded positions come back as zeros. Not taken with a KV cache, without a 2-D attention mask,
   * for hidden states or attentions asked for, nor while a layer inside draws noise per row (LoRA
   * dropout).
   */
  unpadTokens = false;

  constructor(config: PretrainedConfig, o: { init?: boolean; variant?: AttentionVariant } = {}) {
    super(config);
    const c = config as LlamaConfig;
    const v = o.variant ?? (new.target as unknown as { variant(c: PretrainedConfig): AttentionVariant }).variant(c);
    const h = c.need<number>("hidden_size");
    this.embed_tokens = this.registerModule(
      "embed_tokens",
      new Embedding(c.need("vocab_size"), h, { paddingIdx: c.get<number | null>("pad_token_id") ?? undefined }),
    );
    this.layers = this.registerModule(
      "layers",
      new ModuleList(Array.from({ length: c.need<number>("num_hidden_layers") }, (_, i) => new LlamaDecoderLayer(c, i, v))),
    );
    this.norm = this.registerModule("norm", new LlamaRMSNorm(h, c.need("rms_norm_eps")));
    this.rotary = new RotaryEmbedding(c, c.headDim);
    if (o.init !== false) this.postInit();
  }

  forward(inputs: DecoderInputs, o: ForwardOptions = {}): BaseModelOutput {
    return rowDecoderForward(this, inputs, o);
  }

  /** The unpadding forward runs these inputs on, or null for the padded batch (decoderUnpadding). */
  unpadding(inputs: DecoderInputs, o: ForwardOptions): Unpadded | null {
    return decoderUnpadding(this, inputs, o);
  }

  /**
   * The decoder over the padded batch, or with unpad over the real tokens' rows: the embeddings and
   * rotary tables are gathered once (positions are the padded layout's, so left padding is exact),
   * and lastHiddenState is the rows [n, hidden].
   */
  decode(inputs: DecoderInputs, o: ForwardOptions, unpad: Unpadded | null): BaseModelOutput {
    const ids = inputs.input_ids;
    if (!ids) throw new TypeError(`${this.constructor.name}.forward: input_ids is required`);
    const [b, l] = ids.shape;
    const cache = inputs.pastKeyValues ?? null;
    checkCacheAllowed(this.layers, cache);
    const past = cache?.length ?? 0;
    const maxPos = this.config.need<number>("max_position_embeddings");
    const positions =
      inputs.position_ids ??
      torch
        .arange(past, past + l, 1, { device: ids.device })
        .unsqueeze(0)
        .expand([b, l]);
    let x = this.embed_tokens.forward(ids);
    const reach = positionsReached(inputs.position_ids, past + l);
    if (this.rotary.params.rope_type !== "dynamic" && reach > maxPos) {
      throw new RangeError(`the sequence reaches position ${reach}, past max_position_embeddings (${maxPos})`);
    }
    let rope = this.rotary.forward(x, positions);
    if (unpad) {
      x = unpad.gather(x);
      rope = [unpad.gather(rope[0].expand([b, l, -1])), unpad.gather(rope[1].expand([b, l, -1]))];
    }
    const c = this.config as LlamaConfig;
    const masks = new Map<number | null, Tensor>();
    const packed = inputs.position_ids && !inputs.attention_mask && !cache ? packedSequenceIds(inputs.position_ids, b, l) : null;
    // A single packed row attends per sequence (no L² mask at all) where that is exact: no attention
    // dropout drawn, no attention probabilities asked for.
    const dropout = this.training ? (c.get<number>("attention_dropout") ?? 0) : 0;
    const segments = this.packedAttention === "segments" && !o.outputAttentions && dropout === 0 ? packedSegments(packed) : null;
    const maskFor = (layer: number) => {
      const w = c.slidingWindow(layer);
      if (segments) return null;
      if (!masks.has(w)) masks.set(w, layerMask(causalMask(inputs.attention_mask, b, l, past, w, x.dtype, ids.device, packed), c, o.outputAttentions));
      return masks.get(w)!;
    };
    const hiddenStates = o.outputHiddenStates ? [x] : undefined;
    const attentions = o.outputAttentions ? ([] as Tensor[]) : undefined;
    let i = 0;
    for (const layer of this.layers) {
      const mask = maskFor(i);
      const row = segments ? { segments, window: c.slidingWindow(i) } : null;
      i++;
      const [y, probs] = layer.run([x, rope[0], rope[1], mask, unpad?.index ?? null], (h, cos, sin, m, index) =>
        layer.forward(h, [cos, sin], m, cache, o.outputAttentions ?? false, row, unpad && index ? unpad.withIndex(index) : null),
      );
      x = y;
      hiddenStates?.push(x);
      if (probs) attentions?.push(probs);
    }
    const last = this.norm.forward(x);
    // HF's last hidden state in the list is after the final norm.
    if (hiddenStates) hiddenStates[hiddenStates.length - 1] = last;
    return { lastHiddenState: last, hiddenStates, attentions };
  }
}

/** A causal LM's output: logits over the vocabulary and, when labels are given, HF's ForCausalLMLoss. */
export type CausalLMOutput = LogitsOutput;

export class LlamaForCausalLM extends LlamaPreTrainedModel {
  static override acceptsLossKwargs = true;
  /** The base model class this head sits on (a subclass family's own). */
  static baseModel: new (config: PretrainedConfig, o: { init?: boolean }) => LlamaModel = LlamaModel;
  model: LlamaModel;
  lm_head: Linear;
  constructor(config: PretrainedConfig) {
    super(config);
    const base = (new.target as unknown as typeof LlamaForCausalLM).baseModel;
    this.model = this.registerModule("model", new base(config, { init: false }));
    this.lm_head = this.registerModule("lm_head", new Linear(config.need("hidden_size"), config.need("vocab_size"), { bias: false }));
    this.model.unpadTokens = true;
    this.postInit();
  }
  override outputEmbeddings(): Module {
    return this.lm_head;
  }

  override tieWeights(): void {
    if (this.config.get("tie_word_embeddings") === true) this.tieOutputEmbeddings(this.lm_head, this.model.embed_tokens);
  }
  override labelSpace(): { size: number; name: string } {
    return this.vocabularyLabels();
  }
  /** HF's generate(): greedy or sampled continuations of the prompt (see generation.ts). */
  generate(inputs: Tensor | { input_ids: Tensor; attention_mask?: Tensor }, options: GenerationOptions = {}): Promise<Tensor> {
    return generate(this, inputs, options);
  }
  forward(inputs: DecoderInputs, o: ForwardOptions & { logitsToKeep?: number } = {}): CausalLMOutput {
    return causalLmForward(this.model, this.lm_head, inputs, o);
  }
}
