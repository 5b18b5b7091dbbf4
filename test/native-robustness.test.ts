// No input from JavaScript can crash the process: every addon function, called with wrong
// argument counts and types, stale handles and mismatched tensors, either returns or throws.
import "./hermetic.js";
import { test } from "node:test";
import assert from "node:assert/strict";
import * as torch from "../src/torch/index.js";

test("every addon function survives garbage arguments", () => {
  const fns = Object.entries(torch._native).filter(([, v]) => typeof v === "function") as [string, (...a: unknown[]) => unknown][];
  assert.ok(fns.length > 150, `the addon exports ${fns.length} functions`);
  const skip = new Set(["setNumThreads", "setBlasThreads", "manualSeed", "setRngState", "setGradEnabled", "setAutocast", "autocastEnter", "autocastExit"]);
  const made: unknown[] = [];
  torch.tidy(() => {
    const f = torch.randn([2, 3]);
    const i = torch.tensor([
      [0, 1, 2],
      [2, 1, 0],
    ]);
    const b = torch.tensor([true, false]);
    const s = torch.tensor(1.5);
    const dead = torch.ones([1]);
    const deadHandle = dead.handle;
    dead.dispose();
    const values: unknown[] = [
      undefined,
      null,
      -1,
      0,
      2,
      2.5,
      NaN,
      "x",
      "cuda:99",
      {},
      [],
      [1, -2],
      [f.handle],
      deadHandle,
      12345678901234n,
      f.handle,
      i.handle,
      b.handle,
      s.handle,
    ];
    let calls = 0;
    let threw = 0;
    for (const [name, fn] of fns) {
      if (skip.has(name)) continue;
      const argLists: unknown[][] = [[]];
      for (const v of values) argLists.push([v], [f.handle, v], [i.handle, v, v], [v, f.handle, 1, v]);
      argLists.push([f.handle, i.handle, i.handle, f.handle, 0.5, false, null], [s.handle, b.handle, 1, true], [[f.handle, i.handle], 0]);
      for (const args of argLists) {
        calls++;
        try {
          const r = fn(...args);
          made.push(r);
        } catch (e) {
          threw++;
          assert.ok(e instanceof Error, `${name} threw a non-Error`);
          assert.ok(e.message.length > 0, `${name} threw an empty message`);
        }
      }
    }
    assert.ok(calls > 10000 && threw > 0);
  });
  // Whatever handles those calls returned are released, so the table is back where it was.
  for (const r of made.flat()) if (typeof r === "bigint" && !torch._native.isDisposed(r as never)) torch._native.dispose(r as never);
});

test("the seed, RNG and thread setters reject bad values without crashing", () => {
  const n = torch._native as unknown as Record<string, (...a: unknown[]) => unknown>;
  assert.throws(() => n.setNumThreads(0), /threads must be in \[1, 4096\]/);
  assert.throws(() => n.setNumThreads(1e9), /threads must be in \[1, 4096\]/);
  assert.throws(() => n.setBlasThreads(-3), /threads must be in \[1, 4096\]/);
  assert.throws(() => n.manualSeed("seed"), /argument 0: expected a number/);
  torch.tidy(() => {
    assert.throws(() => n.setRngState(torch.zeros([3], { dtype: "uint8" }).handle), /./);
    assert.throws(() => n.setRngState(torch.zeros([3]).handle), /./);
  });
  assert.throws(() => n.setAutocast("tpu", true, 15), /autocast supports device types 'cpu' and 'cuda'/);
  assert.throws(() => n.setGradEnabled(1), /expected a boolean/);
  assert.equal(torch.isGradEnabled(), true);
});
