// Tests pass whatever HF_* variables the caller's shell has: the hub tests, run in a shell that is
// offline, logged in, pointed at another hub and cache, and impatient, still pass.
import "./hermetic.js";
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { repoRoot } from "./helpers.js";

test("the hub tests pass in a shell with HF_HUB_OFFLINE, HF_HOME, HF_TOKEN, HF_ENDPOINT and timeouts set", () => {
  const files = ["hub.test.js", "hub_faults.test.js"].map((f) => join(repoRoot, "dist", "test", f));
  const r = spawnSync(process.execPath, ["--test", ...files], {
    encoding: "utf8",
    env: {
      ...Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith("NODE_TEST"))),
      HF_HUB_OFFLINE: "1",
      TRANSFORMERS_OFFLINE: "1",
      HF_HOME: "/nonexistent/hf-home",
      HF_HUB_CACHE: "/nonexistent/hub",
      HF_TOKEN: "hf_the_callers_token",
      HF_ENDPOINT: "http://127.0.0.1:1",
      HF_HUB_ETAG_TIMEOUT: "0.001",
      HF_HUB_DOWNLOAD_TIMEOUT: "0.001",
    },
  });
  assert.equal(r.status, 0, r.stdout.slice(-3000) + r.stderr.slice(-2000));
  assert.match(r.stdout, /# fail 0/);
});
