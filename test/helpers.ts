// Test helpers: fixture paths and tolerance checks that report the worst element.
import "./hermetic.js";
import assert from "node:assert/strict";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { Tensor, tidy } from "../src/torch/index.js";

const here = dirname(fileURLToPath(import.meta.url));
/** The repository root, from test/ (sources) or dist/test/ (compiled). */
export const repoRoot = here.includes(`${join("dist", "test")}`) ? join(here, "..", "..") : join(here, "..");
export const fixture = (...parts: string[]): string => join(repoRoot, "test", "fixtures", ...parts);

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
