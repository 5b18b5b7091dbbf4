// RoBERTa (Liu et al., 2019), as Hugging Face's modeling_roberta.py: BERT's encoder (copied here, as
// HF copies it: one architecture, one file) with positions that skip padding, one token type, and
// its own classification head.
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
import { DATA_TYPE, int, type OnnxGraph } from "../../onnx/graph.js";
import * as onnx from "../../onnx/layers.js";

export class RobertaConfig extends PretrainedConfig {
  static override readonly modelType = "roberta";
  static override readonly defaults = {
    vocab_size: 50265,
    hidden_size: 768,
    num_hidden_layers: 12,
    num_attention_heads: 12,
    intermediate_size: 3072,
    hidden_act: "gelu",
    hidden_dropout_prob: 0.1,
    attention_probs_dropout_prob: 0.1,
    max_position_embeddings: 514,
    type_vocab_size: 1,
    initializer_range: 0.02,
    layer_norm_eps: 1e-5,
    pad_token_id: 1,
    bos_token_id: 0,
    eos_token_id: 2,
    position_embedding_type: "absolute",
    use_cache: true,
    classifier_dropout: null,
  };
}

class RobertaEmbeddings extends Module {
  readonly paddingIdx: number;
  word_embeddings: Embedding;
  position_embeddings: Embedding;
  token_type_embeddings: Embedding;
  LayerNorm: LayerNorm;
  dropout: Dropout;

  constructor(c: PretrainedConfig) {
    super();
    const h = c.need<number>("hidden_size");
    this.paddingIdx = c.need("pad_token_id");
    this.word_embeddings = this.registerModule("word_embeddings", new Embedding(c.need("vocab_size"), h, { paddingIdx: this.paddingIdx }));
    this.position_embeddings = this.registerModule("position_embeddings", new Embedding(c.need("max_position_embeddings"), h, { paddingIdx: this.paddingIdx }));
    this.token_type_embeddings = this.registerModule("token_type_embeddings", new Embedding(c.need("type_vocab_size"), h));
    this.LayerNorm = this.registerModule("LayerNorm", new LayerNorm(h, { eps: c.need("layer_norm_eps") }));
    this.dropout = this.registerModule("dropout", new Dropout(c.need("hidden_dropout_prob")));
  }

  /** Positions count the non-padding tokens, starting after padding_idx; padding keeps padding_idx. */
  static positionIds(ids: Tensor, paddingIdx: number): Tensor {
    return torch.tidy(() => {
      const mask = ids.ne(paddingIdx).to("int64");
      return mask.cumsum(1).mul(mask).add(paddingIdx);
    });
  }

  forward(inputIds: Tensor, tokenTypeIds?: Tensor, positionIds?: Tensor): Tensor {
    const [b, len] = inputIds.shape;
    const positions = positionIds ?? RobertaEmbeddings.positionIds(inputIds, this.paddingIdx);
    const maxPos = this.position_embeddings.numEmbeddings;
    if (len + this.paddingIdx >= maxPos)
      throw new RangeError(`input of ${len} tokens is too long for max_position_embeddings (${maxPos}, with padding_idx ${this.paddingIdx})`);
    const types = tokenTypeIds ?? torch.zeros([b, len], { dtype: "int64", device: inputIds.device });
    const x = this.word_embeddings.forward(inputIds).add(this.token_type_embeddings.forward(types)).add(this.position_embeddings.forward(positions));
    return this.dropout.forward(this.LayerNorm.forward(x));
  }

  /** As HF's exporter: token_type_ids is an input only where there is more than one type (else type 0). */
  onnx(g: OnnxGraph, ids: string): string {
    const types = this.token_type_embeddings.numEmbeddings > 1 ? g.input("token_type_ids", "int64", onnx.BATCH_SEQ) : g.int64([0], []);
    const words = g.op("Add", [onnx.embedding(g, this.word_embeddings, ids), onnx.embedding(g, this.token_type_embeddings, types)]);
    const notPad = g.op("Cast", [g.op("Not", [g.op("Equal", [ids, g.int64([this.paddingIdx], [])])])], { to: int(DATA_TYPE.int64) });
    const positions = g.op("Add", [g.op("Mul", [g.op("CumSum", [notPad, g.int64([1], [])]), notPad]), g.int64([this.paddingIdx], [])]);
    return onnx.layerNorm(g, this.LayerNorm, g.op("Add", [words, onnx.embedding(g, this.position_embeddings, positions)]));
  }
}

// Copied from ../bert/modeling_bert.ts BertSelfAttention with Bert->Roberta
class RobertaSelfAttention extends Module {
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

/** dense → dropout → LayerNorm(x + residual): RobertaSelfOutput and RobertaOutput. */
// Copied from ../bert/modeling_bert.ts BertDenseNorm with Bert->Roberta
class RobertaDenseNorm extends Module {
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

// Copied from ../bert/modeling_bert.ts BertAttention with Bert->Roberta
class RobertaAttention extends Module {
  self: RobertaSelfAttention;
  output: RobertaDenseNorm;
  constructor(c: PretrainedConfig) {
    super();
    this.self = this.registerModule("self", new RobertaSelfAttention(c));
    this.output = this.registerModule("output", new RobertaDenseNorm(c, c.need("hidden_size")));
  }
  forward(x: Tensor, mask: Tensor, wantProbs: boolean, unpad: Unpadded | null = null, first: FirstTokens | null = null): [Tensor, Tensor | undefined] {
    const [ctx, probs] = this.self.forward(x, mask, wantProbs, unpad, first);
    return [this.output.forward(ctx, first ? first.take(x) : x, first ?? unpad), probs];
  }
  onnx(g: OnnxGraph, x: string, mask: string): string {
    return this.output.onnx(g, this.self.onnx(g, x, mask), x);
  }
}

// Copied from ../bert/modeling_bert.ts BertIntermediate with Bert->Roberta
class RobertaIntermediate extends Module {
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

// Copied from ../bert/modeling_bert.ts BertLayer with Bert->Roberta
class RobertaLayer extends GradientCheckpointingLayer {
  attention: RobertaAttention;
  intermediate: RobertaIntermediate;
  output: RobertaDenseNorm;
  constructor(c: PretrainedConfig) {
    super();
    this.attention = this.registerModule("attention", new RobertaAttention(c));
    this.intermediate = this.registerModule("intermediate", new RobertaIntermediate(c));
    this.output = this.registerModule("output", new RobertaDenseNorm(c, c.need("intermediate_size")));
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

// Copied from ../bert/modeling_bert.ts BertEncoder with Bert->Roberta
class RobertaEncoder extends Module {
  layer: ModuleList<RobertaLayer>;
  constructor(c: PretrainedConfig) {
    super();
    this.layer = this.registerModule("layer", new ModuleList(Array.from({ length: c.need<number>("num_hidden_layers") }, () => new RobertaLayer(c))));
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

export abstract class RobertaPreTrainedModel extends PreTrainedModel {
  static override configClass = RobertaConfig;
  static override baseModelPrefix = "roberta";
}

// Copied from ../bert/modeling_bert.ts BertModel with Bert->Roberta
export class RobertaModel extends RobertaPreTrainedModel {
  embeddings: RobertaEmbeddings;
  encoder: RobertaEncoder;
  pooler: RobertaPooler | null;
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
    this.embeddings = this.registerModule("embeddings", new RobertaEmbeddings(config));
    this.encoder = this.registerModule("encoder", new RobertaEncoder(config));
    this.pooler = o.addPoolingLayer === false ? null : this.registerModule("pooler", new RobertaPooler(config));
    if (o.init !== false) this.postInit();
  }

  forward(inputs: ModelInputs, o: ForwardOptions = {}): BaseModelOutput {
    const ids = inputs.input_ids;
    if (!ids) throw new TypeError("RobertaModel.forward: input_ids is required");
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

// Copied from ../bert/modeling_bert.ts BertPooler with Bert->Roberta
class RobertaPooler extends Module {
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

/** dense → tanh → out_proj on the first token (<s>), with dropout before each. */
class RobertaClassificationHead extends Module {
  dense: Linear;
  dropout: Dropout;
  out_proj: Linear;
  constructor(c: PretrainedConfig) {
    super();
    this.dense = this.registerModule("dense", new Linear(c.need("hidden_size"), c.need("hidden_size")));
    this.dropout = this.registerModule("dropout", new Dropout(c.classifierDropout ?? c.need<number>("hidden_dropout_prob")));
    this.out_proj = this.registerModule("out_proj", new Linear(c.need("hidden_size"), c.numLabels));
  }
  forward(features: Tensor): Tensor {
    const x = this.dropout.forward(features.select(1, 0));
    return this.out_proj.forward(this.dropout.forward(this.dense.forward(x).tanh()));
  }
  onnx(g: OnnxGraph, features: string): string {
    return onnx.linear(g, this.out_proj, g.op("Tanh", [onnx.linear(g, this.dense, onnx.selectToken(g, features, 0))]));
  }
}

export class RobertaForSequenceClassification extends RobertaPreTrainedModel {
  roberta: RobertaModel;
  classifier: RobertaClassificationHead;

  constructor(config: PretrainedConfig) {
    super(config);
    this.roberta = this.registerModule("roberta", new RobertaModel(config, { addPoolingLayer: false, init: false }));
    this.classifier = this.registerModule("classifier", new RobertaClassificationHead(config));
    // Its logits read the first token only: the real tokens' computation gives them exactly, and
    // the last layer need compute nothing else.
    this.roberta.unpadTokens = true;
    this.roberta.firstTokenOnly = true;
    this.postInit();
  }

  forward(inputs: ModelInputs, o: ForwardOptions = {}): LogitsOutput {
    const out = this.roberta.forward(inputs, o);
    const logits = this.classifier.forward(out.lastHiddenState!);
    const loss = inputs.labels ? this.classificationLoss(logits, inputs.labels) : undefined;
    return { loss, logits, hiddenStates: out.hiddenStates, attentions: out.attentions };
  }
  override onnx(g: OnnxGraph): void {
    g.output("logits", this.classifier.onnx(g, this.roberta.onnxHidden(g).last), "float32", ["batch_size", this.config.numLabels]);
  }
}

export class RobertaForTokenClassification extends RobertaPreTrainedModel {
  roberta: RobertaModel;
  dropout: Dropout;
  classifier: Linear;

  constructor(config: PretrainedConfig) {
    super(config);
    this.roberta = this.registerModule("roberta", new RobertaModel(config, { addPoolingLayer: false, init: false }));
    this.dropout = this.registerModule("dropout", new Dropout(config.classifierDropout ?? config.need<number>("hidden_dropout_prob")));
    this.classifier = this.registerModule("classifier", new Linear(config.need("hidden_size"), config.numLabels));
    this.postInit();
  }

  forward(inputs: ModelInputs, o: ForwardOptions = {}): LogitsOutput {
    const out = this.roberta.forward(inputs, o);
    const logits = this.classifier.forward(this.dropout.forward(out.lastHiddenState!));
    const loss = inputs.labels ? F.crossEntropy(logits.view(-1, this.config.numLabels), inputs.labels.view(-1)) : undefined;
    return { loss, logits, hiddenStates: out.hiddenStates, attentions: out.attentions };
  }
  override onnx(g: OnnxGraph): void {
    g.output("logits", onnx.linear(g, this.classifier, this.roberta.onnxHidden(g).last), "float32", [...onnx.BATCH_SEQ, this.config.numLabels]);
  }
}

export class RobertaForQuestionAnswering extends RobertaPreTrainedModel {
  static override inputNames = ["input_ids", "attention_mask", "token_type_ids", "position_ids", "start_positions", "end_positions"];
  roberta: RobertaModel;
  qa_outputs: Linear;

  constructor(config: PretrainedConfig) {
    super(config);
    this.roberta = this.registerModule("roberta", new RobertaModel(config, { addPoolingLayer: false, init: false }));
    this.qa_outputs = this.registerModule("qa_outputs", this.questionAnsweringHead(config.need("hidden_size")));
    this.postInit();
  }

  forward(inputs: ModelInputs, o: ForwardOptions = {}): QuestionAnsweringOutput {
    const out = this.roberta.forward(inputs, o);
    return this.questionAnsweringOutput(this.qa_outputs.forward(out.lastHiddenState), inputs, out);
  }
  override onnx(g: OnnxGraph): void {
    onnx.questionAnsweringOutputs(g, onnx.linear(g, this.qa_outputs, this.roberta.onnxHidden(g).last));
  }
}

/** dense → gelu → layer_norm → decoder (tied to the word embeddings), with the bias HF keeps as lm_head.bias. */
class RobertaLMHead extends Module {
  bias: Tensor;
  dense: Linear;
  layer_norm: LayerNorm;
  decoder: Linear;
  constructor(c: PretrainedConfig) {
    super();
    const h = c.need<number>("hidden_size");
    const vocab = c.need<number>("vocab_size");
    this.bias = this.registerParameter("bias", torch.zeros([vocab]));
    this.dense = this.registerModule("dense", new Linear(h, h));
    this.layer_norm = this.registerModule("layer_norm", new LayerNorm(h, { eps: c.need("layer_norm_eps") }));
    this.decoder = this.registerModule("decoder", new Linear(h, vocab, { bias: false }));
    this.decoder.registerParameter("bias", this.bias); // one tensor under both names, as HF's `self.decoder.bias = self.bias`
  }
  forward(features: Tensor): Tensor {
    return this.decoder.forward(this.layer_norm.forward(F.gelu(this.dense.forward(features))));
  }
  onnx(g: OnnxGraph, x: string): string {
    return onnx.tiedProjection(g, this.decoder, onnx.layerNorm(g, this.layer_norm, onnx.activation(g, "gelu", onnx.linear(g, this.dense, x))));
  }
}

export class RobertaForMaskedLM extends RobertaPreTrainedModel {
  roberta: RobertaModel;
  lm_head: RobertaLMHead;

  constructor(config: PretrainedConfig) {
    super(config);
    this.roberta = this.registerModule("roberta", new RobertaModel(config, { addPoolingLayer: false, init: false }));
    this.lm_head = this.registerModule("lm_head", new RobertaLMHead(config));
    this.postInit();
  }
  override outputEmbeddings(): Module {
    return this.lm_head.decoder;
  }

  override tieWeights(): void {
    this.tieOutputEmbeddings(this.lm_head.decoder, this.roberta.embeddings.word_embeddings);
  }
  override labelSpace(): { size: number; name: string } {
    return this.vocabularyLabels();
  }
  forward(inputs: ModelInputs, o: ForwardOptions = {}): LogitsOutput {
    const out = this.roberta.forward(inputs, o);
    const logits = this.lm_head.forward(out.lastHiddenState);
    return { loss: this.maskedLmLoss(logits, inputs.labels), logits, hiddenStates: out.hiddenStates, attentions: out.attentions };
  }
  override onnx(g: OnnxGraph): void {
    g.output("logits", this.lm_head.onnx(g, this.roberta.onnxHidden(g).last), "float32", [...onnx.BATCH_SEQ, this.config.need<number>("vocab_size")]);
  }
}
