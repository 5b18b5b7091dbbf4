// The deploy example's static server under hostile paths: names of Object.prototype's members, a
// malformed percent escape, a path climbing out of its root; each answers 400/404 and the server
// keeps serving.
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { AddressInfo } from "node:net";

const serveModule = await import("../examples/deploy-browser/serve.js").catch(() => undefined);
const noDeps = serveModule ? false : "the example's dev dependencies (transformers.js, onnxruntime-web) are not installed";

test("serve.ts: /constructor/x, /__proto__/x, a bad percent escape and ../ answer 400/404, and the server keeps serving", { skip: noDeps }, async () => {
  const models = mkdtempSync(join(tmpdir(), "ft-serve-"));
  writeFileSync(join(models, "config.json"), "{}");
  const server = await serveModule!.serveDeploy(models);
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  try {
    const status = async (path: string) => (await fetch(base + path)).status;
    for (const path of [
      "/constructor/x",
      "/__proto__/x",
      "/hasOwnProperty/x",
      "/toString",
      "/models/../../../../etc/passwd",
      "/models/%2e%2e/%2e%2e/etc/passwd",
      "/nothing",
    ]) {
      assert.equal(await status(path), 404, path);
    }
    assert.equal(await status("/models/%E0%A4%A"), 400, "a malformed percent escape");
    assert.equal(await status("/%"), 400);
    assert.equal(await status("/models/config.json"), 200, "still serving");
    assert.equal(await status("/"), 200);
  } finally {
    server.close();
  }
});
