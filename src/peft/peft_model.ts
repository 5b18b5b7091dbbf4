// getPeftModel and PeftModel as PEFT's (peft 0.20: tuners_utils.py inject_adapter and
// check_target_module_exists, peft_model.py, utils/save_and_load.py): LoRA layers replace the targeted
// linear layers of a model in place, the rest is frozen, and an adapter folder (adapter_config.json +
// adapter_model.safetensors) is written and read under PEFT's key names, so adapters go both ways.
import { existsSync, mkdirSync, statSync } from "node:fs";
import { join } from "node:path";
import * as torch from "../torch/index.js";
import type { Tensor } from "../torch/index.js";
import { Linear, Module, sizeMismatches } from "../nn/index.js";
import { Conv1D } from "../models/gpt2/modeling_gpt2.js";
import { PreTrainedModel, type ForwardOptions, type HeadOutput, type ModelInputs } from "../models/modeling_utils.js";
import type { PretrainedConfig } from "../models/configuration_utils.js";
import { ALL_LINEAR, DEFAULT_TARGET_MODULES, LoraConfig } from "./lora_config.js";
import { LoraLinear, ModulesToSaveWrapper, type TunerLayer } from "./lora_layer.js";

/** PEFT's SEQ_CLS_HEAD_NAMES: the heads a sequence classifier trains in full beside its adapter. */
const SEQ_CLS_HEAD_NAMES = ["classifier", "score"];
/** PEFT's MIN_TARGET_MODULES_FOR_OPTIMIZATION: from this many names on, targets are condensed to suffixes. */
const MIN_TARGET_MODULES_FOR_OPTIMIZATION = 20;
export const ADAPTER_CONFIG_NAME = "adapter_config.json";
export const ADAPTER_WEIGHTS_NAME = "adapter_model.safetensors";

function isTunerLayer(m: Module): m is Module & TunerLayer {
  return m instanceof LoraLinear || m instanceof ModulesToSaveWrapper;
}

/** The module at a dotted path, its parent and its name there (PEFT's _get_submodules). */
function submodule(root: Module, key: string): { parent: Module; target: Module; name: string } {
  const parts = key.split(".");
  let parent = root;
  for (const p of parts.slice(0, -1)) {
    const next = [...parent.children()].find(([n]) => n === p)?.[1];
    if (!next) throw new Error(`no module named '${key}'`);
    parent = next;
  }
  const name = parts[parts.length - 1];
  const target = [...parent.children()].find(([n]) => n === name)?.[1];
  if (!target) throw new Error(`no module named '${key}'`);
  return { parent, target, name };
}

/** True when the key lies under one of the prefixes (a module inside a tuner layer). */
function under(key: string, prefixes: string[]): boolean {
  return prefixes.some((p) => key === p || key.startsWith(`${p}.`));
}

/** PEFT's _find_minimal_target_modules: the fewest name suffixes that pick out the targets and nothing else. */
export function minimalTargetModules(targets: string[], others: string[]): string[] {
  const suffixes = (s: string) => {
    const parts = s.split(".");
    return parts.map((_, i) => parts.slice(i).join(".")).reverse();
  };
  const otherSuffixes = new Set(others.flatMap(suffixes));
  const byItem = [...new Set(targets)].map((t) => [t, suffixes(t)] as const);
  // Python sorts the (item, suffixes) pairs by the suffix lists: lexicographic over the strings.
  byItem.sort(([, a], [, b]) => {
    for (let i = 0; i < Math.min(a.length, b.length); i++) if (a[i] !== b[i]) return a[i] < b[i] ? -1 : 1;
    return a.length - b.length;
  });
  const required = new Set<string>();
  for (const [item, sfx] of byItem) {
    for (const s of sfx) {
      if (required.has(s) || otherSuffixes.has(s)) continue;
      if (![...required].some((r) => item.endsWith(`.${r}`))) {
        required.add(s);
        break;
      }
    }
  }
  return required.size ? [...required].sort() : [...new Set(targets)].sort();
}

type Match = boolean | "excluded";

/** PEFT's check_target_module_exists (with exclude_modules, modules_to_save and layers_to_transform). */
export function targetModuleMatches(config: LoraConfig, key: string): Match {
  const ex = config.excludeModules;
  if (ex) {
    if (typeof ex === "string" ? fullMatch(ex, key) : ex.includes(key) || ex.some((e) => key.endsWith(`.${e}`))) return "excluded";
  }
  if (config.modulesToSave?.some((m) => new RegExp(`(^|.*\\.)${m}($|\\..*)`).test(key))) return "excluded";
  const t = config.targetModules;
  if (t === null) return false;
  if (typeof t === "string") return fullMatch(t, key);
  if (t.includes(key)) return true;
  let found = t.some((k) => key.endsWith(`.${k}`));
  const layers = config.layersToTransform;
  const usingLayers = layers !== null && (Array.isArray(layers) ? layers.length > 0 : true);
  if (usingLayers && found) {
    let m: RegExpMatchArray | null = null;
    const patterns = config.layersPattern === null ? [] : typeof config.layersPattern === "string" ? [config.layersPattern] : config.layersPattern;
    if (patterns.length === 0) m = key.match(/^.*?\.[^.]*\.(\d+)\./);
    else for (const p of patterns) if ((m = key.match(new RegExp(`^.*?\\.${p}\\.(\\d+)\\.`)))) break;
    if (!m) found = false;
    else {
      const idx = Number(m[1]);
      found = Array.isArray(layers) ? layers.includes(idx) : idx === layers;
    }
  }
  return found;
}

function fullMatch(pattern: string, key: string): boolean {
  return new RegExp(`^(?:${pattern})$`).test(key);
}

/** PEFT's _maybe_include_all_linear_layers: every Linear/Conv1D but the output head (or a classifier's head). */
function allLinearNames(model: PreTrainedModel, config: LoraConfig): string[] {
  const names = new Set<string>();
  const exclude = new Set<string>();
  const modules = [...model.namedModules()];
  for (const [name, m] of modules) if (m instanceof Linear || m instanceof Conv1D || m instanceof LoraLinear) names.add(name);
  const head = model.outputEmbeddings();
  if (head) {
    const hit = modules.find(([, m]) => m === head);
    if (hit) exclude.add(hit[0]);
  } else if (config.taskType === "SEQ_CLS") {
    for (const n of SEQ_CLS_HEAD_NAMES) {
      const hit = modules.find(([k]) => k === n);
      if (hit) {
        exclude.add(hit[0]);
        break;
      }
    }
  }
  for (const [prefix, m] of modules) if (isTunerLayer(m)) for (const [suffix] of m.namedModules()) if (suffix) exclude.add(`${prefix}.${suffix}`);
  return [...names].filter((n) => !exclude.has(n) && n !== "");
}

/**
 * Puts adapter `adapterName` into `model` in place (PEFT's BaseTuner.inject_adapter): the targeted
 * Linear/Conv1D layers become LoraLinear (adapters drawn from the generator in module order, as PEFT),
 * modulesToSave get a trained copy, and everything else is frozen. Returns the config as resolved
 * (default targets, all-linear expanded, fanInFanOut fixed for the layer type), which is what is saved.
 */
export function injectAdapter(model: PreTrainedModel, config: LoraConfig, adapterName: string): LoraConfig {
  let c = config.copy();
  if (c.targetModules === null) {
    const type = model.config.modelType;
    const defaults = DEFAULT_TARGET_MODULES[type];
    if (!defaults)
      throw new Error(
        `Please specify \`target_modules\` in \`peft_config\` (no default for model_type '${type}'; PEFT has defaults for ${Object.keys(DEFAULT_TARGET_MODULES).join(", ")})`,
      );
    c = c.copy({ targetModules: defaults });
  }
  const named = [...model.namedModules()].filter(([k]) => k !== "");
  const keys = named.map(([k]) => k);
  if (typeof c.targetModules === "string" && c.targetModules.toLowerCase() === ALL_LINEAR) c = c.copy({ targetModules: allLinearNames(model, c) });
  if (Array.isArray(c.targetModules) && c.targetModules.length >= MIN_TARGET_MODULES_FOR_OPTIMIZATION) {
    const targets = c.targetModules;
    const others = keys.filter((k) => !targets.includes(k) && !targets.some((t) => k.endsWith(`.${t}`)));
    const minimal = minimalTargetModules(targets, others);
    if (minimal.length < targets.length) c = c.copy({ targetModules: minimal });
  }
  const adapterPrefixes = named.filter(([, m]) => isTunerLayer(m)).map(([k]) => k);
  let targeted = 0;
  let excluded = 0;
  let unmatched = 0;
  for (const [key, module] of named) {
    if (adapterPrefixes.some((p) => key.startsWith(`${p}.`))) continue;
    const hit = targetModuleMatches(c, key);
    if (hit === "excluded") {
      excluded++;
      continue;
    }
    if (!hit) {
      unmatched++;
      continue;
    }
    if (module instanceof LoraLinear) {
      module.updateLayer(adapterName, c);
    } else if (module instanceof Linear || module instanceof Conv1D) {
      const isConv1D = module instanceof Conv1D;
      if (isConv1D && !c.fanInFanOut) {
        console.warn("fan_in_fan_out is set to False but the target module is `Conv1D`. Setting fan_in_fan_out to True.");
        c = c.copy({ fanInFanOut: true });
      } else if (!isConv1D && c.fanInFanOut) {
        console.warn("fan_in_fan_out is set to True but the target module is `torch.nn.Linear`. Setting fan_in_fan_out to False.");
        c = c.copy({ fanInFanOut: false });
      }
      const { parent, name } = submodule(model, key);
      parent.registerModule(name, new LoraLinear(module, adapterName, c, isConv1D));
    } else {
      throw new Error(
        `Target module ${module.constructor.name} is not supported. Currently, only the following modules are supported: \`torch.nn.Linear\`, \`transformers.pytorch_utils.Conv1D\` (the module named '${key}' matched the target modules)`,
      );
    }
    targeted++;
  }
  if (targeted === 0) {
    if (excluded && !unmatched)
      throw new Error(
        "All modules were excluded. This is likely unintended. Check your `target_modules`, `exclude_modules` and `modules_to_save` configuration.",
      );
    let msg = excluded
      ? "No modules were targeted for adaptation. This might be caused by a combination of mismatched target modules and excluded modules. Please check your `target_modules` and `exclude_modules` configuration. You may also have only targeted modules that are marked to be saved (`modules_to_save`)."
      : `Target modules ${pyRepr(c.targetModules)} not found in the base model. Please check the target modules and try again.`;
    if (c.layersToTransform !== null) msg += ` Note: You specified 'layers_to_transform': ${pyRepr(c.layersToTransform)}.`;
    if (c.layersPattern !== null) msg += ` You also specified 'layers_pattern': ${pyRepr(c.layersPattern)}.`;
    throw new Error(msg);
  }
  wrapModulesToSave(model, c, adapterName);
  markOnlyAdaptersTrainable(model, c);
  return c;
}

/** PEFT's _set_trainable: every module whose name ends with a modules_to_save entry trains a copy. */
function wrapModulesToSave(model: PreTrainedModel, c: LoraConfig, adapterName: string): void {
  const names = c.modulesToSave;
  if (!names?.length) return;
  const named = [...model.namedModules()];
  const tuner = named.filter(([, m]) => m instanceof LoraLinear).map(([k]) => k);
  // What lies inside a wrapper (its original and its copies, the one just made too) is never wrapped again.
  const wrapped = named.filter(([, m]) => m instanceof ModulesToSaveWrapper).map(([k]) => k);
  for (const [key, m] of named) {
    if (!key || !names.some((n) => key.endsWith(n)) || under(key, tuner)) continue;
    if (m instanceof ModulesToSaveWrapper) {
      m.updateAdapter(adapterName);
      continue;
    }
    if (wrapped.some((w) => key.startsWith(`${w}.`))) continue;
    const { parent, name } = submodule(model, key);
    parent.registerModule(name, new ModulesToSaveWrapper(m as Module & { forward(...args: never[]): unknown }, adapterName));
    wrapped.push(key);
  }
}

/** PEFT's _mark_only_adapters_as_trainable, with its bias modes. */
function markOnlyAdaptersTrainable(model: PreTrainedModel, c: LoraConfig): void {
  const adapterParams = new Set<Tensor>();
  const wrapped = new Set<Tensor>();
  for (const [, m] of model.namedModules()) {
    if (m instanceof LoraLinear) for (const d of [m.lora_A, m.lora_B]) for (const p of d.parameters()) adapterParams.add(p);
    if (m instanceof ModulesToSaveWrapper) for (const p of m.parameters()) wrapped.add(p);
  }
  for (const p of model.parameters()) if (!adapterParams.has(p) && !wrapped.has(p)) p.requiresGrad_(false);
  if (c.bias === "all") {
    for (const [n, p] of model.namedParameters()) if (n === "bias" || n.endsWith(".bias")) p.requiresGrad_(true);
  } else if (c.bias === "lora_only") {
    for (const [, m] of model.namedModules()) if (m instanceof LoraLinear && m.base_layer.bias) m.base_layer.bias.requiresGrad_(true);
  }
}

/** An adapter folder's config, in PEFT's inference mode unless trainable (from_pretrained's is_trainable). */
function adapterConfig(dir: string, isTrainable: boolean | undefined): LoraConfig {
  return LoraConfig.fromFile(join(dir, ADAPTER_CONFIG_NAME)).copy({ inferenceMode: !isTrainable });
}

/** An adapter folder's weights file, which must be there (`why` says what was looking for it). */
function adapterWeights(dir: string, why = ""): string {
  const weights = join(dir, ADAPTER_WEIGHTS_NAME);
  if (!existsSync(weights)) throw new Error(`Can't find '${ADAPTER_WEIGHTS_NAME}' at '${dir}'${why}`);
  return weights;
}

/** PEFT's _remove_adapter_name_from_state_dict_key: "q_proj.lora_A.default.weight" → "q_proj.lora_A.weight". */
function removeAdapterName(key: string, name: string): string {
  if (!key.includes(".")) return key;
  if (key.endsWith(`.${name}`)) return key.slice(0, -name.length - 1);
  const cut = key.lastIndexOf(".");
  const head = key.slice(0, cut);
  return `${head.endsWith(`.${name}`) ? head.slice(0, -name.length - 1) : head}.${key.slice(cut + 1)}`;
}

function pyRepr(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(pyRepr).join(", ")}]`;
  if (typeof v === "string") return `'${v}'`;
  return String(v);
}

/** The base model with its adapters inside, as PEFT's LoraModel: state-dict keys start with "model.". */
export class LoraModel<M extends PreTrainedModel> extends Module {
  readonly model: M;
  constructor(model: M) {
    super();
    this.model = this.registerModule("model", model);
  }
}

/**
 * PreTrainedModel seen as a constructor only: PeftModel is a PreTrainedModel to the Trainer, but its
 * static fromPretrained is PEFT's (a base model and an adapter folder), not a checkpoint loader's.
 */
const PreTrainedModelInstances: abstract new (config: PretrainedConfig) => PreTrainedModel = PreTrainedModel;

/**
 * PEFT's PeftModel: the adapted model (state-dict keys "base_model.model.…", as in Python), the
 * adapters' configs, and saving/loading/merging. forward, and generate on `peft.model`, run the base
 * model with the active adapter; the Trainer trains it as HF's trains a PEFT model.
 */
export class PeftModel<M extends PreTrainedModel> extends PreTrainedModelInstances {
  readonly base_model: LoraModel<M>;
  readonly peftConfig = new Map<string, LoraConfig>();
  #active: string;

  constructor(model: M, config: LoraConfig, adapterName = "default") {
    super(model.config);
    this.nameOrPath = model.nameOrPath;
    this.base_model = this.registerModule("base_model", new LoraModel(model));
    this.#active = adapterName;
    this.addAdapter(adapterName, config);
  }

  /** The adapted model itself (modified in place, as PEFT modifies it). */
  get model(): M {
    return this.base_model.model;
  }

  get activeAdapter(): string {
    return this.#active;
  }

  forward(inputs: ModelInputs, o?: ForwardOptions): HeadOutput<M> {
    return this.model.forward(inputs, o) as HeadOutput<M>;
  }

  // What the Trainer asks of a model, answered for the model inside (as HF's Trainer unwraps a PeftModel).
  override modelInputNames(): string[] {
    return this.model.modelInputNames();
  }
  override takesLossKwargs(): boolean {
    return this.model.takesLossKwargs();
  }
  override labelSpace(): { size: number; name: string } {
    return this.model.labelSpace();
  }
  override outputEmbeddings(): Module | null {
    return this.model.outputEmbeddings();
  }

  /** Adds another adapter (not active until setAdapter), as PEFT's add_adapter. */
  addAdapter(adapterName: string, config: LoraConfig): void {
    if (this.peftConfig.has(adapterName)) throw new Error(`Adapter with name ${adapterName} already exists.`);
    if (!/^[^.]+$/.test(adapterName)) throw new Error(`adapter name must be non-empty and without '.', got ${JSON.stringify(adapterName)}`);
    let c = config;
    if (c.taskType === "SEQ_CLS") c = c.copy({ modulesToSave: [...(c.modulesToSave ?? []), ...SEQ_CLS_HEAD_NAMES] });
    if (c.baseModelNameOrPath === null && this.model.nameOrPath) c = c.copy({ baseModelNameOrPath: this.model.nameOrPath });
    const resolved = injectAdapter(this.model, c, adapterName);
    this.peftConfig.set(adapterName, resolved);
    // A new adapter is not active: its layers keep running the active one, and only the active trains.
    this.#setActive(this.#active);
  }

  /** Makes `adapterName` the one that runs and trains (PEFT's set_adapter). */
  setAdapter(adapterName: string): void {
    if (!this.peftConfig.has(adapterName)) throw new Error(`Adapter ${adapterName} not found.`);
    this.#active = adapterName;
    this.#setActive(adapterName);
  }

  #setActive(name: string): void {
    const trainable = !this.peftConfig.get(name)?.inferenceMode;
    for (const [, m] of this.model.namedModules()) {
      if (m instanceof LoraLinear) {
        m.activeAdapters = [name];
        for (const n of m.adapterNames())
          for (const d of [m.lora_A, m.lora_B]) for (const p of d.get(n)!.parameters()) p.requiresGrad_(n === name && trainable);
      } else if (m instanceof ModulesToSaveWrapper) {
        m.activeAdapters = [name];
        for (const n of m.adapterNames()) for (const p of m.modules_to_save.get(n)!.parameters()) p.requiresGrad_(n === name && trainable);
      }
    }
  }

  /** Runs fn with every adapter off (the base model's outputs), as PEFT's `with model.disable_adapter():`. */
  disableAdapter<T>(fn: () => T): T {
    const layers = [...this.model.namedModules()].map(([, m]) => m).filter(isTunerLayer);
    const set = (v: boolean) => layers.forEach((m) => (m.disableAdapters = v));
    set(true);
    let result: T;
    try {
      result = fn();
    } catch (e) {
      set(false);
      throw e;
    }
    if (result instanceof Promise) return result.finally(() => set(false)) as T;
    set(false);
    return result;
  }

  /** PEFT's get_nb_trainable_parameters: [trainable, all] (shared tensors counted once). */
  getNbTrainableParameters(): [number, number] {
    let trainable = 0;
    let all = 0;
    for (const p of this.parameters()) {
      all += p.numel();
      if (p.requiresGrad) trainable += p.numel();
    }
    return [trainable, all];
  }

  /** Prints PEFT's line: "trainable params: 294,912 || all params: 124,734,720 || trainable%: 0.2364". */
  printTrainableParameters(): void {
    const [t, a] = this.getNbTrainableParameters();
    console.log(`trainable params: ${t.toLocaleString("en-US")} || all params: ${a.toLocaleString("en-US")} || trainable%: ${((100 * t) / a).toFixed(4)}`);
  }

  /**
   * The adapter's tensors under PEFT's saved keys (get_peft_model_state_dict): lora_A/lora_B of each
   * LoRA layer, the bias mode's biases, modules_to_save copies, with the adapter name taken out.
   */
  adapterStateDict(adapterName = this.#active): Map<string, Tensor> {
    const config = this.peftConfig.get(adapterName);
    if (!config) throw new Error(`Adapter ${adapterName} not found.`);
    const out = new Map<string, Tensor>();
    const prefix = "base_model.model.";
    const mods = [...this.model.namedModules()];
    for (const [key, m] of mods) {
      if (m instanceof LoraLinear && m.lora_A.has(adapterName)) {
        for (const part of ["lora_A", "lora_B"] as const) {
          for (const [pn, p] of m[part].get(adapterName)!.stateDict()) out.set(`${prefix}${key}.${part}.${pn}`, p);
        }
      } else if (m instanceof ModulesToSaveWrapper && m.modules_to_save.has(adapterName)) {
        for (const [pn, p] of m.modules_to_save.get(adapterName)!.stateDict()) out.set(`${prefix}${key}.${pn}`, p);
      }
    }
    if (config.bias === "all") {
      // _get_learnable_bias_state_dict: every bias of the model's state dict, other adapters' left out
      // (_filter_state_dict_for_adapter_name), the adapter's name taken out of the key.
      const others = [...this.peftConfig.keys()].filter((n) => n !== adapterName);
      for (const [k, p] of this.stateDict()) {
        if (!(k === "bias" || k.endsWith(".bias"))) continue;
        if (others.some((n) => k.includes(`.${n}.`) || k.endsWith(`.${n}`))) continue;
        const key = removeAdapterName(k, adapterName);
        if (!out.has(key)) out.set(key, p);
      }
    } else if (config.bias === "lora_only") {
      for (const [key, m] of mods) if (m instanceof LoraLinear && m.base_layer.bias) out.set(`${prefix}${key}.base_layer.bias`, m.base_layer.bias);
    }
    return out;
  }

  /**
   * Writes each adapter as PEFT's save_pretrained: `dir` for "default", `dir/<name>` for the others,
   * each with adapter_model.safetensors (metadata {"format": "pt"}) and adapter_config.json
   * (inference_mode true, as PEFT saves it). Files are written to a temporary name and renamed.
   */
  override savePretrained(dir: string, o: { selectedAdapters?: string[]; maxShardSize?: number } = {}): string[] {
    if (existsSync(dir) && !statSync(dir).isDirectory()) throw new Error(`Provided path (${dir}) should be a directory, not a file`);
    const names = o.selectedAdapters ?? [...this.peftConfig.keys()];
    for (const n of names)
      if (!this.peftConfig.has(n))
        throw new Error(
          `You passed an invalid \`selected_adapters\` arguments, current supported adapter names are ${pyRepr([...this.peftConfig.keys()])} - got ${pyRepr(names)}.`,
        );
    const written: string[] = [];
    for (const name of names) {
      const out = name === "default" ? dir : join(dir, name);
      mkdirSync(out, { recursive: true });
      const tensors = torch.tidy(() => {
        const sd = this.adapterStateDict(name);
        // Saved contiguous and detached, as safetensors' save_file needs (a tied or viewed tensor is cloned).
        return new Map([...sd].map(([k, t]) => [k, torch.keep(t.detach().contiguous())] as const));
      });
      try {
        torch.saveFile(tensors, join(out, ADAPTER_WEIGHTS_NAME), { format: "pt" });
      } finally {
        for (const t of tensors.values()) t.dispose();
      }
      this.peftConfig.get(name)!.copy({ inferenceMode: true }).saveTo(join(out, ADAPTER_CONFIG_NAME));
      written.push(join(out, ADAPTER_WEIGHTS_NAME), join(out, ADAPTER_CONFIG_NAME));
    }
    return written;
  }

  /**
   * The Trainer's resume and best-model load (HF's _load_from_checkpoint for a PEFT model:
   * load_adapter(checkpoint, active_adapter, is_trainable=True)): the active adapter's tensors from
   * dir/adapter_model.safetensors, every key present and of its shape.
   */
  override loadSavedWeights(dir: string): { missingKeys: string[]; unexpectedKeys: string[] } {
    this.#loadAdapterWeights(adapterWeights(dir, " (a checkpoint of a PeftModel holds the adapter)"), this.#active);
    return { missingKeys: [], unexpectedKeys: [] };
  }

  /**
   * Loads an adapter folder (ours or PEFT's) as a new adapter (PEFT's load_adapter): the layers are made
   * from its config, then its tensors loaded; a key the model lacks or a shape that differs is an error
   * naming it. Not trainable unless isTrainable (PEFT's inference mode).
   */
  loadAdapter(dir: string, adapterName: string, o: { isTrainable?: boolean } = {}): void {
    const config = adapterConfig(dir, o.isTrainable);
    const weights = adapterWeights(dir);
    this.addAdapter(adapterName, config);
    this.#loadAdapterWeights(weights, adapterName);
  }

  #loadAdapterWeights(path: string, adapterName: string): void {
    const saved = torch.loadFile(path);
    try {
      const own = this.adapterStateDict(adapterName);
      const unexpected = [...saved.keys()].filter((k) => !own.has(k));
      const missing = [...own.keys()].filter((k) => !saved.has(k));
      const mismatched = sizeMismatches(own, saved);
      if (mismatched.length || unexpected.length || missing.length) {
        const lines = [...mismatched];
        if (unexpected.length) lines.push(`Unexpected key(s) in the adapter (the model has no such adapter tensor): ${unexpected.join(", ")}`);
        if (missing.length) lines.push(`Missing key(s) in the adapter: ${missing.join(", ")}`);
        throw new Error(
          `Error(s) in loading the adapter ${path} into ${this.model.constructor.name} (was it trained on another base model?):\n\t${lines.join("\n\t")}`,
        );
      }
      torch.noGrad(() => {
        for (const [k, t] of own) {
          const v = saved.get(k);
          if (v) t.copy_(v);
        }
      });
    } finally {
      for (const t of saved.values()) t.dispose();
    }
  }

  /**
   * PeftModel.from_pretrained(model, dir): the model with the folder's adapter as "default" (or
   * adapterName); frozen and in eval mode unless isTrainable.
   */
  static fromPretrained<M extends PreTrainedModel>(model: M, dir: string, o: { adapterName?: string; isTrainable?: boolean } = {}): PeftModel<M> {
    const name = o.adapterName ?? "default";
    const config = adapterConfig(dir, o.isTrainable);
    const weights = adapterWeights(dir);
    const peft = new PeftModel(model, config, name);
    peft.#loadAdapterWeights(weights, name);
    if (!o.isTrainable) peft.eval();
    return peft;
  }

  /** Merges the adapters into the base weights and returns the plain model (PEFT's merge_and_unload). */
  mergeAndUnload(o: { safeMerge?: boolean; adapterNames?: string[] } = {}): M {
    return this.#unload(true, o);
  }

  /** The plain model back, adapters dropped, base weights untouched (PEFT's unload). */
  unload(): M {
    return this.#unload(false, {});
  }

  #unload(merge: boolean, o: { safeMerge?: boolean; adapterNames?: string[] }): M {
    const model = this.model;
    const tuner = [...model.namedModules()].filter(([, m]) => isTunerLayer(m)).map(([k]) => k);
    for (const key of tuner) {
      const { parent, target, name } = submodule(model, key);
      if (target instanceof LoraLinear) {
        if (merge) target.merge(o);
        parent.registerModule(name, target.base_layer);
      } else if (target instanceof ModulesToSaveWrapper) {
        parent.registerModule(name, target.disableAdapters ? target.original_module : target.active());
      }
    }
    return model;
  }
}

/** PEFT's get_peft_model: the model with a fresh adapter (drawn from the current generator), only the adapter trainable. */
export function getPeftModel<M extends PreTrainedModel>(model: M, config: LoraConfig, o: { adapterName?: string } = {}): PeftModel<M> {
  if ([...model.namedModules()].some(([, m]) => isTunerLayer(m))) {
    throw new Error("getPeftModel: this model already holds adapters; use peftModel.addAdapter() (or unload() first)");
  }
  return new PeftModel(model, config, o.adapterName ?? "default");
}
