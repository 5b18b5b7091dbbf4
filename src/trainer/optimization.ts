// HF's create_optimizer and create_scheduler for the Trainer, and the optimizer step with the
// scaler and the schedule as HF's training loop takes it.
import type { Tensor } from "../torch/index.js";
import { AdamW, getScheduler, warmupStepsFor, type GradScaler, type LambdaLR, type Optimizer } from "../optim/index.js";
import type { PreTrainedModel } from "../models/index.js";
import type { TrainingArguments } from "./training_args.js";

/** AdamW over the trainable parameters, without weight decay for biases and LayerNorm weights (HF's get_decay_parameter_names). */
export function createOptimizer(model: PreTrainedModel, args: TrainingArguments): AdamW {
  const decay: Tensor[] = [];
  const noDecay: Tensor[] = [];
  const normParams = new Set<Tensor>();
  for (const [, m] of model.namedModules()) {
    if (m.constructor.name === "LayerNorm") for (const p of m.parameters()) normParams.add(p);
  }
  for (const [name, p] of model.namedParameters()) {
    if (!p.requiresGrad) continue;
    if (name.endsWith("bias") || normParams.has(p)) noDecay.push(p);
    else decay.push(p);
  }
  return new AdamW(
    [
      { params: decay, weight_decay: args.weightDecay },
      { params: noDecay, weight_decay: 0 },
    ].filter((g) => g.params.length),
    { lr: args.learningRate, betas: [args.adamBeta1, args.adamBeta2], eps: args.adamEpsilon, fused: args.optim === "adamw_torch_fused" },
  );
}

/** The run's learning-rate schedule: lrSchedulerType with its warmup over maxSteps. */
export function createScheduler(args: TrainingArguments, optimizer: Optimizer, maxSteps: number): LambdaLR {
  const kw = args.lrSchedulerKwargs;
  return getScheduler(args.lrSchedulerType, optimizer, {
    numWarmupSteps: warmupStepsFor(maxSteps, args),
    numTrainingSteps: maxSteps,
    numCycles: kw.num_cycles,
    lrEnd: kw.lr_end,
    power: kw.power,
    timescale: kw.timescale,
  });
}

/**
 * The optimizer's step (through the GradScaler under fp16), then the schedule's, which stays put
 * when the scaler skipped the step for inf/nan gradients (accelerate's optimizer_step_was_skipped,
 * as HF's loop checks it). Returns the learning rate the step used (what HF logs) and whether the
 * step was skipped.
 */
export function optimizerStep(
  optimizer: Optimizer,
  scheduler: LambdaLR,
  scaler: GradScaler | null,
  afterStep: () => void = () => {},
): { learningRate: number; skipped: boolean } {
  let skipped = false;
  if (scaler) {
    skipped = !scaler.step(optimizer);
    scaler.update();
  } else optimizer.step();
  afterStep();
  const learningRate = scheduler.getLastLr()[0];
  if (!skipped) scheduler.step();
  return { learningRate, skipped };
}
