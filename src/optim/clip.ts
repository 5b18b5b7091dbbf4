// Gradient clipping by total norm, as torch.nn.utils.clip_grad_norm_.
import { Tensor, noGrad, stack, tidy } from "../torch/index.js";

/**
 * Scales all gradients so that their joint p-norm is at most maxNorm; returns the norm before
 * clipping (HF logs it as grad_norm). Like PyTorch, every gradient is multiplied by
 * min(1, maxNorm / (norm + 1e-6)), and an infinite p uses the largest absolute value.
 */
export function clipGradNorm(params: Tensor[], maxNorm: number, normType = 2): number {
  if (!(maxNorm > 0)) throw new RangeError(`clipGradNorm(): maxNorm must be positive, got ${maxNorm}`);
  return noGrad(() =>
    tidy(() => {
      const grads = params.map((p) => p.grad).filter((g): g is Tensor => g !== null);
      if (grads.length === 0) return 0;
      const norms = grads.map((g) => g.norm(normType));
      const total = normType === Infinity ? stack(norms).max() : stack(norms).norm(normType);
      const coef = total.add(1e-6).reciprocal().mul(maxNorm).clamp(null, 1);
      for (const g of grads) g.mul_(coef);
      return total.item();
    }),
  );
}
