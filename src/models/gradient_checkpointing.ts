// Gradient checkpointing of the layer stacks, as transformers' GradientCheckpointingLayer and
// PreTrainedModel.gradient_checkpointing_enable: each encoder/decoder layer keeps only its input
// during the forward and runs again in backward (torch.checkpoint), trading one more forward of
// the layers for their activations' memory.
import * as torch from "../torch/index.js";
import type { Tensor } from "../torch/index.js";
import { Module } from "../nn/module.js";

/** What a layer of the stacks returns: its hidden states and, when asked for, its attention probabilities. */
export type LayerOutput = [Tensor, Tensor | undefined];

/** A layer of an encoder or decoder stack that can be checkpointed (HF's GradientCheckpointingLayer). */
export class GradientCheckpointingLayer extends Module {
  gradientCheckpointing = false;

  /** Whether a forward now would be checkpointed: enabled, training, and recording a graph. */
  get checkpointing(): boolean {
    return this.gradientCheckpointing && this.training && torch.isGradEnabled();
  }

  /**
   * Runs forward(...tensors) in a scope of its own (what autograd did not save is freed when the layer
   * ends), checkpointed when enabled. Every tensor forward reads must come through `tensors`: they
   * are what the recompute gets; anything else it closes over must not be a tensor of this step.
   */
  run<A extends (Tensor | null)[]>(tensors: [...A], forward: (...args: A) => LayerOutput): LayerOutput {
    if (!this.checkpointing) return torch.tidy(() => forward(...tensors));
    return torch.checkpoint(forward, tensors, this.parameters());
  }
}

/**
 * A key/value cache cannot be filled by a checkpointed layer (its recompute would append again):
 * where HF turns use_cache off with a warning while training with checkpointing, a cache passed in
 * explicitly is refused with what to do instead.
 */
export function checkCacheAllowed(layers: Iterable<GradientCheckpointingLayer>, cache: unknown): void {
  if (cache === null || cache === undefined) return;
  for (const l of layers) {
    if (l.checkpointing) {
      throw new Error(
        "pastKeyValues cannot be used while training with gradient checkpointing (the recomputed layers would fill the cache twice): " +
          "run under noGrad, call model.eval(), or gradientCheckpointingDisable()",
      );
    }
  }
}

/** Turns checkpointing on or off in every checkpointable layer of model; false when it has none. */
export function setGradientCheckpointing(model: Module, enable: boolean): boolean {
  let found = false;
  for (const [, m] of model.namedModules()) {
    if (m instanceof GradientCheckpointingLayer) {
      m.gradientCheckpointing = enable;
      found = true;
    }
  }
  return found;
}

/** Whether any layer of model is checkpointed (HF's is_gradient_checkpointing). */
export function isGradientCheckpointing(model: Module): boolean {
  for (const [, m] of model.namedModules()) if (m instanceof GradientCheckpointingLayer && m.gradientCheckpointing) return true;
  return false;
}
