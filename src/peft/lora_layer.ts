// The layers LoRA puts in a model, as PEFT's tuners/lora/layer.py (peft 0.20): a linear layer (or
// GPT-2's Conv1D) kept frozen as `base_layer`, with low-rank adapters beside it under PEFT's names
// (lora_A.<adapter>, lora_B.<adapter>, lora_dropout.<adapter>), and ModulesToSaveWrapper, the copy of
// a module (a classifier head) trained in full. State-dict keys are PEFT's, so adapters load both ways.
import * as torch from "../torch/index.js";
import type { Tensor } from "../torch/index.js";
import { Dropout, Linear, Module, init } from "../nn/index.js";
import { Conv1D } from "../models/gpt2/modeling_gpt2.js";
import type { LoraConfig } from "./lora_config.js";
import type { DrawsRowNoise } from "../models/unpadding.js";

/** torch.nn.ModuleDict: modules by name (adapter names here), kept as the module's children only (so deepCopy copies it). */
export class ModuleDict<M extends Module> extends Module {
  set(name: string, m: M): M {
    return this.registerModule(name, m);
  }
  get(name: string): M | undefined {
    for (const [n, m] of this.children()) if (n === name) return m as M;
    return undefined;
  }
  has(name: string): boolean {
    return this.get(name) !== undefined;
  }
  keys(): string[] {
    return [...this.children()].map(([n]) => n);
  }
}

export type LoraBaseLayer = Linear | Conv1D;

/** Implemented by every layer that holds adapters, as PEFT's BaseTunerLayer. */
export interface TunerLayer {
  activeAdapters: string[];
  disableAdapters: boolean;
  adapterNames(): string[];
}

/** PEFT's lora.Linear: result = base_layer(x) + lora_B(lora_A(dropout(x))) · scaling, for each active adapter. */
export class LoraLinear extends Module implements TunerLayer, DrawsRowNoise {
  readonly base_layer: LoraBaseLayer;
  readonly lora_dropout: ModuleDict<Dropout>;
  readonly lora_A: ModuleDict<Linear>;
  readonly lora_B: ModuleDict<Linear>;
  readonly inFeatures: number;
  readonly outFeatures: number;
  /** The base weight is stored [in, out] (Conv1D): the delta is transposed when merged. */
  readonly fanInFanOut: boolean;
  readonly r = new Map<string, number>();
  readonly loraAlpha = new Map<string, number>();
  readonly scaling = new Map<string, number>();
  readonly loraBias = new Map<string, boolean>();
  activeAdapters: string[];
  disableAdapters = false;
  /** Adapters whose delta is in base_layer.weight now (merge), in the order merged. */
  readonly mergedAdapters: string[] = [];

  constructor(base: LoraBaseLayer, adapterName: string, config: LoraConfig, fanInFanOut: boolean) {
    super();
    // PEFT's LoraLayer.__init__ order, which is the state dict's order.
    this.base_layer = this.registerModule("base_layer", base);
    this.lora_dropout = this.registerModule("lora_dropout", new ModuleDict<Dropout>());
    this.lora_A = this.registerModule("lora_A", new ModuleDict<Linear>());
    this.lora_B = this.registerModule("lora_B", new ModuleDict<Linear>());
    if (base instanceof Conv1D) [this.inFeatures, this.outFeatures] = [base.nx, base.nf];
    else [this.inFeatures, this.outFeatures] = [base.inFeatures, base.outFeatures];
    this.fanInFanOut = fanInFanOut;
    this.training = base.training;
    this.activeAdapters = [adapterName];
    this.updateLayer(adapterName, config);
  }

  /**
   * PEFT's update_layer: lora_A = nn.Linear(in, r, bias=False) and lora_B = nn.Linear(r, out,
   * bias=lora_bias) are built (each drawing its weights as nn.Linear does), then reset_lora_parameters
   * redraws A (kaiming-uniform a=√5, or normal(0, 1/r)) and zeroes B: the same generator draws in the same order.
   */
  updateLayer(adapterName: string, config: LoraConfig): void {
    const r = config.r;
    if (config.loraBias && this.base_layer.bias === null) {
      console.warn(
        `\`lora_bias=True\` was passed but the targeted layer of type ${this.base_layer.constructor.name} has no bias. This means that merging LoRA weights won't be possible.`,
      );
    }
    this.r.set(adapterName, r);
    this.loraAlpha.set(adapterName, config.loraAlpha);
    const dropout = this.lora_dropout.set(adapterName, new Dropout(config.loraDropout));
    dropout.training = this.training;
    const dtype = this.base_layer.weight.dtype;
    const device = this.base_layer.weight.device;
    const a = this.lora_A.set(adapterName, new Linear(this.inFeatures, r, { bias: false }));
    const b = this.lora_B.set(adapterName, new Linear(r, this.outFeatures, { bias: config.loraBias }));
    this.loraBias.set(adapterName, config.loraBias);
    this.scaling.set(adapterName, config.scaling);
    if (config.initLoraWeights !== false) {
      if (config.initLoraWeights === true) init.kaimingUniform_(a.weight, Math.sqrt(5));
      else init.normal_(a.weight, 0, 1 / r);
      init.zeros_(b.weight);
      if (b.bias) init.zeros_(b.bias);
    }
    // _move_adapter_to_device_of_base_layer: float adapters follow the base layer's device and dtype.
    a.to({ device, dtype });
    b.to({ device, dtype });
    a.train(this.training);
    b.train(this.training);
  }

  adapterNames(): string[] {
    return this.lora_A.keys();
  }

  /** The base layer's tensors, so code that reads a linear layer's weight still finds it (PEFT's LoraLayer.weight). */
  get weight(): Tensor {
    return this.base_layer.weight;
  }
  get bias(): Tensor | null {
    return this.base_layer.bias;
  }

  get merged(): boolean {
    return this.mergedAdapters.length > 0;
  }

  /** Whether forward now draws dropout noise for each row of its input (an active adapter's lora_dropout in training). */
  drawsRowNoise(): boolean {
    if (this.disableAdapters || this.merged) return false;
    return this.activeAdapters.some((name) => {
      const dropout = this.lora_dropout.get(name);
      return dropout !== undefined && this.lora_A.get(name) !== undefined && dropout.training && dropout.p > 0;
    });
  }

  forward(x: Tensor): Tensor {
    if (this.disableAdapters) {
      if (this.merged) this.unmerge();
      return this.base_layer.forward(x);
    }
    if (this.merged) return this.base_layer.forward(x);
    let result = this.base_layer.forward(x);
    const resultDtype = result.dtype;
    for (const name of this.activeAdapters) {
      const a = this.lora_A.get(name);
      if (!a) continue;
      const b = this.lora_B.get(name)!;
      const dropout = this.lora_dropout.get(name)!;
      // _cast_input_dtype: the input meets the adapter in the adapter's dtype.
      const xin = x.dtype === a.weight.dtype ? x : x.to(a.weight.dtype);
      result = result.add(b.forward(a.forward(dropout.forward(xin))).mul(this.scaling.get(name)!));
    }
    return result.dtype === resultDtype ? result : result.to(resultDtype);
  }

  /**
   * PEFT's get_delta_weight: transpose(B @ A, fan_in_fan_out) · scaling, computed in float32 on the CPU
   * for half-precision adapters (CPU matmul in fp16/bf16 loses precision), cast back.
   */
  getDeltaWeight(adapter: string): Tensor {
    const a = this.lora_A.get(adapter);
    const b = this.lora_B.get(adapter);
    if (!a || !b) throw new Error(`LoraLinear: no adapter named '${adapter}' (has ${this.adapterNames().join(", ") || "none"})`);
    return torch.tidy(() => {
      const dtype = b.weight.dtype;
      const up = b.weight.device === "cpu" && (dtype === "float16" || dtype === "bfloat16");
      const wa = up ? a.weight.to("float32") : a.weight;
      const wb = up ? b.weight.to("float32") : b.weight;
      const ba = wb.matmul(wa);
      const delta = (this.fanInFanOut ? ba.t() : ba).mul(this.scaling.get(adapter)!);
      return up ? delta.to(dtype) : delta;
    });
  }

  /**
   * Adds the adapters' deltas into the base weight (PEFT's merge). With safeMerge the sum is made on a
   * copy and checked for NaN/Inf before it replaces the weight (PEFT's "seems to be broken" error).
   */
  merge(o: { safeMerge?: boolean; adapterNames?: string[] } = {}): void {
    const names = (o.adapterNames ?? this.activeAdapters).filter((n) => !this.mergedAdapters.includes(n));
    for (const name of names) {
      if (!this.lora_A.has(name)) continue;
      const base = this.base_layer;
      const hasLoraBias = this.loraBias.get(name) === true;
      if (hasLoraBias && base.bias === null) throw new Error("Impossible to merge LoRA with `lora_bias=True` because the base layer has no bias.");
      torch.noGrad(() =>
        torch.tidy(() => {
          const delta = this.getDeltaWeight(name);
          const scale = this.scaling.get(name)!;
          const loraB = this.lora_B.get(name)!;
          if (o.safeMerge) {
            const w = base.weight.add(delta.to(base.weight.dtype));
            if (!w.isfinite().all().item()) throw new Error(`NaNs detected in the merged weights. The adapter ${name} seems to be broken`);
            base.weight.copy_(w);
            if (hasLoraBias) {
              const nb = base.bias!.add(loraB.bias!.mul(scale));
              if (!nb.isfinite().all().item()) throw new Error(`NaNs detected in the merged weights. The adapter ${name} seems to be broken`);
              base.bias!.copy_(nb);
            }
          } else {
            base.weight.add_(delta);
            if (hasLoraBias) base.bias!.add_(loraB.bias!.mul(scale));
          }
        }),
      );
      this.mergedAdapters.push(name);
    }
  }

  /** Subtracts the merged deltas again, last merged first (PEFT's unmerge). */
  unmerge(): void {
    if (!this.merged) {
      console.warn("Already unmerged. Nothing to do.");
      return;
    }
    while (this.mergedAdapters.length) {
      const name = this.mergedAdapters.pop()!;
      torch.noGrad(() =>
        torch.tidy(() => {
          this.base_layer.weight.sub_(this.getDeltaWeight(name).to(this.base_layer.weight.dtype));
          if (this.loraBias.get(name)) this.base_layer.bias!.sub_(this.lora_B.get(name)!.bias!.mul(this.scaling.get(name)!));
        }),
      );
    }
  }
}

/**
 * PEFT's ModulesToSaveWrapper: the original module stays (for disableAdapter and other adapters) and
 * each adapter trains a copy of it; the active adapter's copy runs.
 */
export class ModulesToSaveWrapper extends Module implements TunerLayer {
  readonly original_module: Module & { forward(...args: never[]): unknown };
  readonly modules_to_save: ModuleDict<Module>;
  activeAdapters: string[];
  disableAdapters = false;

  constructor(module: Module & { forward(...args: never[]): unknown }, adapterName: string) {
    super();
    this.original_module = this.registerModule("original_module", module);
    this.modules_to_save = this.registerModule("modules_to_save", new ModuleDict<Module>());
    this.activeAdapters = [adapterName];
    this.updateAdapter(adapterName);
  }

  updateAdapter(adapterName: string): void {
    if (!this.modules_to_save.has(adapterName)) this.modules_to_save.set(adapterName, this.original_module.deepCopy());
    for (const p of this.original_module.parameters()) p.requiresGrad_(false);
    for (const p of this.modules_to_save.get(adapterName)!.parameters()) p.requiresGrad_(true);
  }

  adapterNames(): string[] {
    return this.modules_to_save.keys();
  }

  /** The module that runs now: the active adapter's copy, or the original when adapters are off. */
  active(): Module & { forward(...args: never[]): unknown } {
    if (this.disableAdapters) return this.original_module;
    const name = this.activeAdapters.find((n) => this.modules_to_save.has(n));
    return name === undefined ? this.original_module : (this.modules_to_save.get(name) as Module & { forward(...args: never[]): unknown });
  }

  forward(...args: unknown[]): unknown {
    const m = this.active();
    return (m.forward as (...a: unknown[]) => unknown).apply(m, args);
  }
}
