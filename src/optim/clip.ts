// Gradient clipping by total norm, as torch.nn.utils.clip_grad_norm_, in one native call.
import { Tensor, multiTensor } from "../torch/index.js";

/**
 * Scales all gradients so that their joint p-norm is at most maxNorm; returns the norm before
 * clipping (HF logs it as grad_norm). Like PyTorch, every gradient is multiplied by
 * min(1, maxNorm / (norm + 1e-6)), and an infinite p uses the largest absolute value.
 */
export function clipGradNorm(params: Tensor[], maxNorm: number, normType = 2): number {
  const total = clipGradNormTensor(params, maxNorm, normType);
  if (!total) return 0;
  try {
    return total.item();
  } finally {
    total.dispose();
  }
}

/** clipGradNorm, with the norm left on the device as a tensor (null when no gradient exists): read it only when it is logged. */
export function clipGradNormTensor(params: Tensor[], maxNorm: number, normType = 2): Tensor | null {
  if (!(maxNorm > 0)) throw new RangeError(`clipGradNorm(): maxNorm must be positive, got ${maxNorm}`);
  return multiTensor.clipGradNorm(params, maxNorm, normType);
}
