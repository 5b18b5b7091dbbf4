// Optimizer state on disk: the tensors (exp_avg, momentum buffers, …) in a safetensors file under
// "state.{index}.{name}", and everything else (steps, param_groups) as JSON in its metadata.
// Written atomically by saveFile, so a checkpoint never holds half a state.
import { Tensor, loadFile, loadMetadata, saveFile, dispose } from "../torch/index.js";
import type { Optimizer, OptimizerStateDict } from "./optimizer.js";

const KEY = "finetune_ts.optimizer";

export function saveOptimizerState(opt: Optimizer | OptimizerStateDict, path: string): void {
  const sd = "paramGroups" in opt ? opt.stateDict() : opt;
  const tensors = new Map<string, Tensor>();
  const scalars: Record<string, Record<string, number>> = {};
  for (const [i, s] of Object.entries(sd.state)) {
    for (const [k, v] of Object.entries(s)) {
      if (v instanceof Tensor) tensors.set(`state.${i}.${k}`, v);
      else (scalars[i] ??= {})[k] = v;
    }
  }
  saveFile(tensors, path, { format: "pt", [KEY]: JSON.stringify({ param_groups: sd.param_groups, scalars }) });
}

/** Reads a state saved by saveOptimizerState; pass it to optimizer.loadStateDict, then dispose it. */
export function loadOptimizerState(path: string): OptimizerStateDict {
  const meta = loadMetadata(path)[KEY];
  if (!meta) throw new Error(`${path}: not an optimizer state (no '${KEY}' metadata)`);
  const { param_groups, scalars } = JSON.parse(meta) as { param_groups: Record<string, unknown>[]; scalars: Record<string, Record<string, number>> };
  const state: OptimizerStateDict["state"] = {};
  for (const [i, s] of Object.entries(scalars)) state[Number(i)] = { ...s };
  const tensors = loadFile(path);
  for (const [key, t] of tensors) {
    const m = /^state\.(\d+)\.(.+)$/.exec(key);
    if (!m) {
      dispose(tensors);
      throw new Error(`${path}: unexpected tensor '${key}' in an optimizer state`);
    }
    (state[Number(m[1])] ??= {})[m[2]] = t;
  }
  return { state, param_groups };
}
