// ModernBERT (Warner et al., 2024), as Hugging Face's modeling_modernbert.py (transformers 5, its eager
// and SDPA paths): token embeddings only (no positions, no token types) → pre-norm layers whose
// attention takes rotary position embeddings, every global_attn_every_n_layers-th layer attending
// globally (RoPE θ of full_attention, 160 000 by default) and the others within a sliding window of
// local_attention tokens (θ of sliding_attention, 10 000), a GeGLU feed-forward, no biases by default,
// the first layer without its attention norm → a final norm; the heads pool [CLS] or the mean, then
// dense → activation → norm → classifier. Parameter names are HF's, so checkpoints load as they are.
import * as torch from "../../torch/index.js";
import type { Tensor } from "../../torch/index.js";
import { Dropout, Embedding, LayerNorm, Linear, Module, ModuleList, F, init } from "../../nn/index.js";
import { GradientCheckpointingLayer } from "../gradient_checkpointing.js";
import { extendedAttentionMaskOnnx, layerMask } from "../masking_utils.js";
import { PretrainedConfig, type Json } from "../configuration_utils.js";
import {
  PreTrainedModel,
  finfoMin,
  type ForwardOptions,
  type ModelInputs,
  type BaseModelOutput,
  type LogitsOutput,
  type QuestionAnsweringOutput,
} from "../modeling_utils.js";
import { activation, type Activation } from "../activations.js";
import { DATA_TYPE, int, type OnnxGraph } from "../../onnx/graph.js";
import * as onnx from "../../onnx/layers.js";

type RopeParameters = { rope_type?: string; rope_theta?: number };
type LayerType = "full_attention" | "sliding_attention";

export class ModernBertConfig extends PretrainedConfig {
  static override readonly modelType = "modernbert";
  static override readonly defaults = {
    vocab_size: 50368,
    hidden_size: 768,
    intermediate_size: 1152,
    num_hidden_layers: 22,
    num_attention_heads: 12,
    hidden_activation: "gelu",
    max_position_embeddings: 8192,
    initializer_range: 0.02,
    initializer_cutoff_factor: 2.0,
    norm_eps: 1e-5,
    norm_bias: false,
    pad_token_id: 50283,
    eos_token_id: 50282,
    bos_token_id: 50281,
    cls_token_id: 50281,
    sep_token_id: 50282,
    attention_bias: false,
    attention_dropout: 0.0,
    local_attention: 128,
    embedding_dropout: 0.0,
    mlp_bias: false,
    mlp_dropout: 0.0,
    decoder_bias: true,
    classifier_pooling: "cls",
    classifier_dropout: 0.0,
    classifier_bias: false,
    classifier_activation: "gelu",
    sparse_prediction: false,
    sparse_pred_ignore_index: -100,
    tie_word_embeddings: true,
    global_attn_every_n_layers: 3,
  };

  constructor(values: Json = {}) {
    super(values);
    const pooling = this.get<string>("classifier_pooling");
    if (pooling !== "cls" && pooling !== "mean") {
      throw new Error(`Invalid value for \`classifier_pooling\`, should be either "cls" or "mean", but is ${pooling}.`);
    }
  }

  /** Each layer's attention: HF's layer_types, or the old every-n rule (layer i is global when i % n == 0). */
  get layerTypes(): LayerType[] {
    const given = this.get<LayerType[] | null>("layer_types");
    const n = this.need<number>("num_hidden_layers");
    if (Array.isArray(given)) {
      if (given.length !== n) throw new Error(`layer_types has ${given.length} entries for ${n} layers`);
      for (const t of given)
        if (t !== "full_attention" && t !== "sliding_attention")
          throw new Error(`layer_types: unknown attention type '${t}' (full_attention, sliding_attention)`);
      return given;
    }
    const every = this.need<number>("global_attn_every_n_layers");
    return Array.from({ length: n }, (_, i) => (i % every ? "sliding_attention" : "full_attention"));
  }

  /**
   * RoPE θ per attention type: transformers 5's rope_parameters, else the old global_rope_theta /
   * local_rope_theta keys, else HF's defaults (160 000 global, 10 000 local). Only the default RoPE type is built.
   */
  ropeTheta(type: LayerType): number {
    const params = this.get<Record<string, RopeParameters | null> | null>("rope_parameters") ?? {};
    const p = params[type] ?? {};
    const ropeType = p.rope_type ?? "default";
    if (ropeType !== "default") throw new Error(`ModernBERT: rope_type '${ropeType}' for ${type} is not supported (default)`);
    const old = this.get<number>(type === "full_attention" ? "global_rope_theta" : "local_rope_theta");
    return p.rope_theta ?? old ?? (type === "full_attention" ? 160_000 : 10_000);
  }
}

class ModernBertEmbeddings extends Module {
  tok_embeddings: Embedding;
  norm: LayerNorm;
  drop: Dropout;
  constructor(c: PretrainedConfig) {
    super();
    const h = c.need<number>("hidden_size");
    this.tok_embeddings = this.registerModule("tok_embeddings", new Embedding(c.need("vocab_size"), h, { paddingIdx: c.get<number>("pad_token_id") }));
    this.norm = this.registerModule("norm", new LayerNorm(h, { eps: c.need("norm_eps"), bias: c.need("norm_bias") }));
    this.drop = this.registerModule("drop", new Dropout(c.need("embedding_dropout")));
  }
  forward(ids: Tensor): Tensor {
    return this.drop.forward(this.norm.forward(this.tok_embeddings.forward(ids)));
  }
  onnx(g: OnnxGraph, ids: string): string {
    return onnx.layerNorm(g, this.norm, onnx.embedding(g, this.tok_embeddings, ids));
  }
}

class ModernBertMLP extends Module {
  Wi: Linear;
  drop: Dropout;
  Wo: Linear;
  readonly actName: string;
  readonly act: Activation;
  constructor(c: PretrainedConfig) {
    super();
    const h = c.need<number>("hidden_size");
    const inner = c.need<number>("intermediate_size");
    this.actName = c.need("hidden_activation");
    this.Wi = this.registerModule("Wi", new Linear(h, inner * 2, { bias: c.need("mlp_bias") }));
    this.act = activation(this.actName);
    this.drop = this.registerModule("drop", new Dropout(c.need("mlp_dropout")));
    this.Wo = this.registerModule("Wo", new Linear(inner, h, { bias: c.need("mlp_bias") }));
  }
  forward(x: Tensor): Tensor {
    const [input, gate] = this.Wi.forward(x).chunk(2, -1);
    return this.Wo.forward(this.drop.forward(this.act(input).mul(gate)));
  }
  onnx(g: OnnxGraph, x: string): string {
    const inner = this.Wo.inFeatures;
    const [input, gate] = g.opN("Split", [onnx.linear(g, this.Wi, x), g.int64([inner, inner])], 2, { axis: int(-1) });
    return onnx.linear(g, this.Wo, g.op("Mul", [onnx.activation(g, this.actName, input), gate]));
  }
}

/** HF's compute_default_rope_parameters: 1 / θ^(2i/d), in float32 as torch computes `base ** (arange / dim)`. */
function inverseFrequencies(theta: number, headDim: number, device: string): Tensor {
  const exponents = torch.arange(0, headDim, 2, { dtype: "int64", device }).to("float32").div(headDim);
  return torch.full([exponents.shape[0]], theta, { dtype: "float32", device }).pow(exponents).reciprocal();
}

/** cos and sin of RoPE at base θ for position ids [b, L] (or 0..L-1 as [1, L]): [b, L, head_dim] (HF's ModernBertRotaryEmbedding, default type). */
function rotaryCosSin(theta: number, headDim: number, positions: Tensor): [Tensor, Tensor] {
  return torch.tidy(() => {
    const freqs = positions
      .to("float32")
      .unsqueeze(-1)
      .mul(inverseFrequencies(theta, headDim, positions.device));
    const emb = torch.cat([freqs, freqs], -1);
    return [emb.cos(), emb.sin()] as [Tensor, Tensor];
  });
}

function rotateHalf(x: Tensor): Tensor {
  const half = x.shape[x.ndim - 1] / 2;
  return torch.cat([x.narrow(-1, half, half).neg(), x.narrow(-1, 0, half)], -1);
}

/** rotate_half as ONNX nodes: [-x2, x1] of the two halves of the last axis. */
function rotateHalfOnnx(g: OnnxGraph, x: string, headDim: number): string {
  const [x1, x2] = g.opN("Split", [x, g.int64([headDim / 2, headDim / 2])], 2, { axis: int(-1) });
  return g.op("Concat", [g.op("Neg", [x2]), x1], { axis: int(-1) });
}

class ModernBertAttention extends Module {
  readonly heads: number;
  readonly headDim: number;
  readonly local: boolean;
  readonly eager: boolean;
  readonly dropoutP: number;
  Wqkv: Linear;
  Wo: Linear;
  out_drop: Dropout;
  constructor(c: PretrainedConfig, layerId: number) {
    super();
    const h = c.need<number>("hidden_size");
    this.heads = c.need("num_attention_heads");
    if (h % this.heads !== 0) throw new Error(`The hidden size (${h}) is not a multiple of the number of attention heads (${this.heads})`);
    this.headDim = h / this.heads;
    this.dropoutP = c.need("attention_dropout");
    this.eager = c.get("_attn_implementation") === "eager";
    this.Wqkv = this.registerModule("Wqkv", new Linear(h, 3 * h, { bias: c.need("attention_bias") }));
    // As HF: the window follows global_attn_every_n_layers (layer_types decides the RoPE θ).
    this.local = layerId % c.need<number>("global_attn_every_n_layers") !== 0;
    this.Wo = this.registerModule("Wo", new Linear(h, h, { bias: c.need("attention_bias") }));
    this.out_drop = this.registerModule("out_drop", new Dropout(this.dropoutP));
  }
  forward(x: Tensor, rope: [Tensor, Tensor], globalMask: Tensor, slidingMask: Tensor, wantProbs: boolean): [Tensor, Tensor | undefined] {
    const [b, l, d] = x.shape;
    // [b, l, 3, heads, head_dim] → q, k, v of [b, heads, l, head_dim]
    const qkv = this.Wqkv.forward(x).view(b, l, 3, this.heads, this.headDim).transpose(3, 1);
    let q = qkv.select(2, 0);
    let k = qkv.select(2, 1);
    const v = qkv.select(2, 2);
    const [cos, sin] = rope.map((t) => t.unsqueeze(1).to(x.dtype));
    q = q.mul(cos).add(rotateHalf(q).mul(sin));
    k = k.mul(cos).add(rotateHalf(k).mul(sin));
    const mask = this.local ? slidingMask : globalMask;
    let ctx: Tensor;
    let probs: Tensor | undefined;
    if (this.eager || wantProbs) {
      const scores = q
        .matmul(k.transpose(2, 3))
        .mul(this.headDim ** -0.5)
        .add(mask);
      probs = scores.softmax(-1, "float32").to(q.dtype);
      ctx = F.dropout(probs, this.dropoutP, this.training).matmul(v);
    } else {
      ctx = F.scaledDotProductAttention(q, k, v, { attnMask: mask, dropoutP: this.training ? this.dropoutP : 0 });
    }
    return [this.out_drop.forward(this.Wo.forward(ctx.transpose(1, 2).contiguous().view(b, l, d))), probs];
  }
  /** `rope` is [cos, sin] of [1, 1, L, head_dim]; the masks are additive ([B, 1, 1, L] global, [B, 1, L, L] sliding). */
  onnx(g: OnnxGraph, x: string, rope: [string, string], globalMask: string, slidingMask: string): string {
    const qkv = g.op("Reshape", [onnx.linear(g, this.Wqkv, x), g.int64([0, 0, 3, this.heads, this.headDim])]);
    const [q3, k3, v3] = g.opN("Split", [g.op("Transpose", [qkv], { perm: { ints: [2, 0, 3, 1, 4] } }), g.int64([1, 1, 1])], 3, { axis: int(0) });
    const axis0 = g.int64([0]);
    const [q, k, v] = [q3, k3, v3].map((t) => g.op("Squeeze", [t, axis0]));
    const rotate = (t: string) => g.op("Add", [g.op("Mul", [t, rope[0]]), g.op("Mul", [rotateHalfOnnx(g, t, this.headDim), rope[1]])]);
    const kT = g.op("Transpose", [rotate(k)], { perm: { ints: [0, 1, 3, 2] } });
    const scores = g.op("Add", [g.op("Mul", [g.op("MatMul", [rotate(q), kT]), g.float32([this.headDim ** -0.5], [])]), this.local ? slidingMask : globalMask]);
    return onnx.linear(g, this.Wo, onnx.mergeHeads(g, g.op("MatMul", [g.op("Softmax", [scores], { axis: int(-1) }), v])));
  }
}

class ModernBertEncoderLayer extends GradientCheckpointingLayer {
  attn_norm: LayerNorm | null;
  attn: ModernBertAttention;
  mlp_norm: LayerNorm;
  mlp: ModernBertMLP;
  readonly attentionType: LayerType;
  constructor(c: ModernBertConfig, layerId: number) {
    super();
    const h = c.need<number>("hidden_size");
    const norm = () => new LayerNorm(h, { eps: c.need("norm_eps"), bias: c.need("norm_bias") });
    // The first layer's attention norm is the identity: the embeddings were just normalized.
    this.attn_norm = layerId === 0 ? null : this.registerModule("attn_norm", norm());
    this.attn = this.registerModule("attn", new ModernBertAttention(c, layerId));
    this.mlp_norm = this.registerModule("mlp_norm", norm());
    this.mlp = this.registerModule("mlp", new ModernBertMLP(c));
    this.attentionType = c.layerTypes[layerId];
  }
  forward(x: Tensor, rope: [Tensor, Tensor], globalMask: Tensor, slidingMask: Tensor, wantProbs: boolean): [Tensor, Tensor | undefined] {
    const [a, probs] = this.attn.forward(this.attn_norm ? this.attn_norm.forward(x) : x, rope, globalMask, slidingMask, wantProbs);
    const h = x.add(a);
    return [h.add(this.mlp.forward(this.mlp_norm.forward(h))), probs];
  }
  onnx(g: OnnxGraph, x: string, rope: [string, string], globalMask: string, slidingMask: string): string {
    const h = g.op("Add", [x, this.attn.onnx(g, this.attn_norm ? onnx.layerNorm(g, this.attn_norm, x) : x, rope, globalMask, slidingMask)]);
    return g.op("Add", [h, this.mlp.onnx(g, onnx.layerNorm(g, this.mlp_norm, h))]);
  }
}

export abstract class ModernBertPreTrainedModel extends PreTrainedModel {
  static override configClass = ModernBertConfig;
  static override baseModelPrefix = "model";
  static override inputNames = ["input_ids", "attention_mask", "position_ids", "labels"];

  /** HF's _init_weights: truncated normals (± initializer_cutoff_factor σ), "out" projections scaled by 1/√(2·layers), heads by 1/√hidden. */
  override initWeights(m: Module): void {
    const c = this.config;
    const cutoff = c.get<number | null>("initializer_cutoff_factor") ?? 3;
    const range = c.need<number>("initializer_range");
    const std = {
      in: range,
      out: range / Math.sqrt(2 * c.need<number>("num_hidden_layers")),
      embedding: range,
      finalOut: c.need<number>("hidden_size") ** -0.5,
    };
    const initWeight = (layer: Linear | Embedding, s: number) => {
      init.truncNormal_(layer.weight, 0, s, -cutoff * s, cutoff * s);
      if (layer instanceof Linear && layer.bias) init.zeros_(layer.bias);
    };
    if (m instanceof ModernBertEmbeddings) initWeight(m.tok_embeddings, std.embedding);
    else if (m instanceof ModernBertMLP) {
      initWeight(m.Wi, std.in);
      initWeight(m.Wo, std.out);
    } else if (m instanceof ModernBertAttention) {
      initWeight(m.Wqkv, std.in);
      initWeight(m.Wo, std.out);
    } else if (m instanceof ModernBertPredictionHead) initWeight(m.dense, std.out);
    else if (m instanceof ModernBertForMaskedLM) initWeight(m.decoder, std.out);
    else if (m instanceof ModernBertForSequenceClassification || m instanceof ModernBertForTokenClassification || m instanceof ModernBertForQuestionAnswering)
      initWeight(m.classifier, std.finalOut);
    else if (m instanceof LayerNorm) {
      if (m.weight) init.ones_(m.weight);
      if (m.bias) init.zeros_(m.bias);
    }
  }
}

export class ModernBertModel extends ModernBertPreTrainedModel {
  embeddings: ModernBertEmbeddings;
  layers: ModuleList<ModernBertEncoderLayer>;
  final_norm: LayerNorm;
  constructor(config: PretrainedConfig, o: { init?: boolean } = {}) {
    super(config);
    const c = config as ModernBertConfig;
    this.embeddings = this.registerModule("embeddings", new ModernBertEmbeddings(c));
    this.layers = this.registerModule(
      "layers",
      new ModuleList(Array.from({ length: c.need<number>("num_hidden_layers") }, (_, i) => new ModernBertEncoderLayer(c, i))),
    );
    this.final_norm = this.registerModule("final_norm", new LayerNorm(c.need<number>("hidden_size"), { eps: c.need("norm_eps"), bias: c.need("norm_bias") }));
    if (o.init !== false) this.postInit();
  }

  /** HF's _update_attention_mask: the padding mask as additive [b, 1, L, L], and the same outside the sliding window. */
  #masks(mask: Tensor, dtype: torch.DType): [Tensor, Tensor] {
    const [b, l] = mask.shape;
    const min = finfoMin(dtype);
    const global = mask.eq(0).view(b, 1, 1, l).expand([b, 1, l, l]).to(dtype).mul(min);
    const rows = torch.arange(l, undefined, 1, { device: mask.device });
    const far = rows
      .unsqueeze(0)
      .sub(rows.unsqueeze(1))
      .abs()
      .gt(Math.floor(this.config.need<number>("local_attention") / 2));
    return [global, global.maskedFill(far.view(1, 1, l, l), min)];
  }

  forward(inputs: ModelInputs, o: ForwardOptions = {}): BaseModelOutput {
    const ids = inputs.input_ids;
    if (!ids) throw new TypeError("ModernBertModel.forward: input_ids is required");
    const [, l] = ids.shape;
    const maxPos = this.config.need<number>("max_position_embeddings");
    if (l > maxPos) throw new RangeError(`input of ${l} tokens is longer than max_position_embeddings (${maxPos})`);
    const mask = inputs.attention_mask ?? torch.onesLike(ids);
    let x = this.embeddings.forward(ids);
    const c = this.config as ModernBertConfig;
    const [globalMask, slidingMask] = this.#masks(mask, x.dtype).map((m) => layerMask(m, c, o.outputAttentions));
    const headDim = c.need<number>("hidden_size") / c.need<number>("num_attention_heads");
    const rope = new Map<LayerType, [Tensor, Tensor]>();
    for (const t of new Set(c.layerTypes)) {
      const positions = inputs.position_ids ?? torch.arange(l, undefined, 1, { device: ids.device }).unsqueeze(0);
      rope.set(t, rotaryCosSin(c.ropeTheta(t), headDim, positions));
    }
    const hiddenStates = o.outputHiddenStates ? [x] : undefined;
    const attentions = o.outputAttentions ? ([] as Tensor[]) : undefined;
    for (const layer of this.layers) {
      const [y, probs] = layer.run([x, ...rope.get(layer.attentionType)!, globalMask, slidingMask], (h, cos, sin, g, s) =>
        layer.forward(h, [cos, sin], g, s, o.outputAttentions ?? false),
      );
      x = y;
      hiddenStates?.push(x);
      if (probs) attentions?.push(probs);
    }
    // HF's hidden states are those entering each layer and the last one before the final norm.
    return { lastHiddenState: this.final_norm.forward(x), hiddenStates, attentions };
  }

  /** The graph's last hidden states from input_ids and attention_mask (RoPE and the window computed in the graph). */
  onnxHidden(g: OnnxGraph): { last: string; mask: string } {
    const ids = g.input("input_ids", "int64", onnx.BATCH_SEQ);
    const mask = g.input("attention_mask", "int64", onnx.BATCH_SEQ);
    const c = this.config as ModernBertConfig;
    const headDim = c.need<number>("hidden_size") / c.need<number>("num_attention_heads");
    const globalMask = extendedAttentionMaskOnnx(g, mask);
    const positions = onnx.positions(g, ids);
    const distance = g.op("Abs", [g.op("Sub", [g.op("Unsqueeze", [positions, g.int64([2])]), g.op("Unsqueeze", [positions, g.int64([1])])])]);
    const far = g.op("Unsqueeze", [g.op("Greater", [distance, g.int64([Math.floor(c.need<number>("local_attention") / 2)], [])]), g.int64([1])]);
    const slidingMask = g.op("Where", [far, g.float32([finfoMin("float32")], []), globalMask]);
    const rope = new Map<LayerType, [string, string]>();
    const place = g.op("Unsqueeze", [g.op("Cast", [positions], { to: int(DATA_TYPE.float32) }), g.int64([2])]);
    for (const t of new Set(c.layerTypes)) {
      const inv = torch.tidy(() => Array.from(inverseFrequencies(c.ropeTheta(t), headDim, "cpu").dataSync() as Float32Array));
      const freqs = g.op("Mul", [place, g.float32(inv, [inv.length])]);
      const emb = g.op("Unsqueeze", [g.op("Concat", [freqs, freqs], { axis: int(-1) }), g.int64([1])]);
      rope.set(t, [g.op("Cos", [emb]), g.op("Sin", [emb])]);
    }
    let x = this.embeddings.onnx(g, ids);
    for (const layer of this.layers) x = layer.onnx(g, x, rope.get(layer.attentionType)!, globalMask, slidingMask);
    return { last: onnx.layerNorm(g, this.final_norm, x), mask };
  }

  override onnx(g: OnnxGraph): void {
    g.output("last_hidden_state", this.onnxHidden(g).last, "float32", [...onnx.BATCH_SEQ, this.config.need<number>("hidden_size")]);
  }
}

class ModernBertPredictionHead extends Module {
  dense: Linear;
  norm: LayerNorm;
  readonly actName: string;
  readonly act: Activation;
  constructor(c: PretrainedConfig) {
    super();
    const h = c.need<number>("hidden_size");
    this.dense = this.registerModule("dense", new Linear(h, h, { bias: c.need("classifier_bias") }));
    this.actName = c.need("classifier_activation");
    this.act = activation(this.actName);
    this.norm = this.registerModule("norm", new LayerNorm(h, { eps: c.need("norm_eps"), bias: c.need("norm_bias") }));
  }
  forward(x: Tensor): Tensor {
    return this.norm.forward(this.act(this.dense.forward(x)));
  }
  onnx(g: OnnxGraph, x: string): string {
    return onnx.layerNorm(g, this.norm, onnx.activation(g, this.actName, onnx.linear(g, this.dense, x)));
  }
}

export class ModernBertForMaskedLM extends ModernBertPreTrainedModel {
  model: ModernBertModel;
  head: ModernBertPredictionHead;
  decoder: Linear;
  constructor(config: PretrainedConfig) {
    super(config);
    this.model = this.registerModule("model", new ModernBertModel(config, { init: false }));
    this.head = this.registerModule("head", new ModernBertPredictionHead(config));
    this.decoder = this.registerModule("decoder", new Linear(config.need("hidden_size"), config.need("vocab_size"), { bias: config.need("decoder_bias") }));
    this.postInit();
  }
  override outputEmbeddings(): Module {
    return this.decoder;
  }

  override tieWeights(): void {
    this.tieOutputEmbeddings(this.decoder, this.model.embeddings.tok_embeddings);
  }
  override labelSpace(): { size: number; name: string } {
    return this.vocabularyLabels();
  }
  forward(inputs: ModelInputs, o: ForwardOptions = {}): LogitsOutput {
    const out = this.model.forward(inputs, o);
    let hidden = out.lastHiddenState;
    let labels = inputs.labels;
    // sparse_prediction: only the masked tokens (labels not ignored) go through the head, as HF's.
    if (this.config.get("sparse_prediction") && labels) {
      const flat = labels.reshape([-1]);
      const keep = flat.ne(this.config.need<number>("sparse_pred_ignore_index")).nonzero().reshape([-1]);
      hidden = hidden.reshape([flat.shape[0], -1]).indexSelect(0, keep);
      labels = flat.indexSelect(0, keep);
    }
    const logits = this.decoder.forward(this.head.forward(hidden));
    // transformers 5's ForMaskedLMLoss upcasts the logits to float32.
    return { loss: this.maskedLmLoss(logits.float(), labels), logits, hiddenStates: out.hiddenStates, attentions: out.attentions };
  }
  override onnx(g: OnnxGraph): void {
    const logits = onnx.tiedProjection(g, this.decoder, this.head.onnx(g, this.model.onnxHidden(g).last));
    g.output("logits", logits, "float32", [...onnx.BATCH_SEQ, this.config.need<number>("vocab_size")]);
  }
}

/** The heads' shared start: the model, the prediction head on the pooled or per-token states, dropout, a classifier. */
abstract class ModernBertWithClassifier extends ModernBertPreTrainedModel {
  model: ModernBertModel;
  head: ModernBertPredictionHead;
  drop: Dropout;
  classifier: Linear;
  constructor(config: PretrainedConfig, outputs: number) {
    super(config);
    this.model = this.registerModule("model", new ModernBertModel(config, { init: false }));
    this.head = this.registerModule("head", new ModernBertPredictionHead(config));
    this.drop = this.registerModule("drop", new Dropout(config.classifierDropout ?? 0));
    this.classifier = this.registerModule("classifier", new Linear(config.need("hidden_size"), outputs));
    this.postInit();
  }
  protected classify(states: Tensor): Tensor {
    return this.classifier.forward(this.drop.forward(this.head.forward(states)));
  }
  protected classifyOnnx(g: OnnxGraph, states: string): string {
    return onnx.linear(g, this.classifier, this.head.onnx(g, states));
  }
}

export class ModernBertForSequenceClassification extends ModernBertWithClassifier {
  constructor(config: PretrainedConfig) {
    super(config, config.numLabels);
  }
  forward(inputs: ModelInputs, o: ForwardOptions = {}): LogitsOutput {
    const out = this.model.forward(inputs, o);
    const last = out.lastHiddenState;
    let pooled: Tensor;
    if (this.config.get("classifier_pooling") === "mean") {
      const mask = (inputs.attention_mask ?? torch.onesLike(inputs.input_ids!)).unsqueeze(-1).to(last.dtype);
      pooled = last.mul(mask).sum(1).div(mask.sum(1));
    } else pooled = last.select(1, 0);
    const logits = this.classify(pooled);
    const loss = inputs.labels ? this.classificationLoss(logits, inputs.labels) : undefined;
    return { loss, logits, hiddenStates: out.hiddenStates, attentions: out.attentions };
  }
  override onnx(g: OnnxGraph): void {
    const { last, mask } = this.model.onnxHidden(g);
    let pooled: string;
    if (this.config.get("classifier_pooling") === "mean") {
      const m = g.op("Unsqueeze", [g.op("Cast", [mask], { to: int(DATA_TYPE.float32) }), g.int64([-1])]);
      const axis = g.int64([1]);
      pooled = g.op("Div", [g.op("ReduceSum", [g.op("Mul", [last, m]), axis], { keepdims: int(0) }), g.op("ReduceSum", [m, axis], { keepdims: int(0) })]);
    } else pooled = onnx.selectToken(g, last, 0);
    g.output("logits", this.classifyOnnx(g, pooled), "float32", ["batch_size", this.config.numLabels]);
  }
}

export class ModernBertForTokenClassification extends ModernBertWithClassifier {
  constructor(config: PretrainedConfig) {
    super(config, config.numLabels);
  }
  forward(inputs: ModelInputs, o: ForwardOptions = {}): LogitsOutput {
    const out = this.model.forward(inputs, o);
    const logits = this.classify(out.lastHiddenState);
    const loss = inputs.labels ? F.crossEntropy(logits.view(-1, this.config.numLabels), inputs.labels.view(-1)) : undefined;
    return { loss, logits, hiddenStates: out.hiddenStates, attentions: out.attentions };
  }
  override onnx(g: OnnxGraph): void {
    g.output("logits", this.classifyOnnx(g, this.model.onnxHidden(g).last), "float32", [...onnx.BATCH_SEQ, this.config.numLabels]);
  }
}

export class ModernBertForQuestionAnswering extends ModernBertWithClassifier {
  static override inputNames = ["input_ids", "attention_mask", "position_ids", "start_positions", "end_positions"];
  constructor(config: PretrainedConfig) {
    if (config.numLabels !== 2) throw new RangeError(`ModernBertForQuestionAnswering needs num_labels 2 (start and end logits), got ${config.numLabels}`);
    super(config, 2);
  }
  forward(inputs: ModelInputs, o: ForwardOptions = {}): QuestionAnsweringOutput {
    const out = this.model.forward(inputs, o);
    return this.questionAnsweringOutput(this.classify(out.lastHiddenState), inputs, out);
  }
  override onnx(g: OnnxGraph): void {
    onnx.questionAnsweringOutputs(g, this.classifyOnnx(g, this.model.onnxHidden(g).last));
  }
}
