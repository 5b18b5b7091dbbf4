// A step's per-parameter work as one native call over many tensors (the optimizers, clipping,
// zero_grad, the GradScaler's unscale). Each does, per tensor, torch's own single-tensor ops, so the
// numbers round as PyTorch's do; only the JS loop of calls is gone.
import { native, type Handle } from "./native.js";
import { Tensor } from "./tensor.js";
import { torchVersion } from "./runtime.js";

const handles = (ts: Tensor[]): Handle[] => ts.map((t) => t.handle);

/** Which of the tensors have a gradient. */
export function hasGrad(params: Tensor[]): boolean[] {
  return Array.from(native.hasGrad(handles(params)), (b) => b === 1);
}

/** Sets every gradient to null (zero_grad(set_to_none=True)). */
export function zeroGrad(params: Tensor[]): void {
  native.zeroGrad(handles(params));
}

// torch.optim.AdamW's first moment: mul_/add_ up to torch 1.13, lerp_ from 2.0.
const LERP_MOMENTS = Number(torchVersion.split(".")[0]) >= 2;

/**
 * torch.optim.AdamW's update (_single_tensor_adamw) of params that all have gradients; steps are per
 * parameter, already incremented. `fused` (float32 CPU tensors only) makes one pass over each
 * tensor instead of one per op: much faster on large tensors, rounding an ulp apart from torch's.
 */
export function adamwStep(params: Tensor[], expAvgs: Tensor[], expAvgSqs: Tensor[], steps: number[], o: { lr: number; beta1: number; beta2: number; eps: number; weightDecay: number; fused?: boolean }): void {
  if (o.fused) native.adamwStepFused(handles(params), handles(expAvgs), handles(expAvgSqs), steps, o.lr, o.beta1, o.beta2, o.eps, o.weightDecay);
  else native.adamwStep(handles(params), handles(expAvgs), handles(expAvgSqs), steps, o.lr, o.beta1, o.beta2, o.eps, o.weightDecay, LERP_MOMENTS);
}

/** torch.optim.SGD's update of params that all have gradients; returns the momentum buffers made on this step (null where one existed). */
export function sgdStep(params: Tensor[], buffers: (Tensor | null)[], o: { lr: number; momentum: number; dampening: number; weightDecay: number; nesterov: boolean }): (Tensor | null)[] {
  const made = native.sgdStep(handles(params), buffers.map((b) => b?.handle ?? null), o.lr, o.momentum, o.dampening, o.weightDecay, o.nesterov);
  return made.map((h) => (h === null ? null : new Tensor(h)));
}

/** torch.nn.utils.clip_grad_norm_; the total norm before clipping as a tensor, or null when no gradient exists. */
export function clipGradNorm(params: Tensor[], maxNorm: number, normType: number): Tensor | null {
  const h = native.clipGradNorm(handles(params), maxNorm, normType);
  return h === null ? null : new Tensor(h);
}

/** Gradients times invScale in place; a bool tensor saying whether any was inf/nan. */
export function unscaleGrads(params: Tensor[], invScale: number): Tensor {
  return new Tensor(native.unscaleGrads(handles(params), invScale));
}
