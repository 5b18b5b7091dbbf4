// Dynamic loss scaling for float16 training (torch.cuda.amp.GradScaler): multiply the loss so
// small gradients survive fp16, unscale before the step, skip steps whose gradients overflowed.
import { Tensor, multiTensor } from "../torch/index.js";
import type { Optimizer } from "./optimizer.js";

export interface GradScalerOptions {
  initScale?: number;
  growthFactor?: number;
  backoffFactor?: number;
  growthInterval?: number;
  enabled?: boolean;
}

export class GradScaler {
  scale: number;
  readonly growthFactor: number;
  readonly backoffFactor: number;
  readonly growthInterval: number;
  readonly enabled: boolean;
  #growthTracker = 0;
  #unscaled = new Set<Optimizer>();
  #foundInf = new Map<Optimizer, boolean>();

  constructor(o: GradScalerOptions = {}) {
    this.scale = o.initScale ?? 2 ** 16;
    this.growthFactor = o.growthFactor ?? 2;
    this.backoffFactor = o.backoffFactor ?? 0.5;
    this.growthInterval = o.growthInterval ?? 2000;
    this.enabled = o.enabled ?? true;
    if (!(this.growthFactor > 1)) throw new RangeError("GradScaler: growthFactor must be > 1");
    if (!(this.backoffFactor > 0 && this.backoffFactor < 1)) throw new RangeError("GradScaler: backoffFactor must be in (0, 1)");
  }

  /** loss · scale (a new tensor; backward through it). */
  scaleLoss(loss: Tensor): Tensor {
    return this.enabled ? loss.mul(this.scale) : loss.mul(1);
  }

  /** Divides the optimizer's gradients by the scale in place, recording whether any was inf/NaN. */
  unscale_(optimizer: Optimizer): void {
    if (!this.enabled || this.#unscaled.has(optimizer)) return;
    const found = multiTensor.unscaleGrads(
      optimizer.paramGroups.flatMap((g) => g.params),
      1 / this.scale,
    );
    try {
      this.#unscaled.add(optimizer);
      this.#foundInf.set(optimizer, found.item() !== 0);
    } finally {
      found.dispose();
    }
  }

  /** Unscales if not done yet, then steps unless a gradient overflowed. Returns whether it stepped. */
  step(optimizer: Optimizer): boolean {
    if (!this.enabled) {
      optimizer.step();
      return true;
    }
    this.unscale_(optimizer);
    if (this.#foundInf.get(optimizer)) return false;
    optimizer.step();
    return true;
  }

  /** Grows the scale after growthInterval clean steps; backs it off after an overflow. */
  update(): void {
    if (!this.enabled) return;
    const overflow = [...this.#foundInf.values()].some(Boolean);
    if (overflow) {
      this.scale *= this.backoffFactor;
      this.#growthTracker = 0;
    } else if (++this.#growthTracker === this.growthInterval) {
      this.scale *= this.growthFactor;
      this.#growthTracker = 0;
    }
    this.#unscaled.clear();
    this.#foundInf.clear();
  }

  stateDict(): { scale: number; growth_factor: number; backoff_factor: number; growth_interval: number; _growth_tracker: number } {
    return {
      scale: this.scale,
      growth_factor: this.growthFactor,
      backoff_factor: this.backoffFactor,
      growth_interval: this.growthInterval,
      _growth_tracker: this.#growthTracker,
    };
  }

  loadStateDict(sd: { scale: number; _growth_tracker?: number }): void {
    if (!(sd?.scale > 0)) throw new TypeError("GradScaler.loadStateDict(): scale must be a positive number");
    this.scale = sd.scale;
    this.#growthTracker = sd._growth_tracker ?? 0;
  }
}
