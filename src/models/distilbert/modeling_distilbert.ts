// DistilBERT (Sanh et al., 2019), as Hugging Face's modeling_distilbert.py: BERT's layers distilled
// to half the depth, without token types or pooler.
import * as torch from "../../torch/index.js";
import type { Tensor } from "../../torch/index.js";
import { Dropout, Embedding, LayerNorm, Linear, Module, ModuleList, F } from "../../nn/index.js";
import { GradientCheckpointingLayer } from "../gradient_checkpointing.js";
import { FirstTokens, Unpadded, rowsExact } from "../unpadding.js";
import { PretrainedConfig } from "../configuration_utils.js";
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
import type { OnnxGraph } from "../../onnx/graph.js";
import * as onnx from "../../onnx/layers.js";

export class DistilBertConfig extends PretrainedConfig {
  static override readonly modelType = "distilbert";
  static override readonly defaults = {
    vocab_size: 30522,
    max_position_embeddings: 512,
    sinusoidal_pos_embds: false,
    n_layers: 6,
    n_heads: 12,
    dim: 768,
    hidden_dim: 3072,
    dropout: 0.1,
    attention_dropout: 0.1,
    activation: "gelu",
    initializer_range: 0.02,
    qa_dropout: 0.1,
    seq_classif_dropout: 0.2,
    pad_token_id: 0,
  };
}

class Embeddings extends Module {
  word_embeddings: Embedding;
  position_embeddings: Embedding;
  LayerNorm: LayerNorm;
  dropout: Dropout;
  constructor(c: PretrainedConfig) {
    super();
    if (c.get("sinusoidal_pos_embds")) throw new Error("DistilBERT with sinusoidal_pos_embds is not supported");
    const dim = c.need<number>("dim");
    this.word_embeddings = this.registerModule("word_embeddings", new Embedding(c.need("vocab_size"), dim, { paddingIdx: c.get<number>("pad_token_id") }));
    this.position_embeddings = this.registerModule("position_embeddings", new Embedding(c.need("max_position_embeddings"), dim));
    this.LayerNorm = this.registerModule("LayerNorm", new LayerNorm(dim, { eps: 1e-12 }));
    this.dropout = this.registerModule("dropout", new Dropout(c.need("dropout")));
  }
  forward(ids: Tensor): Tensor {
    const positions = torch.arange(ids.shape[1], undefined, 1, { device: ids.device }).unsqueeze(0);
    return this.dropout.forward(this.LayerNorm.forward(this.word_embeddings.forward(ids).add(this.position_embeddings.forward(positions))));
  }
  onnx(g: OnnxGraph, ids: string): string {
    return onnx.layerNorm(
      g,
      this.LayerNorm,
      g.op("Add", [onnx.embedding(g, this.word_embeddings, ids), onnx.embedding(g, this.position_embeddings, onnx.positions(g, ids))]),
    );
  }
}

class MultiHeadSelfAttention extends Module {
  readonly heads: number;
  readonly eager: boolean;
  readonly dropoutP: number;
  q_lin: Linear;
  k_lin: Linear;
  v_lin: Linear;
  out_lin: Linear;
  dropout: Dropout;
  constructor(c: PretrainedConfig) {
    super();
    const dim = c.need<number>("dim");
    this.heads = c.need("n_heads");
    if (dim % this.heads !== 0) throw new RangeError(`dim (${dim}) must be a multiple of n_heads (${this.heads})`);
    this.eager = c.get("_attn_implementation") === "eager";
    this.dropoutP = c.need("attention_dropout");
    this.q_lin = this.registerModule("q_lin", new Linear(dim, dim));
    this.k_lin = this.registerModule("k_lin", new Linear(dim, dim));
    this.v_lin = this.registerModule("v_lin", new Linear(dim, dim));
    this.out_lin = this.registerModule("out_lin", new Linear(dim, dim));
    this.dropout = this.registerModule("dropout", new Dropout(this.dropoutP));
  }
  /**
   * Unpadded, x and the result are the real tokens' rows [n, dim]; q, k and v are scattered to the
   * padded layout. Given first, the result is the first tokens' alone [b, dim] (their queries
   * against every key).
   */
  forward(x: Tensor, mask: Tensor, wantProbs: boolean, unpad: Unpadded | null = null, first: FirstTokens | null = null): [Tensor, Tensor | undefined] {
    const [b, l] = mask.shape;
    const d = x.shape[x.ndim - 1];
    const dh = d / this.heads;
    const heads = (t: Tensor) => t.view(b, -1, this.heads, dh).transpose(1, 2);
    const split = (t: Tensor) => heads(unpad ? unpad.scatter(t) : t);
    const query = () => (first ? heads(this.q_lin.forward(first.take(x))) : split(this.q_lin.forward(x)));
    const k = split(this.k_lin.forward(x));
    const v = split(this.v_lin.forward(x));
    let ctx: Tensor;
    let probs: Tensor | undefined;
    const blocked = mask.eq(0).view(b, 1, 1, l);
    // The first queries' dropout keeps their rows of the full probabilities' noise: computed here.
    if (this.eager || wantProbs || (first && this.training && this.dropoutP > 0)) {
      const q = query().div(Math.sqrt(dh));
      probs = q.matmul(k.transpose(2, 3)).maskedFill(blocked, finfoMin(x.dtype)).softmax(-1);
      ctx = (first ? first.probsDropout(probs, this.dropout.p, this.training) : this.dropout.forward(probs)).matmul(v);
    } else {
      ctx = F.scaledDotProductAttention(query(), k, v, { attnMask: blocked.logicalNot(), dropoutP: this.training ? this.dropoutP : 0 });
    }
    const merged = ctx.transpose(1, 2).reshape(b, -1, d);
    return [this.out_lin.forward(first ? merged.view(b, d) : unpad ? unpad.gather(merged) : merged), probs];
  }
  /** `blocked` is true where the key is padding ([B, 1, 1, L]): those scores become the minimum, as masked_fill. */
  onnx(g: OnnxGraph, x: string, blocked: string): string {
    const d = this.q_lin.outFeatures / this.heads;
    const q = g.op("Div", [onnx.splitHeads(g, onnx.linear(g, this.q_lin, x), this.heads, d), g.float32([Math.sqrt(d)], [])]);
    const kT = onnx.splitHeads(g, onnx.linear(g, this.k_lin, x), this.heads, d, true);
    const v = onnx.splitHeads(g, onnx.linear(g, this.v_lin, x), this.heads, d);
    const scores = g.op("Where", [blocked, g.float32([finfoMin("float32")], []), g.op("MatMul", [q, kT])]);
    return onnx.linear(g, this.out_lin, onnx.mergeHeads(g, g.op("MatMul", [g.op("Softmax", [scores], { axis: { i: -1 } }), v])));
  }
}

class FFN extends Module {
  lin1: Linear;
  lin2: Linear;
  dropout: Dropout;
  readonly actName: string;
  readonly act: Activation;
  constructor(c: PretrainedConfig) {
    super();
    this.lin1 = this.registerModule("lin1", new Linear(c.need("dim"), c.need("hidden_dim")));
    this.lin2 = this.registerModule("lin2", new Linear(c.need("hidden_dim"), c.need("dim")));
    this.dropout = this.registerModule("dropout", new Dropout(c.need("dropout")));
    this.actName = c.need("activation");
    this.act = activation(this.actName);
  }
  /** rows: the positions x holds when not the padded batch (the real tokens, or the first ones). */
  forward(x: Tensor, rows: Unpadded | FirstTokens | null = null): Tensor {
    const y = this.lin2.forward(this.act(this.lin1.forward(x)));
    return rows ? rows.dropout(y, this.dropout.p, this.dropout.training) : this.dropout.forward(y);
  }
  onnx(g: OnnxGraph, x: string): string {
    return onnx.linear(g, this.lin2, onnx.activation(g, this.actName, onnx.linear(g, this.lin1, x)));
  }
}

class TransformerBlock extends GradientCheckpointingLayer {
  attention: MultiHeadSelfAttention;
  sa_layer_norm: LayerNorm;
  ffn: FFN;
  output_layer_norm: LayerNorm;
  constructor(c: PretrainedConfig) {
    super();
    this.attention = this.registerModule("attention", new MultiHeadSelfAttention(c));
    this.sa_layer_norm = this.registerModule("sa_layer_norm", new LayerNorm(c.need<number>("dim"), { eps: 1e-12 }));
    this.ffn = this.registerModule("ffn", new FFN(c));
    this.output_layer_norm = this.registerModule("output_layer_norm", new LayerNorm(c.need<number>("dim"), { eps: 1e-12 }));
  }
  /** Given first, the output is the first tokens' rows alone [b, dim]. */
  forward(x: Tensor, mask: Tensor, wantProbs: boolean, unpad: Unpadded | null = null, first: FirstTokens | null = null): [Tensor, Tensor | undefined] {
    const [a, probs] = this.attention.forward(x, mask, wantProbs, unpad, first);
    const y = this.sa_layer_norm.forward(a.add(first ? first.take(x) : x));
    return [this.output_layer_norm.forward(this.ffn.forward(y, first ?? unpad).add(y)), probs];
  }
  onnx(g: OnnxGraph, x: string, blocked: string): string {
    const y = onnx.layerNorm(g, this.sa_layer_norm, g.op("Add", [this.attention.onnx(g, x, blocked), x]));
    return onnx.layerNorm(g, this.output_layer_norm, g.op("Add", [this.ffn.onnx(g, y), y]));
  }
}

class Transformer extends Module {
  layer: ModuleList<TransformerBlock>;
  constructor(c: PretrainedConfig) {
    super();
    this.layer = this.registerModule("layer", new ModuleList(Array.from({ length: c.need<number>("n_layers") }, () => new TransformerBlock(c))));
  }
}

export abstract class DistilBertPreTrainedModel extends PreTrainedModel {
  static override configClass = DistilBertConfig;
  static override baseModelPrefix = "distilbert";
  static override inputNames = ["input_ids", "attention_mask", "labels"];
}

export class DistilBertModel extends DistilBertPreTrainedModel {
  embeddings: Embeddings;
  transformer: Transformer;
  /**
   * Run the layers on the real tokens only (unpadding.ts): on for the sequence-classification head,
   * whose outputs are then the padded batch's exactly; off by default, since the hidden states of
   * padded positions come back as zeros. Not taken for hidden states or attentions asked for,
   * for left-padded rows, nor while a layer inside draws noise per row (LoRA dropout; rowsExact).
   */
  unpadTokens = false;
  /**
   * Compute the last layer for each sequence's first token alone (FirstTokens in unpadding.ts): on
   * for the sequence-classification head, which reads nothing else, and then lastHiddenState is
   * that token's [b, 1, dim]. Not taken for hidden states or attentions asked for, nor while
   * a layer inside draws noise per row.
   */
  firstTokenOnly = false;
  constructor(config: PretrainedConfig, o: { init?: boolean } = {}) {
    super(config);
    this.embeddings = this.registerModule("embeddings", new Embeddings(config));
    this.transformer = this.registerModule("transformer", new Transformer(config));
    if (o.init !== false) this.postInit();
  }
  forward(inputs: ModelInputs, o: ForwardOptions = {}): BaseModelOutput {
    const ids = inputs.input_ids;
    if (!ids) throw new TypeError("DistilBertModel.forward: input_ids is required");
    const mask = inputs.attention_mask ?? torch.onesLike(ids);
    let x = this.embeddings.forward(ids);
    const plain = !o.outputHiddenStates && !o.outputAttentions && (this.unpadTokens || this.firstTokenOnly) && rowsExact(this, mask.device);
    const unpad = this.unpadTokens && plain ? Unpadded.of(mask) : null;
    const layers = [...this.transformer.layer];
    const first = this.firstTokenOnly && plain && layers.length > 0 ? FirstTokens.of(mask, unpad) : null;
    if (unpad || first) {
      if (unpad) x = unpad.gather(x);
      for (const [i, layer] of layers.entries()) {
        const firstHere = i === layers.length - 1 ? first : null;
        x = layer.run([x, mask, unpad?.index ?? null, firstHere?.rows ?? null], (h, m, index, rows) =>
          layer.forward(h, m, false, unpad && index ? unpad.withIndex(index) : null, firstHere?.withRows(rows) ?? null),
        )[0];
      }
      return { lastHiddenState: first ? x.unsqueeze(1) : unpad!.scatter(x) };
    }
    const hiddenStates = o.outputHiddenStates ? [x] : undefined;
    const attentions = o.outputAttentions ? ([] as Tensor[]) : undefined;
    for (const layer of this.transformer.layer) {
      // Each layer in its own scope, so that intermediates autograd did not save are freed early.
      const [y, probs] = layer.run([x, mask], (h, m) => layer.forward(h, m, o.outputAttentions ?? false));
      x = y;
      hiddenStates?.push(x);
      if (probs) attentions?.push(probs);
    }
    return { lastHiddenState: x, hiddenStates, attentions };
  }

  /** The graph's hidden states from input_ids and attention_mask. */
  onnxHidden(g: OnnxGraph): string {
    const ids = g.input("input_ids", "int64", onnx.BATCH_SEQ);
    const mask = g.input("attention_mask", "int64", onnx.BATCH_SEQ);
    const blocked = g.op("Unsqueeze", [g.op("Equal", [mask, g.int64([0], [])]), g.int64([1, 2])]);
    let x = this.embeddings.onnx(g, ids);
    for (const layer of this.transformer.layer) x = layer.onnx(g, x, blocked);
    return x;
  }

  override onnx(g: OnnxGraph): void {
    g.output("last_hidden_state", this.onnxHidden(g), "float32", [...onnx.BATCH_SEQ, this.config.need<number>("dim")]);
  }
}

export class DistilBertForSequenceClassification extends DistilBertPreTrainedModel {
  distilbert: DistilBertModel;
  pre_classifier: Linear;
  classifier: Linear;
  dropout: Dropout;
  constructor(config: PretrainedConfig) {
    super(config);
    this.distilbert = this.registerModule("distilbert", new DistilBertModel(config, { init: false }));
    this.pre_classifier = this.registerModule("pre_classifier", new Linear(config.need("dim"), config.need("dim")));
    this.classifier = this.registerModule("classifier", new Linear(config.need("dim"), config.numLabels));
    this.dropout = this.registerModule("dropout", new Dropout(config.need("seq_classif_dropout")));
    // Its logits read the first token only: the real tokens' computation gives them exactly, and
    // the last layer need compute nothing else.
    this.distilbert.unpadTokens = true;
    this.distilbert.firstTokenOnly = true;
    this.postInit();
  }
  forward(inputs: ModelInputs, o: ForwardOptions = {}): LogitsOutput {
    const out = this.distilbert.forward(inputs, o);
    const pooled = this.pre_classifier.forward(out.lastHiddenState!.select(1, 0)).relu();
    const logits = this.classifier.forward(this.dropout.forward(pooled));
    const loss = inputs.labels ? this.classificationLoss(logits, inputs.labels) : undefined;
    return { loss, logits, hiddenStates: out.hiddenStates, attentions: out.attentions };
  }

  override onnx(g: OnnxGraph): void {
    const pooled = g.op("Relu", [onnx.linear(g, this.pre_classifier, onnx.selectToken(g, this.distilbert.onnxHidden(g), 0))]);
    g.output("logits", onnx.linear(g, this.classifier, pooled), "float32", ["batch_size", this.config.numLabels]);
  }
}

export class DistilBertForTokenClassification extends DistilBertPreTrainedModel {
  distilbert: DistilBertModel;
  dropout: Dropout;
  classifier: Linear;
  constructor(config: PretrainedConfig) {
    super(config);
    this.distilbert = this.registerModule("distilbert", new DistilBertModel(config, { init: false }));
    this.dropout = this.registerModule("dropout", new Dropout(config.need("dropout")));
    this.classifier = this.registerModule("classifier", new Linear(config.need("dim"), config.numLabels));
    this.postInit();
  }
  forward(inputs: ModelInputs, o: ForwardOptions = {}): LogitsOutput {
    const out = this.distilbert.forward(inputs, o);
    const logits = this.classifier.forward(this.dropout.forward(out.lastHiddenState!));
    const loss = inputs.labels ? F.crossEntropy(logits.view(-1, this.config.numLabels), inputs.labels.view(-1)) : undefined;
    return { loss, logits, hiddenStates: out.hiddenStates, attentions: out.attentions };
  }

  override onnx(g: OnnxGraph): void {
    g.output("logits", onnx.linear(g, this.classifier, this.distilbert.onnxHidden(g)), "float32", [...onnx.BATCH_SEQ, this.config.numLabels]);
  }
}

export class DistilBertForQuestionAnswering extends DistilBertPreTrainedModel {
  static override inputNames = ["input_ids", "attention_mask", "start_positions", "end_positions"];
  distilbert: DistilBertModel;
  qa_outputs: Linear;
  dropout: Dropout;
  constructor(config: PretrainedConfig) {
    super(config);
    this.distilbert = this.registerModule("distilbert", new DistilBertModel(config, { init: false }));
    this.qa_outputs = this.registerModule("qa_outputs", this.questionAnsweringHead(config.need("dim")));
    this.dropout = this.registerModule("dropout", new Dropout(config.need("qa_dropout")));
    this.postInit();
  }
  forward(inputs: ModelInputs, o: ForwardOptions = {}): QuestionAnsweringOutput {
    const out = this.distilbert.forward(inputs, o);
    return this.questionAnsweringOutput(this.qa_outputs.forward(this.dropout.forward(out.lastHiddenState)), inputs, out);
  }
  override onnx(g: OnnxGraph): void {
    onnx.questionAnsweringOutputs(g, onnx.linear(g, this.qa_outputs, this.distilbert.onnxHidden(g)));
  }
}

export class DistilBertForMaskedLM extends DistilBertPreTrainedModel {
  distilbert: DistilBertModel;
  vocab_transform: Linear;
  vocab_layer_norm: LayerNorm;
  vocab_projector: Linear;
  readonly actName: string;
  readonly act: Activation;
  constructor(config: PretrainedConfig) {
    super(config);
    const dim = config.need<number>("dim");
    this.actName = config.need("activation");
    this.act = activation(this.actName);
    this.distilbert = this.registerModule("distilbert", new DistilBertModel(config, { init: false }));
    this.vocab_transform = this.registerModule("vocab_transform", new Linear(dim, dim));
    this.vocab_layer_norm = this.registerModule("vocab_layer_norm", new LayerNorm(dim, { eps: 1e-12 }));
    this.vocab_projector = this.registerModule("vocab_projector", new Linear(dim, config.need("vocab_size")));
    this.postInit();
  }
  override outputEmbeddings(): Module {
    return this.vocab_projector;
  }

  /** vocab_projector.weight is the word embeddings' (HF's _tied_weights_keys); its bias is its own. */
  override tieWeights(): void {
    this.tieOutputEmbeddings(this.vocab_projector, this.distilbert.embeddings.word_embeddings);
  }
  override labelSpace(): { size: number; name: string } {
    return this.vocabularyLabels();
  }
  forward(inputs: ModelInputs, o: ForwardOptions = {}): LogitsOutput {
    const out = this.distilbert.forward(inputs, o);
    const h = this.vocab_layer_norm.forward(this.act(this.vocab_transform.forward(out.lastHiddenState)));
    const logits = this.vocab_projector.forward(h);
    return { loss: this.maskedLmLoss(logits, inputs.labels), logits, hiddenStates: out.hiddenStates, attentions: out.attentions };
  }
  override onnx(g: OnnxGraph): void {
    const h = onnx.layerNorm(g, this.vocab_layer_norm, onnx.activation(g, this.actName, onnx.linear(g, this.vocab_transform, this.distilbert.onnxHidden(g))));
    g.output("logits", onnx.tiedProjection(g, this.vocab_projector, h), "float32", [...onnx.BATCH_SEQ, this.config.need<number>("vocab_size")]);
  }
}
