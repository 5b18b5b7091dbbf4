// BERT (Devlin et al., 2018), as Hugging Face's modeling_bert.py: embeddings → a stack of
// self-attention + feed-forward layers → a pooler, and the task heads on top. Parameter names are
// HF's, so checkpoints load as they are.
import * as torch from "../../torch/index.js";
import type { Tensor } from "../../torch/index.js";
import { Dropout, Embedding, LayerNorm, Linear, Module, ModuleList, F } from "../../nn/index.js";
import { GradientCheckpointingLayer } from "../gradient_checkpointing.js";
import { extendedAttentionMask, extendedAttentionMaskOnnx } from "../masking_utils.js";
import { FirstTokens, Unpadded, rowsExact } from "../unpadding.js";
import { PretrainedConfig } from "../configuration_utils.js";
import {
  PreTrainedModel,
  type ForwardOptions,
  type ModelInputs,
  type BaseModelOutput,
  type LogitsOutput,
  type QuestionAnsweringOutput,
} from "../modeling_utils.js";
import { activation, type Activation } from "../activations.js";
import type { OnnxGraph } from "../../onnx/graph.js";
import * as onnx from "../../onnx/layers.js";

export class BertConfig extends PretrainedConfig {
  static override readonly modelType = "bert";
  static override readonly defaults = {
    vocab_size: 30522,
    hidden_size: 768,
    num_hidden_layers: 12,
    num_attention_heads: 12,
    intermediate_size: 3072,
    hidden_act: "gelu",
    hidden_dropout_prob: 0.1,
    attention_probs_dropout_prob: 0.1,
    max_position_embeddings: 512,
    type_vocab_size: 2,
    initializer_range: 0.02,
    layer_norm_eps: 1e-12,
    pad_token_id: 0,
    position_embedding_type: "absolute",
    use_cache: true,
    classifier_dropout: null,
  };
}

class BertEmbeddings extends Module {
  word_embeddings: Embedding;
  position_embeddings: Embedding;
  token_type_embeddings: Embedding;
  LayerNorm: LayerNorm;
  dropout: Dropout;

  constructor(c: PretrainedConfig) {
    super();
    const h = c.need<number>("hidden_size");
    this.word_embeddings = this.registerModule("word_embeddings", new Embedding(c.need("vocab_size"), h, { paddingIdx: c.get<number>("pad_token_id") }));
    this.position_embeddings = this.registerModule("position_embeddings", new Embedding(c.need("max_position_embeddings"), h));
    this.token_type_embeddings = this.registerModule("token_type_embeddings", new Embedding(c.need("type_vocab_size"), h));
    this.LayerNorm = this.registerModule("LayerNorm", new LayerNorm(h, { eps: c.need("layer_norm_eps") }));
    this.dropout = this.registerModule("dropout", new Dropout(c.need("hidden_dropout_prob")));
  }

  forward(inputIds: Tensor, tokenTypeIds?: Tensor, positionIds?: Tensor): Tensor {
    const [b, len] = inputIds.shape;
    const maxPos = this.position_embeddings.numEmbeddings;
    if (len > maxPos) throw new RangeError(`input of ${len} tokens is longer than max_position_embeddings (${maxPos})`);
    const positions = positionIds ?? torch.arange(len, undefined, 1, { device: inputIds.device }).unsqueeze(0);
    const types = tokenTypeIds ?? torch.zeros([b, len], { dtype: "int64", device: inputIds.device });
    const x = this.word_embeddings.forward(inputIds).add(this.token_type_embeddings.forward(types)).add(this.position_embeddings.forward(positions));
    return this.dropout.forward(this.LayerNorm.forward(x));
  }

  onnx(g: OnnxGraph, ids: string): string {
    const types = g.input("token_type_ids", "int64", onnx.BATCH_SEQ);
    const words = g.op("Add", [onnx.embedding(g, this.word_embeddings, ids), onnx.embedding(g, this.token_type_embeddings, types)]);
    return onnx.layerNorm(g, this.LayerNorm, g.op("Add", [words, onnx.embedding(g, this.position_embeddings, onnx.positions(g, ids))]));
  }
}

class BertSelfAttention extends Module {
  readonly heads: number;
  readonly eager: boolean;
  readonly dropoutP: number;
  query: Linear;
  key: Linear;
  value: Linear;
  dropout: Dropout;

  constructor(c: PretrainedConfig) {
    super();
    const h = c.need<number>("hidden_size");
    this.heads = c.need("num_attention_heads");
    if (h % this.heads !== 0) throw new RangeError(`The hidden size (${h}) is not a multiple of the number of attention heads (${this.heads})`);
    this.eager = c.get("_attn_implementation") === "eager";
    this.dropoutP = c.need("attention_probs_dropout_prob");
    this.query = this.registerModule("query", new Linear(h, h));
    this.key = this.registerModule("key", new Linear(h, h));
    this.value = this.registerModule("value", new Linear(h, h));
    this.dropout = this.registerModule("dropout", new Dropout(this.dropoutP));
  }

  #heads(x: Tensor): Tensor {
    const [b, l, h] = x.shape;
    return x.view(b, l, this.heads, h / this.heads).permute(0, 2, 1, 3);
  }

  /**
   * Context [B, L, H], and the attention probabilities when asked (eager path). Unpadded, x and the
   * context are the real tokens' rows [n, H]; q, k and v are scattered to the padded layout. Given
   * first, the context is the first tokens' alone [B, H] (their queries against every key).
   */
  forward(x: Tensor, mask: Tensor, wantProbs: boolean, unpad: Unpadded | null = null, first: FirstTokens | null = null): [Tensor, Tensor | undefined] {
    const project = (layer: Linear) => {
      const y = layer.forward(x);
      return this.#heads(unpad ? unpad.scatter(y) : y);
    };
    const q = first ? this.#heads(this.query.forward(first.take(x)).unsqueeze(1)) : project(this.query);
    const k = project(this.key);
    const v = project(this.value);
    let ctx: Tensor;
    let probs: Tensor | undefined;
    // The first queries' dropout keeps their rows of the full probabilities' noise: computed here.
    if (this.eager || wantProbs || (first && this.training && this.dropoutP > 0)) {
      const scores = q.matmul(k.transpose(-1, -2)).div(Math.sqrt(q.shape[3])).add(mask);
      probs = scores.softmax(-1);
      ctx = (first ? first.probsDropout(probs, this.dropout.p, this.training) : this.dropout.forward(probs)).matmul(v);
    } else {
      ctx = F.scaledDotProductAttention(q, k, v, { attnMask: mask, dropoutP: this.training ? this.dropoutP : 0 });
    }
    const [b, , l] = ctx.shape;
    const merged = ctx.permute(0, 2, 1, 3).reshape(b, l, -1);
    if (first) return [merged.view(b, -1), probs];
    return [unpad ? unpad.gather(merged) : merged, probs];
  }

  onnx(g: OnnxGraph, x: string, mask: string): string {
    const d = this.query.outFeatures / this.heads;
    const q = onnx.splitHeads(g, onnx.linear(g, this.query, x), this.heads, d);
    const kT = onnx.splitHeads(g, onnx.linear(g, this.key, x), this.heads, d, true);
    const v = onnx.splitHeads(g, onnx.linear(g, this.value, x), this.heads, d);
    const scores = g.op("Add", [g.op("Div", [g.op("MatMul", [q, kT]), g.float32([Math.sqrt(d)], [])]), mask]);
    return onnx.mergeHeads(g, g.op("MatMul", [g.op("Softmax", [scores], { axis: { i: -1 } }), v]));
  }
}

/** dense → dropout → LayerNorm(x + residual): BertSelfOutput and BertOutput. */
class BertDenseNorm extends Module {
  dense: Linear;
  LayerNorm: LayerNorm;
  dropout: Dropout;
  constructor(c: PretrainedConfig, inFeatures: number) {
    super();
    this.dense = this.registerModule("dense", new Linear(inFeatures, c.need("hidden_size")));
    this.LayerNorm = this.registerModule("LayerNorm", new LayerNorm(c.need<number>("hidden_size"), { eps: c.need("layer_norm_eps") }));
    this.dropout = this.registerModule("dropout", new Dropout(c.need("hidden_dropout_prob")));
  }
  /** rows: the positions x holds when not the padded batch (the real tokens, or the first ones). */
  forward(x: Tensor, residual: Tensor, rows: Unpadded | FirstTokens | null = null): Tensor {
    const y = this.dense.forward(x);
    return this.LayerNorm.forward((rows ? rows.dropout(y, this.dropout.p, this.dropout.training) : this.dropout.forward(y)).add(residual));
  }
  onnx(g: OnnxGraph, x: string, residual: string): string {
    return onnx.layerNorm(g, this.LayerNorm, g.op("Add", [onnx.linear(g, this.dense, x), residual]));
  }
}

class BertAttention extends Module {
  self: BertSelfAttention;
  output: BertDenseNorm;
  constructor(c: PretrainedConfig) {
    super();
    this.self = this.registerModule("self", new BertSelfAttention(c));
    this.output = this.registerModule("output", new BertDenseNorm(c, c.need("hidden_size")));
  }
  forward(x: Tensor, mask: Tensor, wantProbs: boolean, unpad: Unpadded | null = null, first: FirstTokens | null = null): [Tensor, Tensor | undefined] {
    const [ctx, probs] = this.self.forward(x, mask, wantProbs, unpad, first);
    return [this.output.forward(ctx, first ? first.take(x) : x, first ?? unpad), probs];
  }
  onnx(g: OnnxGraph, x: string, mask: string): string {
    return this.output.onnx(g, this.self.onnx(g, x, mask), x);
  }
}

class BertIntermediate extends Module {
  dense: Linear;
  readonly actName: string;
  readonly act: Activation;
  constructor(c: PretrainedConfig) {
    super();
    this.dense = this.registerModule("dense", new Linear(c.need("hidden_size"), c.need("intermediate_size")));
    this.actName = c.need("hidden_act");
    this.act = activation(this.actName);
  }
  forward(x: Tensor): Tensor {
    return this.act(this.dense.forward(x));
  }
  onnx(g: OnnxGraph, x: string): string {
    return onnx.activation(g, this.actName, onnx.linear(g, this.dense, x));
  }
}

class BertLayer extends GradientCheckpointingLayer {
  attention: BertAttention;
  intermediate: BertIntermediate;
  output: BertDenseNorm;
  constructor(c: PretrainedConfig) {
    super();
    this.attention = this.registerModule("attention", new BertAttention(c));
    this.intermediate = this.registerModule("intermediate", new BertIntermediate(c));
    this.output = this.registerModule("output", new BertDenseNorm(c, c.need("intermediate_size")));
  }
  /** Given first, the output is the first tokens' rows alone [B, H]. */
  forward(x: Tensor, mask: Tensor, wantProbs: boolean, unpad: Unpadded | null = null, first: FirstTokens | null = null): [Tensor, Tensor | undefined] {
    const [a, probs] = this.attention.forward(x, mask, wantProbs, unpad, first);
    return [this.output.forward(this.intermediate.forward(a), a, first ?? unpad), probs];
  }
  onnx(g: OnnxGraph, x: string, mask: string): string {
    const a = this.attention.onnx(g, x, mask);
    return this.output.onnx(g, this.intermediate.onnx(g, a), a);
  }
}

class BertEncoder extends Module {
  layer: ModuleList<BertLayer>;
  constructor(c: PretrainedConfig) {
    super();
    this.layer = this.registerModule("layer", new ModuleList(Array.from({ length: c.need<number>("num_hidden_layers") }, () => new BertLayer(c))));
  }
  /**
   * The layers over x [B, L, H], or over the real tokens' rows [n, H] when unpadded; given first,
   * the last layer gives the first tokens' rows alone [B, H].
   */
  forward(
    x: Tensor,
    mask: Tensor,
    o: ForwardOptions,
    unpad: Unpadded | null = null,
    first: FirstTokens | null = null,
  ): { last: Tensor; hiddenStates?: Tensor[]; attentions?: Tensor[] } {
    const hiddenStates = o.outputHiddenStates ? [x] : undefined;
    const attentions = o.outputAttentions ? ([] as Tensor[]) : undefined;
    const lastLayer = this.layer.length - 1;
    for (const [i, layer] of [...this.layer].entries()) {
      const firstHere = i === lastLayer ? first : null;
      // Each layer in its own scope: intermediates autograd did not save are freed here, as
      // PyTorch frees them when their last reference goes, instead of at the end of the step.
      const [y, probs] = layer.run([x, mask, unpad?.index ?? null, firstHere?.rows ?? null], (h, m, index, rows) =>
        layer.forward(h, m, o.outputAttentions ?? false, unpad && index ? unpad.withIndex(index) : null, firstHere?.withRows(rows) ?? null),
      );
      x = y;
      hiddenStates?.push(x);
      if (probs) attentions?.push(probs);
    }
    return { last: x, hiddenStates, attentions };
  }
  onnx(g: OnnxGraph, x: string, mask: string): string {
    for (const layer of this.layer) x = layer.onnx(g, x, mask);
    return x;
  }
}

class BertPooler extends Module {
  dense: Linear;
  constructor(c: PretrainedConfig) {
    super();
    this.dense = this.registerModule("dense", new Linear(c.need("hidden_size"), c.need("hidden_size")));
  }
  forward(x: Tensor): Tensor {
    return this.dense.forward(x.select(1, 0)).tanh();
  }
  onnx(g: OnnxGraph, x: string): string {
    return g.op("Tanh", [onnx.linear(g, this.dense, onnx.selectToken(g, x, 0))]);
  }
}

export abstract class BertPreTrainedModel extends PreTrainedModel {
  static override configClass = BertConfig;
  static override baseModelPrefix = "bert";
}

export class BertModel extends BertPreTrainedModel {
  embeddings: BertEmbeddings;
  encoder: BertEncoder;
  pooler: BertPooler | null;
  /**
   * Run the encoder on the real tokens only (unpadding.ts): on for the sequence-classification head,
   * whose outputs are then the padded batch's exactly; off by default, since the hidden states of
   * padded positions come back as zeros. Not taken for hidden states or attentions asked for,
   * for left-padded rows, nor while a layer inside draws noise per row (LoRA dropout; rowsExact).
   */
  unpadTokens = false;
  /**
   * Compute the last layer for each sequence's first token alone (FirstTokens in unpadding.ts): on
   * for the sequence-classification head, which reads nothing else, and then lastHiddenState is
   * that token's [B, 1, H]. Not taken for hidden states or attentions asked for, nor while
   * a layer inside draws noise per row.
   */
  firstTokenOnly = false;

  constructor(config: PretrainedConfig, o: { addPoolingLayer?: boolean; init?: boolean } = {}) {
    super(config);
    this.embeddings = this.registerModule("embeddings", new BertEmbeddings(config));
    this.encoder = this.registerModule("encoder", new BertEncoder(config));
    this.pooler = o.addPoolingLayer === false ? null : this.registerModule("pooler", new BertPooler(config));
    if (o.init !== false) this.postInit();
  }

  forward(inputs: ModelInputs, o: ForwardOptions = {}): BaseModelOutput {
    const ids = inputs.input_ids;
    if (!ids) throw new TypeError("BertModel.forward: input_ids is required");
    const mask = inputs.attention_mask ?? torch.onesLike(ids);
    const x = this.embeddings.forward(ids, inputs.token_type_ids, inputs.position_ids);
    const extended = extendedAttentionMask(mask, x.dtype);
    const plain = !o.outputHiddenStates && !o.outputAttentions && (this.unpadTokens || this.firstTokenOnly) && rowsExact(this, mask.device);
    const unpad = this.unpadTokens && plain ? Unpadded.of(mask) : null;
    const first = this.firstTokenOnly && plain && this.encoder.layer.length > 0 ? FirstTokens.of(mask, unpad) : null;
    if (first) {
      const last = this.encoder.forward(unpad ? unpad.gather(x) : x, extended, o, unpad, first).last.unsqueeze(1);
      return { lastHiddenState: last, poolerOutput: this.pooler?.forward(last) };
    }
    if (unpad) {
      const last = unpad.scatter(this.encoder.forward(unpad.gather(x), extended, o, unpad).last);
      return { lastHiddenState: last, poolerOutput: this.pooler?.forward(last) };
    }
    const { last, hiddenStates, attentions } = this.encoder.forward(x, extended, o);
    return { lastHiddenState: last, poolerOutput: this.pooler?.forward(last), hiddenStates, attentions };
  }

  /** The graph's hidden states (and pooled first token) from input_ids and attention_mask. */
  onnxHidden(g: OnnxGraph): { last: string; pooled?: string } {
    const ids = g.input("input_ids", "int64", onnx.BATCH_SEQ);
    const mask = g.input("attention_mask", "int64", onnx.BATCH_SEQ);
    const last = this.encoder.onnx(g, this.embeddings.onnx(g, ids), extendedAttentionMaskOnnx(g, mask));
    return { last, pooled: this.pooler?.onnx(g, last) };
  }

  override onnx(g: OnnxGraph): void {
    const { last, pooled } = this.onnxHidden(g);
    const h = this.config.need<number>("hidden_size");
    g.output("last_hidden_state", last, "float32", [...onnx.BATCH_SEQ, h]);
    if (pooled) g.output("pooler_output", pooled, "float32", ["batch_size", h]);
  }
}

export class BertForSequenceClassification extends BertPreTrainedModel {
  bert: BertModel;
  dropout: Dropout;
  classifier: Linear;

  constructor(config: PretrainedConfig) {
    super(config);
    this.bert = this.registerModule("bert", new BertModel(config, { init: false }));
    this.dropout = this.registerModule("dropout", new Dropout(config.classifierDropout ?? config.need<number>("hidden_dropout_prob")));
    this.classifier = this.registerModule("classifier", new Linear(config.need("hidden_size"), config.numLabels));
    // Its logits read the first token only: the real tokens' computation gives them exactly, and
    // the last layer need compute nothing else.
    this.bert.unpadTokens = true;
    this.bert.firstTokenOnly = true;
    this.postInit();
  }

  forward(inputs: ModelInputs, o: ForwardOptions = {}): LogitsOutput {
    const out = this.bert.forward(inputs, o);
    const logits = this.classifier.forward(this.dropout.forward(out.poolerOutput!));
    const loss = inputs.labels ? this.classificationLoss(logits, inputs.labels) : undefined;
    return { loss, logits, hiddenStates: out.hiddenStates, attentions: out.attentions };
  }

  override onnx(g: OnnxGraph): void {
    g.output("logits", onnx.linear(g, this.classifier, this.bert.onnxHidden(g).pooled!), "float32", ["batch_size", this.config.numLabels]);
  }
}

export class BertForTokenClassification extends BertPreTrainedModel {
  bert: BertModel;
  dropout: Dropout;
  classifier: Linear;

  constructor(config: PretrainedConfig) {
    super(config);
    this.bert = this.registerModule("bert", new BertModel(config, { addPoolingLayer: false, init: false }));
    this.dropout = this.registerModule("dropout", new Dropout(config.classifierDropout ?? config.need<number>("hidden_dropout_prob")));
    this.classifier = this.registerModule("classifier", new Linear(config.need("hidden_size"), config.numLabels));
    this.postInit();
  }

  forward(inputs: ModelInputs, o: ForwardOptions = {}): LogitsOutput {
    const out = this.bert.forward(inputs, o);
    const logits = this.classifier.forward(this.dropout.forward(out.lastHiddenState!));
    const loss = inputs.labels ? F.crossEntropy(logits.view(-1, this.config.numLabels), inputs.labels.view(-1)) : undefined;
    return { loss, logits, hiddenStates: out.hiddenStates, attentions: out.attentions };
  }

  override onnx(g: OnnxGraph): void {
    g.output("logits", onnx.linear(g, this.classifier, this.bert.onnxHidden(g).last), "float32", [...onnx.BATCH_SEQ, this.config.numLabels]);
  }
}

export class BertForQuestionAnswering extends BertPreTrainedModel {
  static override inputNames = ["input_ids", "attention_mask", "token_type_ids", "position_ids", "start_positions", "end_positions"];
  bert: BertModel;
  qa_outputs: Linear;

  constructor(config: PretrainedConfig) {
    super(config);
    this.bert = this.registerModule("bert", new BertModel(config, { addPoolingLayer: false, init: false }));
    this.qa_outputs = this.registerModule("qa_outputs", this.questionAnsweringHead(config.need("hidden_size")));
    this.postInit();
  }

  forward(inputs: ModelInputs, o: ForwardOptions = {}): QuestionAnsweringOutput {
    const out = this.bert.forward(inputs, o);
    return this.questionAnsweringOutput(this.qa_outputs.forward(out.lastHiddenState!), inputs, out);
  }

  override onnx(g: OnnxGraph): void {
    onnx.questionAnsweringOutputs(g, onnx.linear(g, this.qa_outputs, this.bert.onnxHidden(g).last));
  }
}

class BertPredictionHeadTransform extends Module {
  dense: Linear;
  LayerNorm: LayerNorm;
  readonly actName: string;
  readonly act: Activation;
  constructor(c: PretrainedConfig) {
    super();
    this.dense = this.registerModule("dense", new Linear(c.need("hidden_size"), c.need("hidden_size")));
    this.actName = c.need("hidden_act");
    this.act = activation(this.actName);
    this.LayerNorm = this.registerModule("LayerNorm", new LayerNorm(c.need<number>("hidden_size"), { eps: c.need("layer_norm_eps") }));
  }
  forward(x: Tensor): Tensor {
    return this.LayerNorm.forward(this.act(this.dense.forward(x)));
  }
  onnx(g: OnnxGraph, x: string): string {
    return onnx.layerNorm(g, this.LayerNorm, onnx.activation(g, this.actName, onnx.linear(g, this.dense, x)));
  }
}

class BertLMPredictionHead extends Module {
  transform: BertPredictionHeadTransform;
  decoder: Linear;
  bias: Tensor;
  constructor(c: PretrainedConfig) {
    super();
    this.transform = this.registerModule("transform", new BertPredictionHeadTransform(c));
    this.decoder = this.registerModule("decoder", new Linear(c.need("hidden_size"), c.need("vocab_size"), { bias: false }));
    this.bias = this.registerParameter("bias", torch.zeros([c.need<number>("vocab_size")]));
    this.decoder.registerParameter("bias", this.bias); // one tensor under both names, as HF ties them
  }
  forward(x: Tensor): Tensor {
    return this.decoder.forward(this.transform.forward(x));
  }
  onnx(g: OnnxGraph, x: string): string {
    return onnx.tiedProjection(g, this.decoder, this.transform.onnx(g, x));
  }
}

class BertOnlyMLMHead extends Module {
  predictions: BertLMPredictionHead;
  constructor(c: PretrainedConfig) {
    super();
    this.predictions = this.registerModule("predictions", new BertLMPredictionHead(c));
  }
}

export class BertForMaskedLM extends BertPreTrainedModel {
  bert: BertModel;
  cls: BertOnlyMLMHead;

  constructor(config: PretrainedConfig) {
    super(config);
    this.bert = this.registerModule("bert", new BertModel(config, { addPoolingLayer: false, init: false }));
    this.cls = this.registerModule("cls", new BertOnlyMLMHead(config));
    this.postInit();
  }

  override outputEmbeddings(): Module {
    return this.cls.predictions.decoder;
  }

  /** The decoder shares the word embeddings' weight (HF's tie_word_embeddings). */
  override tieWeights(): void {
    this.tieOutputEmbeddings(this.cls.predictions.decoder, this.bert.embeddings.word_embeddings);
  }

  override labelSpace(): { size: number; name: string } {
    return this.vocabularyLabels();
  }
  forward(inputs: ModelInputs, o: ForwardOptions = {}): LogitsOutput {
    const out = this.bert.forward(inputs, o);
    const logits = this.cls.predictions.forward(out.lastHiddenState!);
    return { loss: this.maskedLmLoss(logits, inputs.labels), logits, hiddenStates: out.hiddenStates, attentions: out.attentions };
  }

  override onnx(g: OnnxGraph): void {
    g.output("logits", this.cls.predictions.onnx(g, this.bert.onnxHidden(g).last), "float32", [...onnx.BATCH_SEQ, this.config.need<number>("vocab_size")]);
  }
}
