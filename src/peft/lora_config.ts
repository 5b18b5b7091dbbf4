// LoraConfig as PEFT's (peft 0.20, tuners/lora/config.py): the options of an adapter, camelCase here,
// written to and read from adapter_config.json under PEFT's snake_case names with every field PEFT
// writes, so an adapter folder goes both ways between this library and Python.
import { readJsonObject, writeFileAtomic } from "../util/files.js";
import { pyFloat } from "../util/py_float.js";

export type LoraBias = "none" | "all" | "lora_only";
export type TaskType = "SEQ_CLS" | "SEQ_2_SEQ_LM" | "CAUSAL_LM" | "TOKEN_CLS" | "QUESTION_ANS" | "FEATURE_EXTRACTION";
const TASK_TYPES: TaskType[] = ["SEQ_CLS", "SEQ_2_SEQ_LM", "CAUSAL_LM", "TOKEN_CLS", "QUESTION_ANS", "FEATURE_EXTRACTION"];

/** PEFT's `all-linear` shorthand: every linear layer but the output head. */
export const ALL_LINEAR = "all-linear";

/** PEFT's TRANSFORMERS_MODELS_TO_LORA_TARGET_MODULES_MAPPING, for the architectures this library has. */
export const DEFAULT_TARGET_MODULES: Record<string, string[]> = {
  gpt2: ["c_attn"],
  bert: ["query", "value"],
  roberta: ["query", "value"],
  llama: ["q_proj", "v_proj"],
  mistral: ["q_proj", "v_proj"],
  qwen2: ["q_proj", "v_proj"],
  qwen3: ["q_proj", "v_proj"],
};

export interface LoraConfigOptions {
  /** The adapter's rank (PEFT's default 8). */
  r?: number;
  /** scaling = loraAlpha / r (or / √r with useRslora); PEFT's default 8. */
  loraAlpha?: number;
  loraDropout?: number;
  /** Name suffixes (["q_proj", "v_proj"]), a regex that must match a module's whole name, or "all-linear". */
  targetModules?: string[] | string | null;
  /** Names (or suffixes, or a full-match regex) never adapted. */
  excludeModules?: string[] | string | null;
  /** The base weight is stored [in, out] (GPT-2's Conv1D); set for you when the target is a Conv1D. */
  fanInFanOut?: boolean;
  bias?: LoraBias;
  useRslora?: boolean;
  /** Modules trained in full and saved with the adapter (a copy; the original stays for disableAdapter). */
  modulesToSave?: string[] | null;
  /** true: A kaiming-uniform(a=√5), B zeros; "gaussian": A normal(0, 1/r), B zeros; false: both as nn.Linear draws them (tests only). */
  initLoraWeights?: boolean | "gaussian";
  layersToTransform?: number[] | number | null;
  layersPattern?: string[] | string | null;
  taskType?: TaskType | null;
  /** A bias on lora_B (PEFT's lora_bias). */
  loraBias?: boolean;
  inferenceMode?: boolean;
  baseModelNameOrPath?: string | null;
  revision?: string | null;
}

export class LoraConfig {
  readonly peftType = "LORA";
  r: number;
  loraAlpha: number;
  loraDropout: number;
  targetModules: string[] | string | null;
  excludeModules: string[] | string | null;
  fanInFanOut: boolean;
  bias: LoraBias;
  useRslora: boolean;
  modulesToSave: string[] | null;
  initLoraWeights: boolean | "gaussian";
  layersToTransform: number[] | number | null;
  layersPattern: string[] | string | null;
  taskType: TaskType | null;
  loraBias: boolean;
  inferenceMode: boolean;
  baseModelNameOrPath: string | null;
  revision: string | null;

  constructor(o: LoraConfigOptions = {}) {
    this.r = o.r ?? 8;
    if (!Number.isInteger(this.r) || this.r <= 0) throw new RangeError(`\`r\` should be a positive integer value but the value passed is ${this.r}`);
    this.loraAlpha = o.loraAlpha ?? 8;
    if (!Number.isFinite(this.loraAlpha)) throw new RangeError(`loraAlpha must be a number, got ${o.loraAlpha}`);
    this.loraDropout = o.loraDropout ?? 0;
    if (!(this.loraDropout >= 0 && this.loraDropout < 1)) throw new RangeError(`loraDropout must be in [0, 1), got ${o.loraDropout}`);
    // PEFT turns a list into a set: duplicates go, and the order is not kept (written sorted here).
    this.targetModules = Array.isArray(o.targetModules) ? [...new Set(o.targetModules)].sort() : (o.targetModules ?? null);
    this.excludeModules = Array.isArray(o.excludeModules) ? [...new Set(o.excludeModules)].sort() : (o.excludeModules ?? null);
    this.fanInFanOut = o.fanInFanOut ?? false;
    this.bias = o.bias ?? "none";
    if (!["none", "all", "lora_only"].includes(this.bias)) throw new RangeError(`bias must be "none", "all" or "lora_only", got ${JSON.stringify(o.bias)}`);
    this.useRslora = o.useRslora ?? false;
    this.modulesToSave = o.modulesToSave ? [...o.modulesToSave] : null;
    this.initLoraWeights = o.initLoraWeights ?? true;
    if (this.initLoraWeights !== true && this.initLoraWeights !== false && this.initLoraWeights !== "gaussian") {
      throw new RangeError(
        `initLoraWeights must be true, false or "gaussian" (other PEFT initialisations are not supported), got ${JSON.stringify(o.initLoraWeights)}`,
      );
    }
    this.layersToTransform = o.layersToTransform ?? null;
    this.layersPattern = o.layersPattern ?? null;
    if (this.layersPattern !== null && this.layersToTransform === null) {
      throw new Error("When `layers_pattern` is specified, `layers_to_transform` must also be specified. ");
    }
    if (typeof this.targetModules === "string" && this.layersToTransform !== null)
      throw new Error("`layers_to_transform` cannot be used when `target_modules` is a str.");
    if (typeof this.targetModules === "string" && this.layersPattern !== null)
      throw new Error("`layers_pattern` cannot be used when `target_modules` is a str.");
    this.taskType = o.taskType ?? null;
    if (this.taskType !== null && !TASK_TYPES.includes(this.taskType))
      throw new RangeError(`taskType must be one of ${TASK_TYPES.join(", ")}, got ${JSON.stringify(o.taskType)}`);
    this.loraBias = o.loraBias ?? false;
    if (this.loraBias && this.initLoraWeights === "gaussian") {
      throw new Error(`The argument lora_bias=True is only supported with init_lora_weights=True or False, got init_lora_weights=gaussian instead.`);
    }
    this.inferenceMode = o.inferenceMode ?? false;
    this.baseModelNameOrPath = o.baseModelNameOrPath ?? null;
    this.revision = o.revision ?? null;
  }

  /** alpha / r, or alpha / √r with rsLoRA (PEFT's update_layer). */
  get scaling(): number {
    return this.useRslora ? this.loraAlpha / Math.sqrt(this.r) : this.loraAlpha / this.r;
  }

  copy(changes: LoraConfigOptions = {}): LoraConfig {
    return new LoraConfig({ ...this.options(), ...changes });
  }

  options(): LoraConfigOptions {
    const { r, loraAlpha, loraDropout, targetModules, excludeModules, fanInFanOut, bias, useRslora, modulesToSave, initLoraWeights } = this;
    const { layersToTransform, layersPattern, taskType, loraBias, inferenceMode, baseModelNameOrPath, revision } = this;
    return {
      r,
      loraAlpha,
      loraDropout,
      targetModules,
      excludeModules,
      fanInFanOut,
      bias,
      useRslora,
      modulesToSave,
      initLoraWeights,
      layersToTransform,
      layersPattern,
      taskType,
      loraBias,
      inferenceMode,
      baseModelNameOrPath,
      revision,
    };
  }

  /**
   * adapter_config.json's fields as PEFT 0.20 writes them (LoraConfig.to_dict without runtime_config):
   * the options this library has, and PEFT's defaults for the variants it does not (DoRA, LoftQ, …).
   */
  toPeftDict(): Record<string, unknown> {
    return {
      alora_invocation_tokens: null,
      alpha_pattern: {},
      arrow_config: null,
      auto_mapping: null,
      base_model_name_or_path: this.baseModelNameOrPath,
      bias: this.bias,
      corda_config: null,
      ensure_weight_tying: false,
      eva_config: null,
      exclude_modules: this.excludeModules,
      fan_in_fan_out: this.fanInFanOut,
      inference_mode: this.inferenceMode,
      init_lora_weights: this.initLoraWeights,
      kasa_config: null,
      layer_replication: null,
      layers_pattern: this.layersPattern,
      layers_to_transform: this.layersToTransform,
      loftq_config: {},
      lora_alpha: this.loraAlpha,
      lora_bias: this.loraBias,
      lora_dropout: new PyFloat(this.loraDropout),
      lora_ga_config: null,
      megatron_config: null,
      megatron_core: "megatron.core",
      modules_to_save: this.modulesToSave,
      monteclora_config: null,
      peft_type: "LORA",
      peft_version: PEFT_VERSION,
      qalora_group_size: 16,
      r: this.r,
      rank_pattern: {},
      revision: this.revision,
      target_modules: this.targetModules,
      target_parameters: null,
      task_type: this.taskType,
      trainable_token_indices: null,
      use_bdlora: null,
      use_dora: false,
      use_qalora: false,
      use_rslora: this.useRslora,
      velora_config: null,
    };
  }

  /** Writes adapter_config.json as PEFT's save_pretrained (json.dumps(indent=2, sort_keys=True)), atomically. */
  saveTo(path: string): void {
    writeFileAtomic(path, pythonJson(this.toPeftDict()));
  }

  /** Reads an adapter_config.json PEFT wrote; options this library cannot honour are an error naming them, never ignored. */
  static fromFile(path: string): LoraConfig {
    const d = readJsonObject(path, "adapter_config.json");
    const type = d.peft_type ?? "LORA";
    if (type !== "LORA") throw new Error(`${path}: peft_type ${JSON.stringify(type)} is not supported (only LORA adapters are)`);
    const unsupported: string[] = [];
    const off = (k: string, isDefault: (v: unknown) => boolean) => {
      if (k in d && !isDefault(d[k])) unsupported.push(`${k}=${JSON.stringify(d[k])}`);
    };
    const empty = (v: unknown) => v === null || v === false || (typeof v === "object" && Object.keys(v as object).length === 0);
    for (const k of [
      "use_dora",
      "use_qalora",
      "alora_invocation_tokens",
      "layer_replication",
      "target_parameters",
      "trainable_token_indices",
      "use_bdlora",
      "arrow_config",
      "kasa_config",
      "velora_config",
      "monteclora_config",
      "megatron_config",
      "eva_config",
      "corda_config",
      "lora_ga_config",
    ])
      off(k, empty);
    off("rank_pattern", empty);
    off("alpha_pattern", empty);
    off("loftq_config", empty);
    if (unsupported.length) throw new Error(`${path}: this adapter uses LoRA options finetune-ts does not support: ${unsupported.join(", ")}`);
    const init = d.init_lora_weights;
    if (init !== undefined && init !== true && init !== false && init !== "gaussian") {
      // Only the initialisation differs; a saved adapter's weights are what they are.
      console.warn(`${path}: init_lora_weights=${JSON.stringify(init)} is not an initialisation finetune-ts has; the saved weights are loaded as they are`);
    }
    const str = (v: unknown) => (typeof v === "string" ? v : null);
    const strs = (v: unknown) => (Array.isArray(v) ? v.map(String) : typeof v === "string" ? v : null);
    return new LoraConfig({
      r: typeof d.r === "number" ? d.r : undefined,
      loraAlpha: typeof d.lora_alpha === "number" ? d.lora_alpha : undefined,
      loraDropout: typeof d.lora_dropout === "number" ? d.lora_dropout : undefined,
      targetModules: strs(d.target_modules),
      excludeModules: strs(d.exclude_modules),
      fanInFanOut: d.fan_in_fan_out === true,
      bias: (str(d.bias) ?? "none") as LoraBias,
      useRslora: d.use_rslora === true,
      modulesToSave: Array.isArray(d.modules_to_save) ? d.modules_to_save.map(String) : null,
      initLoraWeights: init === false ? false : init === "gaussian" ? "gaussian" : true,
      layersToTransform: Array.isArray(d.layers_to_transform)
        ? d.layers_to_transform.map(Number)
        : typeof d.layers_to_transform === "number"
          ? d.layers_to_transform
          : null,
      layersPattern: strs(d.layers_pattern),
      taskType: (str(d.task_type) as TaskType | null) ?? null,
      loraBias: d.lora_bias === true,
      inferenceMode: d.inference_mode === true,
      baseModelNameOrPath: str(d.base_model_name_or_path),
      revision: str(d.revision),
    });
  }
}

/** The PEFT release whose adapter_config.json fields this library writes. */
export const PEFT_VERSION = "0.20.0";

/** A number Python writes as a float (0.0, not 0). */
class PyFloat {
  constructor(readonly value: number) {}
}

/** json.dumps(v, indent=2, sort_keys=True) as Python writes it: ASCII only, floats with a point. */
export function pythonJson(v: unknown): string {
  const ascii = (s: string) => JSON.stringify(s).replace(/[\u007f-\uffff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`);
  const write = (x: unknown, pad: string): string => {
    if (x instanceof PyFloat) return pyFloat(x.value);
    if (x === null || x === undefined) return "null";
    if (typeof x === "string") return ascii(x);
    if (typeof x === "number" || typeof x === "boolean") return String(x);
    const inner = pad + "  ";
    if (Array.isArray(x)) return x.length === 0 ? "[]" : `[\n${x.map((e) => inner + write(e, inner)).join(",\n")}\n${pad}]`;
    const keys = Object.keys(x as object).sort();
    if (keys.length === 0) return "{}";
    return `{\n${keys.map((k) => `${inner}${ascii(k)}: ${write((x as Record<string, unknown>)[k], inner)}`).join(",\n")}\n${pad}}`;
  };
  return write(v, "");
}
