// GPT-2 (Radford et al., 2019), as Hugging Face's modeling_gpt2.py (transformers 5): token and learned
// position embeddings → blocks (LayerNorm → causal self-attention → residual, LayerNorm → MLP with
// gelu_new → residual) → a final LayerNorm, and the LM head tied to the token embeddings. Its linear
// layers are OpenAI's Conv1D: the weight stored [in, out], so checkpoints load as they are.
import * as torch from "../../torch/index.js";
import type { Tensor } from "../../torch/index.js";
import { Dropout, Embedding, LayerNorm, Linear, Module, ModuleList, F, init } from "../../nn/index.js";
import { GradientCheckpointingLayer, checkCacheAllowed } from "../gradient_checkpointing.js";
import { PretrainedConfig, type Json } from "../configuration_utils.js";
import { PreTrainedModel, type BaseModelOutput, type ForwardOptions, type LogitsOutput } from "../modeling_utils.js";
import { causalLmForward, rowDecoderForward, type RowDecoder } from "../causal_lm.js";
import { activation, type Activation } from "../activations.js";
import { generate, type GenerationOptions } from "../generation.js";
import type { DecoderInputs } from "../llama/modeling_llama.js";
import { causalMask, layerMask, packedSequenceIds, positionsReached } from "../masking_utils.js";
import type { KvCache } from "../cache_utils.js";
import { decoderUnpadding, type Unpadded } from "../unpadding.js";

/** A residual dropout on the padded batch, or with unpad on the real tokens' rows (the padded batch's noise). */
function dropout(d: Dropout, x: Tensor, unpad: Unpadded | null): Tensor {
  return unpad ? unpad.dropout(x, d.p, d.training) : d.forward(x);
}

export class GPT2Config extends PretrainedConfig {
  static override readonly modelType = "gpt2";
  static override readonly defaults = {
    vocab_size: 50257,
    n_positions: 1024,
    n_embd: 768,
    n_layer: 12,
    n_head: 12,
    n_inner: null,
    activation_function: "gelu_new",
    resid_pdrop: 0.1,
    embd_pdrop: 0.1,
    attn_pdrop: 0.1,
    layer_norm_epsilon: 1e-5,
    initializer_range: 0.02,
    scale_attn_weights: true,
    scale_attn_by_inverse_layer_idx: false,
    reorder_and_upcast_attn: false,
    use_cache: true,
    bos_token_id: 50256,
    eos_token_id: 50256,
    tie_word_embeddings: true,
  };
  constructor(values: Json = {}) {
    const v: Json = { ...values };
    for (const [alias, name] of Object.entries(GPT2_ATTRIBUTE_MAP)) {
      if (alias in v) {
        if (!(name in v)) v[name] = v[alias];
        delete v[alias];
      }
    }
    super(v);
  }
  // HF's attribute_map: config.hidden_size reads n_embd, and so on (config.json keeps GPT-2's names).
  override get<T = unknown>(key: string): T {
    return super.get<T>(GPT2_ATTRIBUTE_MAP[key] ?? key);
  }
  override need<T = unknown>(key: string): T {
    return super.need<T>(GPT2_ATTRIBUTE_MAP[key] ?? key);
  }
}

const GPT2_ATTRIBUTE_MAP: Record<string, string> = {
  hidden_size: "n_embd",
  max_position_embeddings: "n_positions",
  num_attention_heads: "n_head",
  num_hidden_layers: "n_layer",
};

/** OpenAI's Conv1D: a linear layer whose weight is stored [in, out]; y = x·W + b. */
export class Conv1D extends Module {
  weight: Tensor;
  bias: Tensor;
  constructor(
    readonly nf: number,
    readonly nx: number,
  ) {
    super();
    this.weight = this.registerParameter("weight", torch.empty([nx, nf]));
    this.bias = this.registerParameter("bias", torch.zeros([nf]));
    init.normal_(this.weight, 0, 0.02);
  }
  forward(x: Tensor): Tensor {
    const out = [...x.shape.slice(0, -1), this.nf];
    return torch.addmm(this.bias, x.reshape([-1, this.nx]), this.weight).view(...out);
  }
}

class GPT2Attention extends Module {
  c_attn: Conv1D;
  c_proj: Conv1D;
  attn_dropout: Dropout;
  resid_dropout: Dropout;
  readonly heads: number;
  readonly headDim: number;
  readonly scaleWeights: boolean;
  readonly layerScale: number;
  readonly eager: boolean;
  readonly dropoutP: number;
  constructor(
    c: PretrainedConfig,
    readonly layerIdx: number,
  ) {
    super();
    const d = c.need<number>("n_embd");
    this.heads = c.need("n_head");
    if (d % this.heads !== 0) throw new Error(`\`embed_dim\` must be divisible by num_heads (got \`embed_dim\`: ${d} and \`num_heads\`: ${this.heads}).`);
    if (c.get("reorder_and_upcast_attn")) throw new Error("GPT-2 with reorder_and_upcast_attn is not supported");
    this.headDim = d / this.heads;
    this.scaleWeights = c.need<boolean>("scale_attn_weights");
    this.layerScale = c.get("scale_attn_by_inverse_layer_idx") ? layerIdx + 1 : 1;
    this.eager = c.get("_attn_implementation") === "eager";
    this.dropoutP = c.need("attn_pdrop");
    this.c_attn = this.registerModule("c_attn", new Conv1D(3 * d, d));
    this.c_proj = this.registerModule("c_proj", new Conv1D(d, d));
    this.attn_dropout = this.registerModule("attn_dropout", new Dropout(this.dropoutP));
    this.resid_dropout = this.registerModule("resid_dropout", new Dropout(c.need("resid_pdrop")));
  }
  /** x [b, l, d], or with unpad the real tokens' rows [n, d]: q, k and v are scattered to the padded layout for attention. */
  forward(x: Tensor, mask: Tensor, cache: KvCache | null, wantProbs: boolean, unpad: Unpadded | null = null): [Tensor, Tensor | undefined] {
    const d = x.shape[x.ndim - 1];
    const [b, l] = unpad ? [unpad.batch, unpad.length] : x.shape;
    const heads = (t: Tensor) => t.view(b, l, this.heads, this.headDim).transpose(1, 2);
    const qkv = this.c_attn.forward(x);
    const [q, k0, v0] = (unpad ? unpad.scatter(qkv) : qkv).split(d, 2).map(heads);
    const [k, v] = cache ? cache.update(this.layerIdx, k0, v0) : [k0, v0];
    let ctx: Tensor;
    let probs: Tensor | undefined;
    if (this.eager || wantProbs) {
      // HF's eager GPT-2: q·kᵀ / √d (a 0-dim tensor of the scores' dtype), / (layer + 1) when asked, the mask added, softmax.
      let scores = q.matmul(k.transpose(-1, -2));
      if (this.scaleWeights) scores = scores.div(torch.full([], Math.sqrt(this.headDim), { dtype: scores.dtype, device: scores.device }));
      if (this.layerScale !== 1) scores = scores.div(this.layerScale);
      probs = scores.add(mask).softmax(-1).to(v.dtype);
      ctx = this.attn_dropout.forward(probs).matmul(v);
    } else {
      const scale = (this.scaleWeights ? 1 / Math.sqrt(this.headDim) : 1) / this.layerScale;
      ctx = F.scaledDotProductAttention(q, k, v, { attnMask: mask, dropoutP: this.training ? this.dropoutP : 0, scale });
    }
    const merged = ctx.transpose(1, 2).reshape([b, l, -1]);
    return [dropout(this.resid_dropout, this.c_proj.forward(unpad ? unpad.gather(merged) : merged), unpad), probs];
  }
}

class GPT2MLP extends Module {
  c_fc: Conv1D;
  c_proj: Conv1D;
  dropout: Dropout;
  readonly act: Activation;
  constructor(c: PretrainedConfig, inner: number) {
    super();
    const d = c.need<number>("n_embd");
    this.c_fc = this.registerModule("c_fc", new Conv1D(inner, d));
    this.c_proj = this.registerModule("c_proj", new Conv1D(d, inner));
    this.act = activation(c.need("activation_function"));
    this.dropout = this.registerModule("dropout", new Dropout(c.need("resid_pdrop")));
  }
  forward(x: Tensor, unpad: Unpadded | null = null): Tensor {
    return dropout(this.dropout, this.c_proj.forward(this.act(this.c_fc.forward(x))), unpad);
  }
}

class GPT2Block extends GradientCheckpointingLayer {
  ln_1: LayerNorm;
  attn: GPT2Attention;
  ln_2: LayerNorm;
  mlp: GPT2MLP;
  constructor(c: PretrainedConfig, layerIdx: number) {
    super();
    const d = c.need<number>("n_embd");
    const eps = c.need<number>("layer_norm_epsilon");
    this.ln_1 = this.registerModule("ln_1", new LayerNorm(d, { eps }));
    this.attn = this.registerModule("attn", new GPT2Attention(c, layerIdx));
    this.ln_2 = this.registerModule("ln_2", new LayerNorm(d, { eps }));
    this.mlp = this.registerModule("mlp", new GPT2MLP(c, c.get<number | null>("n_inner") ?? 4 * d));
  }
  forward(x: Tensor, mask: Tensor, cache: KvCache | null, wantProbs: boolean, unpad: Unpadded | null = null): [Tensor, Tensor | undefined] {
    const [a, probs] = this.attn.forward(this.ln_1.forward(x), mask, cache, wantProbs, unpad);
    const h = x.add(a);
    return [h.add(this.mlp.forward(this.ln_2.forward(h), unpad)), probs];
  }
}

export abstract class GPT2PreTrainedModel extends PreTrainedModel {
  static override configClass = GPT2Config;
  static override baseModelPrefix = "transformer";
  static override inputNames = ["input_ids", "attention_mask", "token_type_ids", "position_ids", "labels"];
  // Old checkpoints carry the causal-mask buffers (h.N.attn.bias, h.N.attn.masked_bias).
  static override keysToIgnoreOnLoadUnexpected = [/(^|\.)position_ids$/, /attn\.masked_bias$/, /attn\.bias$/];

  /** HF's _init_weights: normal(0, initializer_range) everywhere (Conv1D too), and the residual projections (c_proj) by 1/√(2·n_layer). */
  override initWeights(m: Module): void {
    super.initWeights(m);
    const std = this.config.need<number>("initializer_range");
    if (m instanceof Conv1D) {
      init.normal_(m.weight, 0, std);
      init.zeros_(m.bias);
    }
    if (m instanceof GPT2Attention || m instanceof GPT2MLP) init.normal_(m.c_proj.weight, 0, std / Math.sqrt(2 * this.config.need<number>("n_layer")));
  }
}

export class GPT2Model extends GPT2PreTrainedModel implements RowDecoder<DecoderInputs> {
  wte: Embedding;
  wpe: Embedding;
  drop: Dropout;
  h: ModuleList<GPT2Block>;
  ln_f: LayerNorm;
  /**
   * Run the blocks on the real tokens only (unpadding.ts): on for the LM head, which uses it where its
   * loss reads no padded position's logits; off by default, since the hidden states of padded
   * positions come back as zeros. Not taken with a KV cache, without a 2-D attention mask, for
   * hidden states or attentions asked for, nor while a layer inside draws noise per row (LoRA dropout).
   */
  unpadTokens = false;
  constructor(config: PretrainedConfig, o: { init?: boolean } = {}) {
    super(config);
    const d = config.need<number>("n_embd");
    this.wte = this.registerModule("wte", new Embedding(config.need("vocab_size"), d));
    this.wpe = this.registerModule("wpe", new Embedding(config.need("n_positions"), d));
    this.drop = this.registerModule("drop", new Dropout(config.need("embd_pdrop")));
    this.h = this.registerModule("h", new ModuleList(Array.from({ length: config.need<number>("n_layer") }, (_, i) => new GPT2Block(config, i))));
    this.ln_f = this.registerModule("ln_f", new LayerNorm(d, { eps: config.need("layer_norm_epsilon") }));
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
   * The blocks over the padded batch, or with unpad over the real tokens' rows, gathered once after
   * the embeddings' dropout (positions and noise are the padded batch's); lastHiddenState is then
   * the rows [n, n_embd].
   */
  decode(inputs: DecoderInputs, o: ForwardOptions, unpad: Unpadded | null): BaseModelOutput {
    const ids = inputs.input_ids;
    if (!ids) throw new TypeError("GPT2Model.forward: input_ids is required");
    const [b, l] = ids.shape;
    const cache = inputs.pastKeyValues ?? null;
    checkCacheAllowed(this.h, cache);
    const past = cache?.length ?? 0;
    const maxPos = this.wpe.numEmbeddings;
    const reach = positionsReached(inputs.position_ids, past + l);
    if (reach > maxPos) throw new RangeError(`the sequence reaches position ${reach}, past n_positions (${maxPos})`);
    const positions = inputs.position_ids ?? torch.arange(past, past + l, 1, { device: ids.device }).unsqueeze(0);
    let x = this.wte.forward(ids).add(this.wpe.forward(positions));
    // HF's GPT-2 embeds token types with the token embeddings.
    if (inputs.token_type_ids) x = x.add(this.wte.forward(inputs.token_type_ids));
    x = this.drop.forward(x);
    if (unpad) x = unpad.gather(x);
    const packed = inputs.position_ids && !inputs.attention_mask && !cache ? packedSequenceIds(inputs.position_ids, b, l) : null;
    const mask = layerMask(causalMask(inputs.attention_mask, b, l, past, null, x.dtype, ids.device, packed), this.config, o.outputAttentions);
    const hiddenStates = o.outputHiddenStates ? [x] : undefined;
    const attentions = o.outputAttentions ? ([] as Tensor[]) : undefined;
    for (const block of this.h) {
      const [y, probs] = block.run([x, mask, unpad?.index ?? null], (h, m, index) =>
        block.forward(h, m, cache, o.outputAttentions ?? false, unpad && index ? unpad.withIndex(index) : null),
      );
      x = y;
      hiddenStates?.push(x);
      if (probs) attentions?.push(probs);
    }
    const last = this.ln_f.forward(x);
    if (hiddenStates) hiddenStates[hiddenStates.length - 1] = last;
    return { lastHiddenState: last, hiddenStates, attentions };
  }
}

export class GPT2LMHeadModel extends GPT2PreTrainedModel {
  static override acceptsLossKwargs = true;
  transformer: GPT2Model;
  lm_head: Linear;
  constructor(config: PretrainedConfig) {
    super(config);
    this.transformer = this.registerModule("transformer", new GPT2Model(config, { init: false }));
    this.lm_head = this.registerModule("lm_head", new Linear(config.need("n_embd"), config.need("vocab_size"), { bias: false }));
    this.transformer.unpadTokens = true;
    this.postInit();
  }
  override outputEmbeddings(): Module {
    return this.lm_head;
  }

  override tieWeights(): void {
    this.tieOutputEmbeddings(this.lm_head, this.transformer.wte);
  }
  override labelSpace(): { size: number; name: string } {
    return this.vocabularyLabels();
  }
  /** HF's generate(): greedy or sampled continuations of the prompt (see generation.ts). */
  generate(inputs: Tensor | { input_ids: Tensor; attention_mask?: Tensor }, options: GenerationOptions = {}): Promise<Tensor> {
    return generate(this, inputs, options);
  }
  forward(inputs: DecoderInputs, o: ForwardOptions & { logitsToKeep?: number } = {}): LogitsOutput {
    return causalLmForward(this.transformer, this.lm_head, inputs, o);
  }
}
