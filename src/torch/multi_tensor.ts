// A step's per-parameter work as one native call over many tensors (the optimizers, clipping,
// zero_grad, the GradScaler's unscale). Each does, per tensor, torch's own single-tensor ops, so the
// numbers round as PyTorch's do; only the JS loop of calls is gone.
import { native, type Handle } from "./native.js";
import { Tensor } from "./tensor.js";
import { torchAtLeast } from "./runtime.js";

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
const LERP_MOMENTS = torchAtLeast(2);

/**
 * Whether a fused AdamW step can take these parameters: with libtorch >= 2.4, torch's own
 * _fused_adamw_ (what torch.optim.AdamW(fused=True) runs) on any one device and float dtype; before,
 * the addon's one-pass loop, for float32 CPU tensors only.
 */
export function canFuseAdamw(params: Tensor[]): boolean {
  if (!params.length) return false;
  const [device, dtype] = [params[0].device, params[0].dtype];
  if (native.hasTorchFusedAdamw) return params.every((p) => p.device === device && p.dtype === dtype && ["float32", "float16", "bfloat16"].includes(p.dtype));
  return params.every((p) => p.device === "cpu" && p.dtype === "float32");
}

/**
 * torch.optim.AdamW's update of params that all have gradients; steps are per parameter, already
 * incremented. Unfused: _single_tensor_adamw's ops, one native call for all tensors. `fused` (where
 * canFuseAdamw): one pass over each tensor (torch's fused kernel, or before libtorch 2.4 the
 * addon's loop, rounding an ulp apart from the unfused ops).
 */
export function adamwStep(
  params: Tensor[],
  expAvgs: Tensor[],
  expAvgSqs: Tensor[],
  steps: number[],
  o: { lr: number; beta1: number; beta2: number; eps: number; weightDecay: number; fused?: boolean },
): void {
  if (o.fused) native.adamwStepFused(handles(params), handles(expAvgs), handles(expAvgSqs), steps, o.lr, o.beta1, o.beta2, o.eps, o.weightDecay);
  else native.adamwStep(handles(params), handles(expAvgs), handles(expAvgSqs), steps, o.lr, o.beta1, o.beta2, o.eps, o.weightDecay, LERP_MOMENTS);
}

/** torch.optim.SGD's update of params that all have gradients; returns the momentum buffers made on this step (null where one existed). */
export function sgdStep(
  params: Tensor[],
  buffers: (Tensor | null)[],
  o: { lr: number; momentum: number; dampening: number; weightDecay: number; nesterov: boolean },
): (Tensor | null)[] {
  const made = native.sgdStep(
    handles(params),
    buffers.map((b) => b?.handle ?? null),
    o.lr,
    o.momentum,
    o.dampening,
    o.weightDecay,
    o.nesterov,
  );
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
