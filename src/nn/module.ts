// Module: a tree of named parameters, buffers and submodules, as torch.nn.Module. Names are
// dotted paths ("encoder.layer.0.attention.self.query.weight") so state dicts match Hugging Face's.
import { Tensor, keep, noGrad, type DType } from "../torch/index.js";

export class Module {
  training = true;
  readonly #params = new Map<string, Tensor | null>();
  readonly #buffers = new Map<string, Tensor>();
  readonly #modules = new Map<string, Module>();

  /** Registers a trainable tensor under `name` (also set as this[name]); it leaves every tidy scope. */
  registerParameter(name: string, t: Tensor | null): Tensor {
    checkName(name, this);
    if (t !== null) {
      keep(t);
      if (!t.requiresGrad) t.requiresGrad_(true);
    }
    this.#params.set(name, t);
    Reflect.set(this, name, t);
    return t as Tensor;
  }

  /** Registers a non-trainable tensor that belongs in the state dict (e.g. position_ids). */
  registerBuffer(name: string, t: Tensor, o: { persistent?: boolean } = {}): Tensor {
    checkName(name, this);
    keep(t);
    this.#buffers.set(name, t);
    if (o.persistent === false) this.#nonPersistent.add(name);
    Reflect.set(this, name, t);
    return t;
  }
  readonly #nonPersistent = new Set<string>();

  registerModule<M extends Module>(name: string, m: M): M {
    checkName(name, this);
    this.#modules.set(name, m);
    Reflect.set(this, name, m);
    return m;
  }

  *children(): Generator<[string, Module]> {
    yield* this.#modules.entries();
  }

  *namedModules(prefix = ""): Generator<[string, Module]> {
    yield [prefix, this];
    for (const [name, m] of this.#modules) yield* m.namedModules(prefix ? `${prefix}.${name}` : name);
  }

  *namedParameters(prefix = ""): Generator<[string, Tensor]> {
    const seen = new Set<Tensor>();
    for (const [mp, m] of this.namedModules(prefix)) {
      for (const [name, p] of m.#params) {
        if (p === null || seen.has(p)) continue;
        seen.add(p);
        yield [mp ? `${mp}.${name}` : name, p];
      }
    }
  }

  parameters(): Tensor[] {
    return [...this.namedParameters()].map(([, p]) => p);
  }

  *namedBuffers(prefix = ""): Generator<[string, Tensor]> {
    for (const [mp, m] of this.namedModules(prefix)) {
      for (const [name, b] of m.#buffers) yield [mp ? `${mp}.${name}` : name, b];
    }
  }

  /**
   * Parameters and persistent buffers by dotted name. The tensors are the module's own (not
   * copies): read or save them, do not dispose them.
   */
  stateDict(): Map<string, Tensor> {
    const out = new Map<string, Tensor>();
    for (const [mp, m] of this.namedModules()) {
      for (const [name, p] of m.#params) if (p !== null) out.set(mp ? `${mp}.${name}` : name, p);
      for (const [name, b] of m.#buffers) if (!m.#nonPersistent.has(name)) out.set(mp ? `${mp}.${name}` : name, b);
    }
    return out;
  }

  /**
   * Copies values from a state dict into this module's tensors (shapes must match; dtypes and
   * devices are converted). With strict (the default), missing or unexpected keys throw, listing them.
   */
  loadStateDict(sd: Map<string, Tensor> | Record<string, Tensor>, o: { strict?: boolean } = {}): { missingKeys: string[]; unexpectedKeys: string[] } {
    const src = sd instanceof Map ? sd : new Map(Object.entries(sd));
    const own = this.stateDict();
    const missingKeys = [...own.keys()].filter((k) => !src.has(k));
    const unexpectedKeys = [...src.keys()].filter((k) => !own.has(k));
    const mismatched = sizeMismatches(own, src);
    const strict = o.strict ?? true;
    const errors: string[] = [];
    if (strict && missingKeys.length) errors.push(`Missing key(s) in state_dict: ${missingKeys.map((k) => `"${k}"`).join(", ")}.`);
    if (strict && unexpectedKeys.length) errors.push(`Unexpected key(s) in state_dict: ${unexpectedKeys.map((k) => `"${k}"`).join(", ")}.`);
    errors.push(...mismatched);
    if (errors.length) throw new Error(`Error(s) in loading state_dict for ${this.constructor.name}:\n\t${errors.join("\n\t")}`);
    noGrad(() => {
      for (const [k, t] of own) {
        const v = src.get(k);
        if (v) t.copy_(v);
      }
    });
    return { missingKeys, unexpectedKeys };
  }

  train(mode = true): this {
    for (const [, m] of this.namedModules()) m.training = mode;
    return this;
  }
  eval(): this {
    return this.train(false);
  }

  /** Calls fn on every submodule and then on this one (torch's Module.apply order). */
  apply(fn: (m: Module) => void): this {
    for (const [, m] of this.#modules) m.apply(fn);
    fn(this);
    return this;
  }

  /** Moves or casts every parameter and buffer in place (floating dtypes only are cast, as torch does). */
  to(target: string | { device?: string; dtype?: DType }): this {
    const o = typeof target === "string" ? (/^(cpu|cuda|mps)/.test(target) ? { device: target } : { dtype: target as DType }) : target;
    noGrad(() => {
      for (const [, m] of this.namedModules()) {
        for (const t of [...m.#params.values(), ...m.#buffers.values()]) {
          if (t === null) continue;
          const cast = o.dtype && isFloat(t.dtype) ? o.dtype : undefined;
          const moved = t.to({ device: o.device, dtype: cast });
          if (moved.handle !== t.handle) t.setData(moved);
          moved.dispose();
        }
      }
    });
    return this;
  }

  /**
   * copy.deepcopy of a module (what PEFT's modules_to_save trains): the same class and settings, its own
   * copies of every parameter and buffer (tensors shared inside it stay shared), nothing drawn from the
   * generator. A class that keeps state in private (#) members of its own cannot be copied this way.
   */
  deepCopy(): this {
    return this.#copy(new Map()) as this;
  }

  #copy(memo: Map<Tensor, Tensor>): Module {
    const twin = (t: Tensor): Tensor => {
      let c = memo.get(t);
      if (!c) {
        c = noGrad(() => t.detach().clone());
        memo.set(t, c);
      }
      return c;
    };
    const copy = this instanceof ModuleList ? new ModuleList([...this].map((m: Module) => m.#copy(memo))) : new Module();
    if (!(this instanceof ModuleList)) {
      Object.setPrototypeOf(copy, Object.getPrototypeOf(this));
      // Settings (sizes, rates, activation functions, the config) are shared as deepcopy would copy them.
      for (const [k, v] of Object.entries(this)) if (!(v instanceof Tensor) && !(v instanceof Module)) Reflect.set(copy, k, v);
      for (const [name, m] of this.#modules) copy.registerModule(name, m.#copy(memo));
    }
    for (const [name, p] of this.#params) {
      const c = p === null ? null : twin(p);
      copy.registerParameter(name, c);
      if (p && c && !p.requiresGrad) c.requiresGrad_(false);
    }
    for (const [name, b] of this.#buffers) copy.registerBuffer(name, twin(b), { persistent: !this.#nonPersistent.has(name) });
    copy.training = this.training;
    return copy;
  }

  /** Sets every parameter's gradient to null (PyTorch's zero_grad(set_to_none=True)). */
  zeroGrad(): void {
    for (const p of this.parameters()) p.grad = null;
  }

  /** The device of the first parameter (HF's `model.device`). */
  get device(): string {
    const p = this.parameters()[0];
    return p ? p.device : "cpu";
  }

  numParameters(o: { onlyTrainable?: boolean } = {}): number {
    return this.parameters()
      .filter((p) => !o.onlyTrainable || p.requiresGrad)
      .reduce((a, p) => a + p.numel(), 0);
  }
}

/** PyTorch's load_state_dict message for each key whose shape differs between a module's tensors and a checkpoint's. */
export function sizeMismatches(own: Map<string, Tensor>, checkpoint: Map<string, Tensor>): string[] {
  const out: string[] = [];
  for (const [k, t] of own) {
    const v = checkpoint.get(k);
    if (v && v.shape.join(",") !== t.shape.join(",")) {
      out.push(
        `size mismatch for ${k}: copying a param with shape [${v.shape.join(", ")}] from checkpoint, the shape in current model is [${t.shape.join(", ")}].`,
      );
    }
  }
  return out;
}

function isFloat(d: DType): boolean {
  return d === "float32" || d === "float16" || d === "bfloat16" || d === "float64";
}

function checkName(name: string, m: Module): void {
  if (typeof name !== "string" || name === "" || name.includes(".")) {
    throw new TypeError(`${m.constructor.name}: a parameter, buffer or module name must be a non-empty string without '.', got ${JSON.stringify(name)}`);
  }
}

/** A list of modules registered under "0", "1", … (torch.nn.ModuleList). */
export class ModuleList<M extends Module = Module> extends Module {
  readonly #items: M[] = [];
  constructor(modules: M[] = []) {
    super();
    for (const m of modules) this.append(m);
  }
  append(m: M): this {
    this.registerModule(String(this.#items.length), m);
    this.#items.push(m);
    return this;
  }
  get length(): number {
    return this.#items.length;
  }
  at(i: number): M {
    const m = this.#items.at(i);
    if (!m) throw new RangeError(`ModuleList index ${i} out of range (length ${this.#items.length})`);
    return m;
  }
  [Symbol.iterator](): Iterator<M> {
    return this.#items[Symbol.iterator]();
  }
}
