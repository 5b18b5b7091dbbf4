// Learning-rate schedules with Hugging Face's exact formulas (transformers/optimization.py), run
// as torch's LambdaLR: lr = base_lr · λ(step), set at construction for step 0 and after each step().
import type { Optimizer } from "./optimizer.js";

export type LrLambda = (step: number) => number;

export type SchedulerType = "linear" | "cosine" | "cosine_with_restarts" | "polynomial" | "constant" | "constant_with_warmup" | "inverse_sqrt";

export const SCHEDULER_TYPES: SchedulerType[] = ["linear", "cosine", "cosine_with_restarts", "polynomial", "constant", "constant_with_warmup", "inverse_sqrt"];

function warmup(step: number, warmupSteps: number): number {
  return step / Math.max(1, warmupSteps);
}

export const constantSchedule = (): LrLambda => () => 1;

export const constantScheduleWithWarmup =
  (warmupSteps: number): LrLambda =>
  (step) =>
    step < warmupSteps ? warmup(step, warmupSteps) : 1;

export const linearScheduleWithWarmup =
  (warmupSteps: number, totalSteps: number): LrLambda =>
  (step) =>
    step < warmupSteps ? warmup(step, warmupSteps) : Math.max(0, (totalSteps - step) / Math.max(1, totalSteps - warmupSteps));

export const cosineScheduleWithWarmup =
  (warmupSteps: number, totalSteps: number, numCycles = 0.5): LrLambda =>
  (step) => {
    if (step < warmupSteps) return warmup(step, warmupSteps);
    const progress = (step - warmupSteps) / Math.max(1, totalSteps - warmupSteps);
    return Math.max(0, 0.5 * (1 + Math.cos(Math.PI * numCycles * 2 * progress)));
  };

export const cosineWithHardRestartsScheduleWithWarmup =
  (warmupSteps: number, totalSteps: number, numCycles = 1): LrLambda =>
  (step) => {
    if (step < warmupSteps) return warmup(step, warmupSteps);
    const progress = (step - warmupSteps) / Math.max(1, totalSteps - warmupSteps);
    if (progress >= 1) return 0;
    return Math.max(0, 0.5 * (1 + Math.cos(Math.PI * ((numCycles * progress) % 1))));
  };

export const polynomialDecayScheduleWithWarmup = (warmupSteps: number, totalSteps: number, lrInit: number, lrEnd = 1e-7, power = 1): LrLambda => {
  if (!(lrInit > lrEnd)) throw new RangeError(`lr_end (${lrEnd}) must be smaller than initial lr (${lrInit})`);
  return (step) => {
    if (step < warmupSteps) return warmup(step, warmupSteps);
    if (step > totalSteps) return lrEnd / lrInit;
    const decaySteps = totalSteps - warmupSteps;
    const pctRemaining = 1 - (step - warmupSteps) / decaySteps;
    return ((lrInit - lrEnd) * pctRemaining ** power + lrEnd) / lrInit;
  };
};

export const inverseSqrtSchedule = (warmupSteps: number, timescale?: number): LrLambda => {
  const ts = timescale ?? (warmupSteps || 10_000);
  return (step) => {
    if (step < warmupSteps) return warmup(step, warmupSteps);
    const shift = ts - warmupSteps;
    return 1 / Math.sqrt((step + shift) / ts);
  };
};

/** torch.optim.lr_scheduler.LambdaLR over an optimizer's groups. */
export class LambdaLR {
  readonly optimizer: Optimizer;
  readonly baseLrs: number[];
  readonly lambdas: LrLambda[];
  lastEpoch = 0;
  #lastLr: number[] = [];

  constructor(optimizer: Optimizer, lrLambda: LrLambda | LrLambda[]) {
    this.optimizer = optimizer;
    const n = optimizer.paramGroups.length;
    this.lambdas = Array.isArray(lrLambda) ? lrLambda : Array.from({ length: n }, () => lrLambda);
    if (this.lambdas.length !== n) throw new RangeError(`LambdaLR: expected ${n} lr lambdas, got ${this.lambdas.length}`);
    for (const g of optimizer.paramGroups) g.initial_lr ??= g.lr;
    this.baseLrs = optimizer.paramGroups.map((g) => g.initial_lr as number);
    this.#apply();
  }

  #apply(): void {
    this.#lastLr = this.optimizer.paramGroups.map((g, i) => (g.lr = this.baseLrs[i] * this.lambdas[i](this.lastEpoch)));
  }

  step(): void {
    this.lastEpoch += 1;
    this.#apply();
  }

  getLastLr(): number[] {
    return this.#lastLr.slice();
  }

  stateDict(): { last_epoch: number; base_lrs: number[]; _last_lr: number[] } {
    return { last_epoch: this.lastEpoch, base_lrs: this.baseLrs.slice(), _last_lr: this.getLastLr() };
  }

  loadStateDict(sd: { last_epoch: number; base_lrs?: number[] }): void {
    if (sd === null || typeof sd !== "object") throw new TypeError("LambdaLR.loadStateDict(): expected an object with last_epoch");
    if (!Number.isInteger(sd.last_epoch) || sd.last_epoch < -1)
      throw new TypeError(`LambdaLR.loadStateDict(): last_epoch must be an integer ≥ -1, got ${JSON.stringify(sd.last_epoch)}`);
    const lrs = sd.base_lrs;
    if (
      lrs !== undefined &&
      (!Array.isArray(lrs) || lrs.length !== this.baseLrs.length || !lrs.every((x) => typeof x === "number" && Number.isFinite(x) && x >= 0))
    ) {
      throw new TypeError(
        `LambdaLR.loadStateDict(): base_lrs must be ${this.baseLrs.length} non-negative numbers (one per parameter group), got ${JSON.stringify(lrs)}`,
      );
    }
    this.lastEpoch = sd.last_epoch;
    if (lrs) lrs.forEach((lr, i) => (this.baseLrs[i] = lr));
    this.#apply();
  }
}

/** The warmup steps HF uses for a warmup ratio: ceil(total · ratio). */
export function warmupStepsFor(totalSteps: number, o: { warmupSteps?: number; warmupRatio?: number }): number {
  // transformers 5 reads a warmup_steps below 1 as a fraction of the training steps (warmup_ratio's
  // successor); 1 and above is a count of steps.
  if (o.warmupSteps && o.warmupSteps >= 1) return o.warmupSteps;
  if (o.warmupSteps && o.warmupSteps > 0) return Math.ceil(totalSteps * o.warmupSteps);
  return Math.ceil(totalSteps * (o.warmupRatio ?? 0));
}

export interface SchedulerOptions {
  numWarmupSteps?: number;
  numTrainingSteps?: number;
  /** cosine's numCycles, polynomial's lrEnd and power, inverse_sqrt's timescale. */
  numCycles?: number;
  lrEnd?: number;
  power?: number;
  timescale?: number;
}

/** transformers.get_scheduler: a schedule by name, with HF's errors for missing step counts. */
export function getScheduler(name: SchedulerType | string, optimizer: Optimizer, o: SchedulerOptions = {}): LambdaLR {
  if (!SCHEDULER_TYPES.includes(name as SchedulerType)) {
    throw new TypeError(`'${name}' is not a valid SchedulerType, please select one of ${SCHEDULER_TYPES.map((s) => `'${s}'`).join(", ")}`);
  }
  if (name === "constant") return new LambdaLR(optimizer, constantSchedule());
  const w = o.numWarmupSteps;
  if (w === undefined || w === null) throw new TypeError(`${name} requires \`num_warmup_steps\`, please provide that argument.`);
  if (name === "constant_with_warmup") return new LambdaLR(optimizer, constantScheduleWithWarmup(w));
  if (name === "inverse_sqrt") return new LambdaLR(optimizer, inverseSqrtSchedule(w, o.timescale));
  const total = o.numTrainingSteps;
  if (total === undefined || total === null) throw new TypeError(`${name} requires \`num_training_steps\`, please provide that argument.`);
  switch (name as SchedulerType) {
    case "linear":
      return new LambdaLR(optimizer, linearScheduleWithWarmup(w, total));
    case "cosine":
      return new LambdaLR(optimizer, cosineScheduleWithWarmup(w, total, o.numCycles ?? 0.5));
    case "cosine_with_restarts":
      return new LambdaLR(optimizer, cosineWithHardRestartsScheduleWithWarmup(w, total, o.numCycles ?? 1));
    default: {
      const lrInit = optimizer.paramGroups[0].lr;
      return new LambdaLR(optimizer, polynomialDecayScheduleWithWarmup(w, total, lrInit, o.lrEnd ?? 1e-7, o.power ?? 1));
    }
  }
}
