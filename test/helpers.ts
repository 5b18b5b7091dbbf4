// Test helpers: fixture paths and tolerance checks that report the worst element.
import "./hermetic.js";
import assert from "node:assert/strict";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import * as torch from "../src/torch/index.js";
import { Tensor, tidy } from "../src/torch/index.js";

const here = dirname(fileURLToPath(import.meta.url));
/** The repository root, from test/ (sources) or dist/test/ (compiled). */
export const repoRoot = here.includes(`${join("dist", "test")}`) ? join(here, "..", "..") : join(here, "..");
/**
 * A test's skip reason when something it needs is absent — unless this run requires it
 * (FINETUNE_REQUIRE_SHARED=1, FINETUNE_REQUIRE_C10D=1, FINETUNE_REQUIRE_ONNXRUNTIME=1, as .ci/run
 * sets them): then its absence fails the test file, so CI cannot pass by skipping.
 */
export function needs(kind: "shared" | "c10d" | "onnxruntime", available: boolean, reason: string): false | string {
  if (available) return false;
  const variable = `FINETUNE_REQUIRE_${kind.toUpperCase()}`;
  if (process.env[variable] === "1") throw new Error(`${variable}=1, but ${reason}: this run requires it, so the tests that need it fail instead of skipping`);
  return reason;
}

export const fixture = (...parts: string[]): string => join(repoRoot, "test", "fixtures", ...parts);

/**
 * Which golden (file stem) attn_implementation="sdpa" is checked against on this libtorch: where it
 * has no SDPA (before 2.1) attention is composed as eager is ("expected"); from torch 2.5 on HF's
 * boolean mask makes a row with no key to attend 0 ("expected_sdpa"); in between HF unmasks such rows
 * (allow_torch_fix) and no golden holds that (null).
 */
export function sdpaGolden(): "expected" | "expected_sdpa" | null {
  if (!torch.hasSdpa) return "expected";
  return torch.torchAtLeast(2, 5) ? "expected_sdpa" : null;
}

/** |actual − expected| ≤ atol + rtol·|expected| elementwise (numpy.allclose), with the worst offender in the message. */
export function assertClose(actual: Tensor, expected: Tensor, o: { rtol: number; atol: number; what?: string }): void {
  assert.deepEqual(actual.shape, expected.shape, `${o.what ?? "tensor"}: shape`);
  const a = tidy(() => actual.detach().to("float64").cpu().dataSync()) as Float64Array;
  const e = tidy(() => expected.detach().to("float64").cpu().dataSync()) as Float64Array;
  let worst = -1;
  let worstExcess = 0;
  for (let i = 0; i < a.length; i++) {
    const excess = Math.abs(a[i] - e[i]) - (o.atol + o.rtol * Math.abs(e[i]));
    if (!(excess <= 0) && (worst < 0 || excess > worstExcess || Number.isNaN(excess))) {
      worst = i;
      worstExcess = excess;
    }
  }
  if (worst >= 0) {
    assert.fail(`${o.what ?? "tensor"}: element ${worst} is ${a[worst]}, expected ${e[worst]} (rtol ${o.rtol}, atol ${o.atol})`);
  }
}

export function assertNumClose(actual: number, expected: number, tol: number, what = "value"): void {
  assert.ok(Math.abs(actual - expected) <= tol * Math.max(1, Math.abs(expected)), `${what}: ${actual} != ${expected} (tol ${tol})`);
}

/** Runs fn with environment variables set (undefined: unset), then restores them as they were. */
export async function withEnv<T>(vars: Record<string, string | undefined>, fn: () => T | Promise<T>): Promise<T> {
  const saved = Object.fromEntries(Object.keys(vars).map((k) => [k, process.env[k]]));
  const apply = (v: Record<string, string | undefined>) => {
    for (const [k, x] of Object.entries(v)) {
      if (x === undefined) delete process.env[k];
      else process.env[k] = x;
    }
  };
  apply(vars);
  try {
    return await fn();
  } finally {
    apply(saved);
  }
}
