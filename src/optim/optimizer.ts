// Optimizers with torch.optim's exact update math, parameter groups and state dicts.
import { Tensor, keep, zerosLike, dispose, noGrad, multiTensor } from "../torch/index.js";

export interface ParamGroup {
  params: Tensor[];
  lr: number;
  [option: string]: unknown;
}
export type ParamsArg = Tensor[] | (Partial<ParamGroup> & { params: Tensor[] })[];

/** PyTorch's optimizer state_dict layout: per-parameter state by index, and the groups' options. */
export interface OptimizerStateDict {
  state: Record<number, Record<string, Tensor | number>>;
  param_groups: Record<string, unknown>[];
}

/** A saved group's options, each an option the live group has, of its type; everything else is an error naming it. */
function checkedGroupOptions(saved: Record<string, unknown>, live: ParamGroup, gi: number): Record<string, unknown> {
  if (saved === null || typeof saved !== "object" || Array.isArray(saved)) throw new TypeError(`loadStateDict(): parameter group ${gi} is not an object`);
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(saved)) {
    if (k === "params") continue;
    if (!Object.prototype.hasOwnProperty.call(live, k) || k === "__proto__" || k === "constructor") {
      throw new Error(
        `loadStateDict(): parameter group ${gi} has an option '${k}' this optimizer does not have (it has ${Object.keys(live)
          .filter((x) => x !== "params")
          .join(", ")})`,
      );
    }
    const want = (live as Record<string, unknown>)[k];
    const sameType = Array.isArray(want)
      ? Array.isArray(v) && v.length === want.length && v.every((x, i) => typeof x === typeof want[i] && (typeof x !== "number" || Number.isFinite(x)))
      : typeof v === typeof want && (typeof v !== "number" || Number.isFinite(v));
    if (!sameType && !(want === null || (v === null && want !== undefined))) {
      throw new TypeError(
        `loadStateDict(): parameter group ${gi}: option '${k}' is ${JSON.stringify(v)}, expected ${Array.isArray(want) ? `a list of ${want.length} ${typeof want[0]}s` : `a finite ${typeof want}`} (as ${JSON.stringify(want)})`,
      );
    }
    out[k] = Array.isArray(v) ? [...v] : v;
  }
  return out;
}

export abstract class Optimizer {
  readonly paramGroups: ParamGroup[] = [];
  readonly state = new Map<Tensor, Record<string, Tensor | number>>();

  constructor(params: ParamsArg, defaults: Record<string, unknown> & { lr: number }) {
    if (!Array.isArray(params) || params.length === 0) throw new TypeError(`${this.constructor.name}: got an empty parameter list`);
    const groups = params[0] instanceof Tensor ? [{ params: params as Tensor[] }] : (params as (Partial<ParamGroup> & { params: Tensor[] })[]);
    const seen = new Set<Tensor>();
    for (const g of groups) {
      if (!Array.isArray(g.params)) throw new TypeError(`${this.constructor.name}: each parameter group needs a 'params' array`);
      for (const p of g.params) {
        if (!(p instanceof Tensor)) throw new TypeError(`${this.constructor.name}: params must be Tensors`);
        if (seen.has(p)) throw new Error(`${this.constructor.name}: some parameters appear in more than one parameter group`);
        seen.add(p);
      }
      this.paramGroups.push({ ...defaults, ...g, params: g.params } as ParamGroup);
    }
    for (const g of this.paramGroups) this.validate(g);
  }

  protected abstract validate(g: ParamGroup): void;
  /** One update of every parameter that has a gradient. */
  abstract step(): void;

  /** Sets every gradient to null (zero_grad(set_to_none=True), PyTorch 2's default), in one native call. */
  zeroGrad(): void {
    multiTensor.zeroGrad(this.paramGroups.flatMap((g) => g.params));
  }

  /** The parameters of a group that have a gradient (one native call). */
  protected withGrad(g: ParamGroup): Tensor[] {
    const has = multiTensor.hasGrad(g.params);
    return g.params.filter((_, i) => has[i]);
  }

  protected stateFor(p: Tensor, make: () => Record<string, Tensor | number>): Record<string, Tensor | number> {
    let s = this.state.get(p);
    if (!s) {
      s = make();
      for (const v of Object.values(s)) if (v instanceof Tensor) keep(v);
      this.state.set(p, s);
    }
    return s;
  }

  /** The state in PyTorch's layout. Tensors are the optimizer's own: save them, do not dispose them. */
  stateDict(): OptimizerStateDict {
    const index = new Map<Tensor, number>();
    const param_groups = this.paramGroups.map((g) => {
      const { params, ...opts } = g;
      return { ...opts, params: params.map((p) => index.set(p, index.size).get(p)!) };
    });
    const state: OptimizerStateDict["state"] = {};
    for (const [p, s] of this.state) {
      const i = index.get(p);
      if (i !== undefined) state[i] = { ...s };
    }
    return { state, param_groups };
  }

  /** Restores state saved by stateDict (tensors are copied, so the source may be disposed after). */
  loadStateDict(sd: OptimizerStateDict): void {
    if (!sd || !Array.isArray(sd.param_groups) || typeof sd.state !== "object") {
      throw new TypeError("loadStateDict(): expected { state, param_groups }");
    }
    if (sd.param_groups.length !== this.paramGroups.length) {
      throw new Error(`loadStateDict(): the state has ${sd.param_groups.length} parameter groups, the optimizer ${this.paramGroups.length}`);
    }
    const byIndex: Tensor[] = [];
    sd.param_groups.forEach((g, gi) => {
      const ids = g.params as number[];
      if (!Array.isArray(ids) || ids.length !== this.paramGroups[gi].params.length) {
        throw new Error(
          `loadStateDict(): parameter group ${gi} has ${ids?.length} parameters in the state, ${this.paramGroups[gi].params.length} in the optimizer`,
        );
      }
      ids.forEach((id, k) => {
        if (!Number.isInteger(id) || id < 0) throw new Error(`loadStateDict(): parameter group ${gi} names parameter ${JSON.stringify(id)}, not an index`);
        byIndex[id] = this.paramGroups[gi].params[k];
      });
    });
    // The groups' options are checked as a user's would be, before any is applied: only the options
    // this optimizer has, of the same type, in range (a saved state is input, not trusted code).
    const options = sd.param_groups.map((g, gi) => checkedGroupOptions(g, this.paramGroups[gi], gi));
    options.forEach((opts, gi) => this.validate({ ...this.paramGroups[gi], ...opts }));
    options.forEach((opts, gi) => {
      for (const [k, v] of Object.entries(opts)) (this.paramGroups[gi] as Record<string, unknown>)[k] = v;
    });
    for (const s of this.state.values()) dispose(s);
    this.state.clear();
    noGrad(() => {
      for (const [id, s] of Object.entries(sd.state)) {
        const p = byIndex[Number(id)];
        if (!p) throw new Error(`loadStateDict(): state for parameter ${id}, which no group holds`);
        const copy: Record<string, Tensor | number> = {};
        for (const [k, v] of Object.entries(s)) {
          if (v instanceof Tensor) {
            if (v.shape.join(",") !== p.shape.join(",") && v.numel() !== 1) {
              throw new Error(`loadStateDict(): state '${k}' of parameter ${id} has shape [${v.shape}] but the parameter has [${p.shape}]`);
            }
            copy[k] = keep(v.to({ device: p.device, dtype: v.numel() === p.numel() ? p.dtype : v.dtype, copy: true }));
          } else copy[k] = v;
        }
        this.state.set(p, copy);
      }
    });
  }

  /** Frees the optimizer's state tensors. */
  dispose(): void {
    for (const s of this.state.values()) dispose(s);
    this.state.clear();
  }
}

export interface AdamWOptions {
  lr?: number;
  betas?: [number, number];
  eps?: number;
  weightDecay?: number;
  /** torch's fused=True: one pass per tensor (torch's kernel from libtorch 2.4; before, float32 CPU only); default false: the op-by-op update. */
  fused?: boolean;
}

/**
 * torch.optim.AdamW: decoupled weight decay (p ← p·(1 − lr·wd)), then Adam with bias correction
 * and eps added outside the square root. Defaults are PyTorch's (lr 1e-3, wd 0.01).
 */
export class AdamW extends Optimizer {
  /** One pass per tensor instead of torch's op-by-op update (see AdamWOptions.fused): faster, rounding an ulp apart. */
  readonly fused: boolean;
  constructor(params: ParamsArg, o: AdamWOptions = {}) {
    super(params, { lr: o.lr ?? 1e-3, betas: o.betas ?? [0.9, 0.999], eps: o.eps ?? 1e-8, weight_decay: o.weightDecay ?? 1e-2 });
    this.fused = o.fused ?? false;
  }

  protected validate(g: ParamGroup): void {
    const [b1, b2] = g.betas as [number, number];
    if (!(g.lr >= 0)) throw new RangeError(`AdamW: invalid learning rate ${g.lr}`);
    if (!((g.eps as number) >= 0)) throw new RangeError(`AdamW: invalid epsilon ${g.eps}`);
    if (!(b1 >= 0 && b1 < 1)) throw new RangeError(`AdamW: invalid beta parameter at index 0: ${b1}`);
    if (!(b2 >= 0 && b2 < 1)) throw new RangeError(`AdamW: invalid beta parameter at index 1: ${b2}`);
    if (!((g.weight_decay as number) >= 0)) throw new RangeError(`AdamW: invalid weight_decay value ${g.weight_decay}`);
  }

  /** One AdamW update of every parameter with a gradient: torch's single-tensor math, one native call per group. */
  step(): void {
    for (const g of this.paramGroups) {
      const params = this.withGrad(g);
      if (!params.length) continue;
      const states = params.map((p) => this.stateFor(p, () => ({ step: 0, exp_avg: zerosLike(p), exp_avg_sq: zerosLike(p) })));
      for (const s of states) s.step = (s.step as number) + 1;
      const [beta1, beta2] = g.betas as [number, number];
      multiTensor.adamwStep(
        params,
        states.map((s) => s.exp_avg as Tensor),
        states.map((s) => s.exp_avg_sq as Tensor),
        states.map((s) => s.step as number),
        {
          lr: g.lr,
          beta1,
          beta2,
          eps: g.eps as number,
          weightDecay: g.weight_decay as number,
          fused: this.fused && multiTensor.canFuseAdamw(params),
        },
      );
    }
  }
}

export interface SGDOptions {
  lr?: number;
  momentum?: number;
  dampening?: number;
  weightDecay?: number;
  nesterov?: boolean;
}

/** torch.optim.SGD with momentum, dampening, weight decay (L2, added to the gradient) and Nesterov. */
export class SGD extends Optimizer {
  constructor(params: ParamsArg, o: SGDOptions = {}) {
    super(params, {
      lr: o.lr ?? 1e-3,
      momentum: o.momentum ?? 0,
      dampening: o.dampening ?? 0,
      weight_decay: o.weightDecay ?? 0,
      nesterov: o.nesterov ?? false,
    });
  }

  protected validate(g: ParamGroup): void {
    if (!(g.lr >= 0)) throw new RangeError(`SGD: invalid learning rate ${g.lr}`);
    if (!((g.momentum as number) >= 0)) throw new RangeError(`SGD: invalid momentum value ${g.momentum}`);
    if (!((g.weight_decay as number) >= 0)) throw new RangeError(`SGD: invalid weight_decay value ${g.weight_decay}`);
    if (g.nesterov && (!((g.momentum as number) > 0) || g.dampening !== 0)) {
      throw new RangeError("SGD: Nesterov momentum requires a momentum and zero dampening");
    }
  }

  /** One SGD update of every parameter with a gradient: torch's single-tensor math, one native call per group. */
  step(): void {
    for (const g of this.paramGroups) {
      const params = this.withGrad(g);
      if (!params.length) continue;
      const momentum = g.momentum as number;
      const buffers = params.map((p) => (this.state.get(p)?.momentum_buffer as Tensor | undefined) ?? null);
      const made = multiTensor.sgdStep(params, buffers, {
        lr: g.lr,
        momentum,
        dampening: g.dampening as number,
        weightDecay: g.weight_decay as number,
        nesterov: !!g.nesterov,
      });
      made.forEach((b, i) => {
        if (b) this.state.set(params[i], { momentum_buffer: keep(b) });
      });
    }
  }
}
