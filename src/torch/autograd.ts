// Grad mode and autocast scopes. Both are libtorch thread-local state; the scopes restore it on exit.
import { native } from "./native.js";
import { dtypeCode, dtypeName, normalizeDType, type DType } from "./dtype.js";

function withGradMode<T>(enabled: boolean, fn: () => T): T {
  const prev = native.isGradEnabled();
  native.setGradEnabled(enabled);
  let result: T;
  try {
    result = fn();
  } finally {
    native.setGradEnabled(prev);
  }
  // Grad mode is restored when fn returns: the part of an async fn after its first await would run
  // with the caller's mode, silently recording a graph (or not). Refuse it, as tidy does.
  if (result instanceof Promise) {
    result.catch(() => {});
    throw new TypeError(
      `${enabled ? "enableGrad" : "noGrad"}(fn): fn returned a Promise; grad-mode scopes are synchronous (await outside, run each step inside)`,
    );
  }
  return result;
}

/** Runs fn with autograd off (torch.no_grad()): no graph is recorded, results do not require grad. */
export function noGrad<T>(fn: () => T): T {
  return withGradMode(false, fn);
}
/** Runs fn with autograd on, also inside a noGrad scope (torch.enable_grad()). */
export function enableGrad<T>(fn: () => T): T {
  return withGradMode(true, fn);
}
export function isGradEnabled(): boolean {
  return native.isGradEnabled();
}
export function setGradEnabled(enabled: boolean): void {
  native.setGradEnabled(enabled);
}

export interface AutocastOptions {
  deviceType: "cpu" | "cuda";
  /** Lower precision dtype: bfloat16 (CPU default) or float16 (CUDA default). */
  dtype?: DType | string;
  enabled?: boolean;
}

/**
 * Runs fn under mixed precision (torch.autocast): matmuls and linear layers compute in the lower
 * precision, reductions and losses stay in float32, following libtorch's autocast op lists.
 */
export function autocast<T>(o: AutocastOptions, fn: () => T): T {
  if (o.deviceType !== "cpu" && o.deviceType !== "cuda") {
    throw new TypeError(`autocast(): deviceType must be 'cpu' or 'cuda', got '${o.deviceType}'`);
  }
  const dtype = normalizeDType(o.dtype ?? (o.deviceType === "cpu" ? "bfloat16" : "float16"), "autocast(): dtype");
  if (o.deviceType === "cpu" && dtype !== "bfloat16") {
    throw new TypeError(`autocast(): on CPU only bfloat16 is supported, got '${dtype}'`);
  }
  if (dtype !== "bfloat16" && dtype !== "float16") throw new TypeError(`autocast(): dtype must be float16 or bfloat16, got '${dtype}'`);
  const [prevEnabled, prevDtype] = native.getAutocast(o.deviceType);
  native.setAutocast(o.deviceType, o.enabled ?? true, dtypeCode(dtype));
  native.autocastEnter();
  try {
    const r = fn();
    if (r instanceof Promise) throw new TypeError("autocast(): fn must be synchronous");
    return r;
  } finally {
    native.autocastExit();
    native.setAutocast(o.deviceType, prevEnabled, prevDtype);
  }
}

export function isAutocastEnabled(deviceType: "cpu" | "cuda"): { enabled: boolean; dtype: DType } {
  const [enabled, code] = native.getAutocast(deviceType);
  return { enabled, dtype: dtypeName(code) };
}
