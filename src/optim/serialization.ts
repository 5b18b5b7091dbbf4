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
  let parsed: { param_groups?: unknown; scalars?: unknown };
  try {
    parsed = JSON.parse(meta) as typeof parsed;
  } catch (e) {
    throw new Error(`${path}: the optimizer metadata is not valid JSON (${(e as Error).message})`);
  }
  const { param_groups, scalars } = parsed;
  if (!Array.isArray(param_groups) || !param_groups.every((g) => g !== null && typeof g === "object" && !Array.isArray(g)))
    throw new Error(`${path}: param_groups must be a list of objects`);
  if (scalars === null || typeof scalars !== "object" || Array.isArray(scalars)) throw new Error(`${path}: the optimizer scalars must be an object`);
  const state: OptimizerStateDict["state"] = {};
  for (const [i, s] of Object.entries(scalars)) {
    if (!/^\d+$/.test(i) || s === null || typeof s !== "object" || !Object.values(s).every((v) => typeof v === "number" && Number.isFinite(v))) {
      throw new Error(`${path}: the scalars of parameter '${i}' must be an object of finite numbers`);
    }
    state[Number(i)] = { ...(s as Record<string, number>) };
  }
  const tensors = loadFile(path);
  for (const [key, t] of tensors) {
    const m = /^state\.(\d+)\.(.+)$/.exec(key);
    if (!m) {
      dispose(tensors);
      throw new Error(`${path}: unexpected tensor '${key}' in an optimizer state`);
    }
    (state[Number(m[1])] ??= {})[m[2]] = t;
  }
  return { state, param_groups: param_groups as Record<string, unknown>[] };
}
