// PreTrainedModel: what every architecture shares — fromPretrained (config, weights in safetensors,
// sharded safetensors or pytorch_model.bin, key renaming, HF's loading warnings), fromConfig,
// savePretrained, HF's weight init, and the loss rules of the classification heads.
import { existsSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import * as torch from "../torch/index.js";
import type { Tensor, DType } from "../torch/index.js";
import { Embedding, LayerNorm, Linear, Module, F, init } from "../nn/index.js";
import { HubSession, isLocalDir, resolveFile, type HubOptions } from "../hub/index.js";
import { writeFileAtomic } from "../util/files.js";
import { PretrainedConfig, loadConfigJson, readConfigJson, type Json } from "./configuration_utils.js";
import { loadPytorchBin } from "./pytorch_bin.js";
import { logger } from "./logging.js";
import type { OnnxGraph } from "../onnx/graph.js";
import { isGradientCheckpointing, setGradientCheckpointing } from "./gradient_checkpointing.js";

export type ModelInputs = {
  input_ids?: Tensor;
  attention_mask?: Tensor;
  token_type_ids?: Tensor;
  position_ids?: Tensor;
  labels?: Tensor;
  start_positions?: Tensor;
  end_positions?: Tensor;
  inputs_embeds?: Tensor;
};
export interface ForwardOptions {
  outputHiddenStates?: boolean;
  outputAttentions?: boolean;
  /**
   * The label count of the whole gradient-accumulation group (HF's num_items_in_batch): a language
   * model's loss is then the sum over this batch's tokens divided by it, so that the group's losses add
   * up to the mean over all its tokens.
   */
  numItemsInBatch?: number | Tensor;
}
export interface ModelOutput {
  loss?: Tensor;
  logits?: Tensor;
  startLogits?: Tensor;
  endLogits?: Tensor;
  lastHiddenState?: Tensor;
  poolerOutput?: Tensor;
  hiddenStates?: Tensor[];
  attentions?: Tensor[];
}

/** What a head's forward always returns (HF's SequenceClassifierOutput, TokenClassifierOutput, MaskedLMOutput): logits. */
export interface LogitsOutput extends ModelOutput {
  logits: Tensor;
}
/** HF's QuestionAnsweringModelOutput: the span's start and end logits. */
export interface QuestionAnsweringOutput extends ModelOutput {
  startLogits: Tensor;
  endLogits: Tensor;
}
/** HF's BaseModelOutputWithPooling: the last layer's hidden states (and the pooler's output where the model has one). */
export interface BaseModelOutput extends ModelOutput {
  lastHiddenState: Tensor;
}

/**
 * The output a model's head gives, read from its type (a wrapper such as a PeftModel gives its inner
 * model's): matched head by head, since a ModelWithOutput's forward is an overload of PreTrainedModel's.
 */
export type HeadOutput<M> = M extends { forward(...args: never[]): QuestionAnsweringOutput }
  ? QuestionAnsweringOutput
  : M extends { forward(...args: never[]): LogitsOutput }
    ? LogitsOutput
    : M extends { forward(...args: never[]): BaseModelOutput }
      ? BaseModelOutput
      : ModelOutput;

/** A model whose forward returns O: what an Auto class for a head loads (its logits are not optional). */
export type ModelWithOutput<O extends ModelOutput> = { forward(inputs: ModelInputs, o?: ForwardOptions): O } & PreTrainedModel;

export interface FromPretrainedOptions extends HubOptions {
  config?: PretrainedConfig;
  /** HF's num_labels etc.: set on the loaded config. */
  numLabels?: number;
  id2label?: Record<string, string>;
  label2id?: Record<string, number>;
  problemType?: PretrainedConfig["problemType"];
  classifierDropout?: number | null;
  attnImplementation?: "eager" | "sdpa";
  /** Other config.json fields to override (HF's **kwargs), by their config.json names. */
  configOverrides?: Json;
  ignoreMismatchedSizes?: boolean;
  /** "auto" takes config.json's dtype (transformers 5's key; torch_dtype in older configs). */
  dtype?: DType | "auto";
  device?: string;
  subfolder?: string;
}

export interface LoadingInfo {
  missingKeys: string[];
  unexpectedKeys: string[];
  mismatchedKeys: [string, number[], number[]][];
}

type ModelClass<T extends PreTrainedModel> = {
  new (config: PretrainedConfig): T;
  configClass: new (values?: Json) => PretrainedConfig;
  baseModelPrefix: string;
  name: string;
};

const SIZE = (s: number[]) => `torch.Size([${s.join(", ")}])`;
const PYLIST = (xs: string[]) => `[${xs.map((x) => `'${x}'`).join(", ")}]`;

export abstract class PreTrainedModel extends Module {
  static configClass: new (values?: Json) => PretrainedConfig = PretrainedConfig;
  static baseModelPrefix = "";
  /** Checkpoint keys that are expected not to be used (e.g. position_ids buffers of old checkpoints). */
  static keysToIgnoreOnLoadUnexpected: RegExp[] = [/(^|\.)position_ids$/];
  /**
   * Whether forward takes the accumulation group's label count (ForwardOptions.numItemsInBatch) into
   * its loss, as HF's models with loss kwargs: the Trainer then passes it and does not divide the loss
   * by the accumulation steps (transformers' model_accepts_loss_kwargs).
   */
  static acceptsLossKwargs = false;
  /** The inputs forward() reads: the Trainer drops dataset columns outside this list. */
  static inputNames = ["input_ids", "attention_mask", "token_type_ids", "position_ids", "labels"];

  readonly config: PretrainedConfig;
  nameOrPath = "";

  constructor(config: PretrainedConfig) {
    super();
    if (!(config instanceof PretrainedConfig)) throw new TypeError(`${new.target.name}: expected a config object`);
    this.config = config;
  }

  abstract forward(inputs: ModelInputs, o?: ForwardOptions): ModelOutput;

  /**
   * Writes this model's eval-mode forward into an ONNX graph: declares the inputs it reads and the
   * outputs it gives, named as HF's exporter names them (exportOnnx calls it). Architectures that can
   * be exported override it.
   */
  onnx(g: OnnxGraph): void {
    void g;
    throw new Error(`${this.constructor.name} cannot be exported to ONNX (BERT, DistilBERT and RoBERTa models can)`);
  }

  /** Hugging Face's _init_weights for BERT-family models. */
  initWeights(m: Module): void {
    const std = this.config.get<number>("initializer_range") ?? 0.02;
    if (m instanceof Linear) {
      init.normal_(m.weight, 0, std);
      if (m.bias) init.zeros_(m.bias);
    } else if (m instanceof Embedding) {
      init.normal_(m.weight, 0, std);
      m.zeroPaddingRow();
    } else if (m instanceof LayerNorm) {
      if (m.weight) init.ones_(m.weight);
      if (m.bias) init.zeros_(m.bias);
    }
  }

  /** HF's post_init: initialises every weight (called at the end of each model's constructor). */
  protected postInit(): void {
    this.apply((m) => this.initWeights(m));
    this.tieWeights();
  }

  /** The inputs forward() reads (the class's inputNames; a wrapper answers for the model inside). */
  modelInputNames(): string[] {
    return (this.constructor as typeof PreTrainedModel).inputNames;
  }

  /** Whether forward takes the group's label count (the class's acceptsLossKwargs; a wrapper answers for the model inside). */
  takesLossKwargs(): boolean {
    return (this.constructor as typeof PreTrainedModel).acceptsLossKwargs;
  }

  /**
   * Checkpoints every encoder/decoder layer while training (HF's gradient_checkpointing_enable): the
   * layers' activations are recomputed in backward instead of kept; gradients are unchanged.
   */
  gradientCheckpointingEnable(): void {
    if (!setGradientCheckpointing(this, true)) throw new Error(`${this.constructor.name} does not support gradient checkpointing.`);
  }
  gradientCheckpointingDisable(): void {
    setGradientCheckpointing(this, false);
  }
  get isGradientCheckpointing(): boolean {
    return isGradientCheckpointing(this);
  }

  /** The projection onto the vocabulary (HF's get_output_embeddings), or null for models without one. */
  outputEmbeddings(): Module | null {
    return null;
  }

  /** Output embeddings share the input embeddings' weight where the architecture says so. */
  tieWeights(): void {}

  /** Pairs of names that hold one tensor (tied); savePretrained writes each once. */
  protected tiedKeys(): Set<string> {
    const seen = new Map<Tensor, string>();
    const tied = new Set<string>();
    for (const [k, t] of this.stateDict()) {
      if (seen.has(t)) tied.add(k);
      else seen.set(t, k);
    }
    return tied;
  }

  /** HF's from_config: a randomly initialised model (HF's init, under the current seed). */
  static fromConfig<T extends PreTrainedModel>(this: ModelClass<T>, config: PretrainedConfig | Json): T {
    const c = config instanceof PretrainedConfig ? config : new this.configClass(config);
    return new this(c);
  }

  static async fromPretrained<T extends PreTrainedModel>(this: ModelClass<T>, nameOrPath: string, o: FromPretrainedOptions = {}): Promise<T> {
    return (await loadPretrained(this, nameOrPath, o)).model;
  }

  /** fromPretrained that also returns HF's loading info (missing, unexpected, mismatched keys). */
  static async fromPretrainedWithInfo<T extends PreTrainedModel>(
    this: ModelClass<T>,
    nameOrPath: string,
    o: FromPretrainedOptions = {},
  ): Promise<{ model: T; info: LoadingInfo }> {
    return loadPretrained(this, nameOrPath, o);
  }

  /**
   * Loads the weights a savePretrained folder holds (model.safetensors, or its shards) into this model,
   * as the Trainer does on resume and for the best model (HF's load_state_dict(state_dict, False) then
   * _issue_warnings_after_load): what the folder lacks or has extra is warned about by name, never
   * loaded silently; a tied weight stored once is not missing. Returns the keys.
   */
  loadSavedWeights(dir: string): { missingKeys: string[]; unexpectedKeys: string[] } {
    const single = join(dir, "model.safetensors");
    const index = join(dir, "model.safetensors.index.json");
    let tensors: Map<string, Tensor>;
    if (existsSync(single)) tensors = torch.loadFile(single);
    else if (existsSync(index)) {
      const idx = readConfigJson(index) as { weight_map?: Record<string, string> };
      if (!idx.weight_map || typeof idx.weight_map !== "object") throw new Error(`${index} has no weight_map`);
      tensors = new Map();
      try {
        for (const shard of new Set(Object.values(idx.weight_map))) for (const [k, t] of torch.loadFile(join(dir, shard))) tensors.set(k, t);
      } catch (e) {
        torch.dispose(tensors);
        throw e;
      }
    } else throw new Error(`${dir} holds no model weights (model.safetensors or model.safetensors.index.json)`);
    try {
      const tied = this.tiedKeys();
      const { missingKeys, unexpectedKeys } = this.loadStateDict(tensors, { strict: false });
      const missing = missingKeys.filter((k) => !tied.has(k));
      if (missing.length) logger.warning(`There were missing keys in the checkpoint model loaded: ${PYLIST(missing)}.`);
      if (unexpectedKeys.length) logger.warning(`There were unexpected keys in the checkpoint model loaded: ${PYLIST(unexpectedKeys)}.`);
      return { missingKeys: missing, unexpectedKeys };
    } finally {
      torch.dispose(tensors);
    }
  }

  /** config.json + model.safetensors (HF key names, {"format": "pt"}), each written atomically. */
  savePretrained(dir: string, o: { maxShardSize?: number } = {}): string[] {
    mkdirSync(dir, { recursive: true });
    const tied = this.tiedKeys();
    const sd = new Map([...this.stateDict()].filter(([k]) => !tied.has(k)));
    const dtype = sd.values().next().value?.dtype ?? "float32";
    const configText = this.config.toJsonString({ architectures: [this.constructor.name], torch_dtype: dtype });
    const written: string[] = [];
    const limit = o.maxShardSize ?? Infinity;
    const shards: Map<string, Tensor>[] = [new Map()];
    let size = 0;
    for (const [k, t] of sd) {
      const bytes = t.numel() * torch.elementBytes(t.dtype);
      if (size > 0 && size + bytes > limit) {
        shards.push(new Map());
        size = 0;
      }
      shards[shards.length - 1].set(k, t);
      size += bytes;
    }
    if (shards.length === 1) {
      torch.saveFile(shards[0], join(dir, "model.safetensors"), { format: "pt" });
      written.push(join(dir, "model.safetensors"));
    } else {
      const weightMap: Record<string, string> = {};
      let total = 0;
      shards.forEach((shard, i) => {
        const name = `model-${String(i + 1).padStart(5, "0")}-of-${String(shards.length).padStart(5, "0")}.safetensors`;
        torch.saveFile(shard, join(dir, name), { format: "pt" });
        written.push(join(dir, name));
        for (const [k, t] of shard) {
          weightMap[k] = name;
          total += t.numel() * torch.elementBytes(t.dtype);
        }
      });
      writeFileAtomic(join(dir, "model.safetensors.index.json"), JSON.stringify({ metadata: { total_size: total }, weight_map: weightMap }, null, 2) + "\n");
      written.push(join(dir, "model.safetensors.index.json"));
    }
    writeFileAtomic(join(dir, "config.json"), configText);
    written.push(join(dir, "config.json"));
    return written;
  }

  /**
   * What a label column's values index, for the Trainer's check of them: the classes (num_labels) for a
   * classifier; a language-model head overrides it with the vocabulary.
   */
  labelSpace(): { size: number; name: string } {
    return { size: this.config.numLabels, name: "num_labels" };
  }

  /** The loss a classification head computes, by HF's problem_type rules. */
  protected classificationLoss(logits: Tensor, labels: Tensor): Tensor {
    const n = this.config.numLabels;
    if (this.config.problemType === null) {
      if (n === 1) this.config.problemType = "regression";
      else if (labels.dtype === "int64" || labels.dtype === "int32") this.config.problemType = "single_label_classification";
      else this.config.problemType = "multi_label_classification";
    }
    switch (this.config.problemType) {
      case "regression": {
        // HF's MSELoss takes the labels as they are (float32), and autocast runs mse_loss in float32:
        // casting the labels to bf16/fp16 logits would round a target such as 3.8 to 3.796875.
        const x = logits.float();
        const y = labels.float();
        return n === 1 ? F.mseLoss(x.squeeze(), y.squeeze()) : F.mseLoss(x, y);
      }
      case "single_label_classification":
        return F.crossEntropy(logits.view(-1, n), labels.view(-1));
      default:
        return F.binaryCrossEntropyWithLogits(logits, labels.to(logits.dtype));
    }
  }

  /**
   * A QA head's two logits from its [B, L, 2] output, and HF's loss: start and end positions outside the
   * sequence are clamped to its length and ignored, the two cross-entropies averaged.
   */
  protected questionAnsweringOutput(both: Tensor, inputs: ModelInputs, rest: ModelOutput): QuestionAnsweringOutput {
    const [startLogits, endLogits] = both.split(1, -1).map((t) => t.squeeze(-1).contiguous());
    let loss: Tensor | undefined;
    if (inputs.start_positions && inputs.end_positions) {
      const ignored = startLogits.shape[1];
      const s = inputs.start_positions.clamp(0, ignored);
      const e = inputs.end_positions.clamp(0, ignored);
      loss = F.crossEntropy(startLogits, s, { ignoreIndex: ignored })
        .add(F.crossEntropy(endLogits, e, { ignoreIndex: ignored }))
        .div(2);
    }
    return { loss, startLogits, endLogits, hiddenStates: rest.hiddenStates, attentions: rest.attentions };
  }

  /** HF's qa_outputs: Linear(hidden, num_labels), whose two outputs are the span's start and end. */
  protected questionAnsweringHead(inFeatures: number): Linear {
    const n = this.config.numLabels;
    if (n !== 2) throw new RangeError(`${this.constructor.name} needs num_labels 2 (start and end logits), got ${n}`);
    return new Linear(inFeatures, n);
  }

  /** A masked-LM head's labels are token ids. */
  protected vocabularyLabels(): { size: number; name: string } {
    return { size: this.config.need<number>("vocab_size"), name: "vocab_size" };
  }

  /** A masked-LM head's loss: cross-entropy over the vocabulary, labels −100 ignored. */
  protected maskedLmLoss(logits: Tensor, labels: Tensor | undefined): Tensor | undefined {
    return labels ? F.crossEntropy(logits.view(-1, logits.shape[logits.shape.length - 1]), labels.view(-1)) : undefined;
  }

  /** HF's _tie_or_clone_weights: the output projection shares the word embeddings' tensor, unless tie_word_embeddings is false. */
  protected tieOutputEmbeddings(output: Linear, input: Embedding): void {
    if (this.config.get("tie_word_embeddings") === false) return;
    if (output.weight !== input.weight) {
      const old = output.weight;
      output.registerParameter("weight", input.weight);
      old.dispose();
    }
  }

  override toString(): string {
    return `${this.constructor.name}(${this.numParameters().toLocaleString()} parameters, ${this.config.modelType})`;
  }
}

/** HF renames old TF-style names on load: LayerNorm.gamma/beta → weight/bias. */
function fixKey(k: string): string {
  if (k.endsWith(".gamma")) return k.slice(0, -6) + ".weight";
  if (k.endsWith(".beta")) return k.slice(0, -5) + ".bias";
  return k;
}

async function readWeights(nameOrPath: string, o: FromPretrainedOptions): Promise<{ tensors: Map<string, Tensor>; files: string[] }> {
  const find = (f: string) => resolveFile(nameOrPath, f, { ...o, optional: true });
  const single = await find("model.safetensors");
  if (single) return { tensors: torch.loadFile(single), files: [single] };
  const index = await find("model.safetensors.index.json");
  const binIndex = index ? null : await find("pytorch_model.bin.index.json");
  if (index || binIndex) {
    const idx = readConfigJson((index ?? binIndex)!) as { weight_map?: Record<string, string> };
    if (!idx.weight_map) throw new Error(`${index ?? binIndex} has no weight_map`);
    const shards = [...new Set(Object.values(idx.weight_map))];
    const tensors = new Map<string, Tensor>();
    const files: string[] = [];
    for (const s of shards) {
      const p = await resolveFile(nameOrPath, s, o);
      files.push(p!);
      for (const [k, t] of index ? torch.loadFile(p!) : loadPytorchBin(p!)) tensors.set(k, t);
    }
    return { tensors, files };
  }
  const bin = await find("pytorch_model.bin");
  if (bin) return { tensors: loadPytorchBin(bin), files: [bin] };
  const where = isLocalDir(nameOrPath) ? `in directory ${nameOrPath}` : `in ${nameOrPath} (hub or cache)`;
  throw new Error(`Error no file named model.safetensors, model.safetensors.index.json or pytorch_model.bin found ${where}.`);
}

async function loadPretrained<T extends PreTrainedModel>(
  cls: ModelClass<T>,
  nameOrPath: string,
  options: FromPretrainedOptions,
): Promise<{ model: T; info: LoadingInfo }> {
  const o = HubSession.in(options);
  let config = o.config;
  if (!config) {
    const { json } = await loadConfigJson(nameOrPath, o);
    const expected = new cls.configClass().modelType;
    if (json.model_type && json.model_type !== expected) {
      logger.warning(
        `You are using a model of type ${json.model_type} to instantiate a model of type ${expected}. This is not supported for all configurations of models and can yield errors.`,
      );
    }
    const values: Json = { ...json, ...(o.configOverrides ?? {}) };
    if (o.numLabels !== undefined && o.numLabels !== Object.keys((json.id2label as Json) ?? {}).length) {
      delete values.id2label;
      delete values.label2id;
      values.num_labels = o.numLabels;
    }
    if (o.id2label) values.id2label = o.id2label;
    if (o.label2id) values.label2id = o.label2id;
    if (o.problemType !== undefined) values.problem_type = o.problemType;
    if (o.classifierDropout !== undefined) values.classifier_dropout = o.classifierDropout;
    if (o.attnImplementation) values._attn_implementation = o.attnImplementation;
    config = new cls.configClass(values);
  }
  // Built without random draws (HF's no_init_weights): only the weights the checkpoint lacks are drawn.
  const model = init.noInitWeights(() => new cls(config));
  model.nameOrPath = nameOrPath;
  const { tensors } = await readWeights(nameOrPath, o);
  try {
    const info = copyCheckpoint(model, cls, tensors, nameOrPath, o.ignoreMismatchedSizes ?? false);
    const dtype = o.dtype === "auto" ? ((config.get<string>("dtype") ?? config.get<string>("torch_dtype")) as DType | undefined) : o.dtype;
    if (dtype && dtype !== "float32") model.to({ dtype });
    if (o.device && o.device !== "cpu") model.to({ device: o.device });
    model.eval();
    return { model, info };
  } finally {
    torch.dispose(tensors);
  }
}

function copyCheckpoint(
  model: PreTrainedModel,
  cls: { baseModelPrefix: string; name: string },
  raw: Map<string, Tensor>,
  nameOrPath: string,
  ignoreMismatched: boolean,
): LoadingInfo {
  const prefix = cls.baseModelPrefix;
  const own = model.stateDict();
  const tied = (model as unknown as { tiedKeys(): Set<string> }).tiedKeys();
  const expected = [...own.keys()];
  let loaded = new Map([...raw].map(([k, t]) => [fixKey(k), t]));
  if (prefix) {
    const hasPrefix = [...loaded.keys()].some((k) => k.startsWith(`${prefix}.`));
    const expectsPrefix = expected.some((k) => k.startsWith(`${prefix}.`));
    if (!hasPrefix && expectsPrefix) loaded = new Map([...loaded].map(([k, t]) => [`${prefix}.${k}`, t]));
    else if (hasPrefix && !expectsPrefix) loaded = new Map([...loaded].map(([k, t]) => [k.startsWith(`${prefix}.`) ? k.slice(prefix.length + 1) : k, t]));
  }
  const ignore = (model.constructor as typeof PreTrainedModel).keysToIgnoreOnLoadUnexpected;
  const missingKeys = expected.filter((k) => !loaded.has(k) && !tied.has(k)).sort();
  const unexpectedKeys = [...loaded.keys()].filter((k) => !own.has(k) && !ignore.some((re) => re.test(k))).sort();
  const mismatchedKeys: [string, number[], number[]][] = [];
  for (const [k, t] of own) {
    const v = loaded.get(k);
    if (v && v.shape.join(",") !== t.shape.join(",")) mismatchedKeys.push([k, v.shape, t.shape]);
  }
  if (mismatchedKeys.length && !ignoreMismatched) {
    const lines = mismatchedKeys.map(
      ([k, a, b]) => `size mismatch for ${k}: copying a param with shape ${SIZE(a)} from checkpoint, the shape in current model is ${SIZE(b)}.`,
    );
    throw new Error(
      `Error(s) in loading state_dict for ${cls.name}:\n\t${lines.join("\n\t")}\n\tYou may consider adding \`ignoreMismatchedSizes: true\` in the model \`fromPretrained\` method.`,
    );
  }
  initializeMissing(model, new Set([...missingKeys, ...mismatchedKeys.map(([k]) => k)]));
  torch.noGrad(() => {
    for (const [k, t] of own) {
      const v = loaded.get(k);
      if (v && v.shape.join(",") === t.shape.join(",")) t.copy_(v);
    }
  });
  const name = cls.name;
  if (unexpectedKeys.length) {
    // HF's rule: unused weights are news (a warning) when the checkpoint was saved from this very
    // class; from another architecture (bert-base-cased's BertForMaskedLM) they are expected (info).
    const archs = model.config.get<string[]>("architectures") ?? [];
    (archs.includes(name) ? logger.warning : logger.info)(
      `Some weights of the model checkpoint at ${nameOrPath} were not used when initializing ${name}: ${PYLIST(unexpectedKeys)}\n` +
        `- This IS expected if you are initializing ${name} from the checkpoint of a model trained on another task or with another architecture (e.g. initializing a BertForSequenceClassification model from a BertForPreTraining model).\n` +
        `- This IS NOT expected if you are initializing ${name} from the checkpoint of a model that you expect to be exactly identical (initializing a BertForSequenceClassification model from a BertForSequenceClassification model).`,
    );
  }
  if (missingKeys.length) {
    logger.warning(
      `Some weights of ${name} were not initialized from the model checkpoint at ${nameOrPath} and are newly initialized: ${PYLIST(missingKeys)}\n` +
        "You should probably TRAIN this model on a down-stream task to be able to use it for predictions and inference.",
    );
  }
  if (mismatchedKeys.length) {
    const lines = mismatchedKeys.map(([k, a, b]) => `- ${k}: found shape ${SIZE(a)} in the checkpoint and ${SIZE(b)} in the model instantiated`).join("\n");
    logger.warning(
      `Some weights of ${name} were not initialized from the model checkpoint at ${nameOrPath} and are newly initialized because the shapes did not match:\n${lines}\n` +
        "You should probably TRAIN this model on a down-stream task to be able to use it for predictions and inference.",
    );
  }
  return { missingKeys, unexpectedKeys, mismatchedKeys };
}

/**
 * HF's _initialize_missing_keys: `_init_weights` on every module holding a weight the checkpoint
 * does not give, in Module.apply's post-order (children first), so the generator's draws come in
 * HF's order; modules the checkpoint fills entirely draw nothing. Runs before the checkpoint's
 * weights are copied in, so a module only partly in the checkpoint keeps the loaded part.
 */
function initializeMissing(model: PreTrainedModel, notLoaded: Set<string>): void {
  if (!notLoaded.size) return;
  const visit = (prefix: string, m: Module): void => {
    for (const [name, child] of m.children()) visit(prefix ? `${prefix}.${name}` : name, child);
    const holds = [...notLoaded].some((k) => (prefix ? k.startsWith(`${prefix}.`) : true));
    if (holds) model.initWeights(m);
  };
  visit("", model);
}

/** torch.finfo(dtype).min: what HF adds to the scores of masked positions. */
export function finfoMin(dtype: DType): number {
  if (dtype === "float16") return -65504;
  if (dtype === "bfloat16") return -3.3895313892515355e38;
  if (dtype === "float64") return -1.7976931348623157e308;
  return -3.4028234663852886e38;
}
