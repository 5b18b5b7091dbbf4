// pushToHub: the output folder reaches the hub through the commit API (create repo, preupload,
// LFS batch + upload for weights, NDJSON commit), against a local server with the hub's endpoints.
import "./hermetic.js";
import { test } from "node:test";
import assert from "node:assert/strict";
import { createServer } from "node:http";
import { createHash } from "node:crypto";
import { mkdtempSync, readFileSync, readdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { AddressInfo } from "node:net";
import * as torch from "../src/torch/index.js";
import { Dataset } from "../src/datasets/index.js";
import { AutoModelForSequenceClassification } from "../src/models/index.js";
import { Trainer, TrainingArguments } from "../src/trainer/index.js";
import { uploadFolder } from "../src/hub/index.js";
import { withEnv } from "./helpers.js";
import { silenced } from "./trainer_helpers.js";

interface Commit {
  repo: string;
  summary: string;
  files: Record<string, Buffer>;
}

async function fakeHub(o: { commitDelayMs?: number; onCommit?: () => void } = {}) {
  const commits: Commit[] = [];
  const lfs = new Map<string, Buffer>();
  const created: string[] = [];
  const auth: (string | undefined)[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const body = Buffer.concat(chunks);
      const url = new URL(req.url!, "http://x");
      auth.push(req.headers.authorization);
      const json = (v: unknown, status = 200) => {
        res.writeHead(status, { "content-type": "application/json" });
        res.end(JSON.stringify(v));
      };
      if (url.pathname === "/api/whoami-v2")
        return json({
          name: "me",
          type: "user",
          auth: { type: "access_token", accessToken: { displayName: "test", role: "write", createdAt: "2026-01-01T00:00:00Z" } },
        });
      if (url.pathname === "/api/repos/create") {
        const b = JSON.parse(body.toString());
        const id = `${b.organization}/${b.name}`;
        if (created.includes(id)) return json({ error: "You already created this model repo" }, 409);
        created.push(id);
        return json({ url: `${base}/${id}` });
      }
      let m = /^\/api\/models\/([^/]+\/[^/]+)\/preupload\/main$/.exec(url.pathname);
      if (m) {
        const b = JSON.parse(body.toString()) as { files: { path: string }[] };
        return json({ files: b.files.map((f) => ({ path: f.path, uploadMode: f.path.endsWith(".safetensors") ? "lfs" : "regular", shouldIgnore: false })) });
      }
      m = /^\/([^/]+\/[^/]+)\.git\/info\/lfs\/objects\/batch$/.exec(url.pathname);
      if (m) {
        const b = JSON.parse(body.toString()) as { objects: { oid: string; size: number }[] };
        return json({
          transfer: "basic",
          objects: b.objects.map((o) => ({ oid: o.oid, size: o.size, actions: { upload: { href: `${base}/lfs-upload/${o.oid}` } } })),
        });
      }
      m = /^\/lfs-upload\/([0-9a-f]+)$/.exec(url.pathname);
      if (m && req.method === "PUT") {
        assert.equal(createHash("sha256").update(body).digest("hex"), m[1], "LFS content matches its oid");
        lfs.set(m[1], body);
        res.writeHead(200);
        return res.end();
      }
      m = /^\/api\/models\/([^/]+\/[^/]+)\/commit\/main$/.exec(url.pathname);
      if (m) {
        const lines = body
          .toString()
          .trim()
          .split("\n")
          .map((l) => JSON.parse(l) as { key: string; value: Record<string, string> });
        const c: Commit = { repo: m[1], summary: lines[0].value.summary, files: {} };
        for (const { key, value } of lines.slice(1)) {
          if (key === "file") c.files[value.path] = Buffer.from(value.content, "base64");
          if (key === "lfsFile") c.files[value.path] = lfs.get(value.oid)!;
        }
        commits.push(c);
        o.onCommit?.();
        const answer = () => json({ commitUrl: `${base}/${m![1]}/commit/abc`, commitOid: "a".repeat(40) });
        if (o.commitDelayMs) setTimeout(answer, o.commitDelayMs);
        else answer();
        return;
      }
      res.writeHead(404);
      res.end();
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return { base, commits, created, auth, close: () => server.close() };
}

/** A tiny BERT (seeded), n rows of a toy task, and an output folder named `name` (the repo's name). */
function pushSetup(n: number, name: string) {
  torch.manualSeed(0);
  const model = AutoModelForSequenceClassification.fromConfig({
    model_type: "bert",
    vocab_size: 30,
    hidden_size: 8,
    num_hidden_layers: 1,
    num_attention_heads: 2,
    intermediate_size: 8,
  });
  const rows = Array.from({ length: n }, (_, i) => [1, 3 + (i % 7), 2]);
  const ds = Dataset.fromDict({ input_ids: rows, attention_mask: rows.map((r) => r.map(() => 1)), label: rows.map((_, i) => i % 2) });
  return { model, ds, outputDir: join(mkdtempSync(join(tmpdir(), "ft-push-")), name) };
}

test("Trainer with pushToHub uploads each checkpoint's model and, at the end, the output folder", async () => {
  const hub = await fakeHub();
  try {
    await withEnv({ HF_ENDPOINT: hub.base, HF_TOKEN: "hf_test" }, async () => {
      const { model, ds, outputDir } = pushSetup(16, "my-model");
      const args = new TrainingArguments({ outputDir, pushToHub: true, saveSteps: 2, maxSteps: 4, perDeviceTrainBatchSize: 4, disableTqdm: true });
      assert.equal(args.hubModelId, "my-model", "the repo is named after the output folder");
      const trainer = new Trainer({ model, args, trainDataset: ds });
      await silenced(async () => {
        await trainer.train();
        await trainer.pushToHub();
      });
      assert.deepEqual(hub.created, ["me/my-model"], "created once, under the token's user");
      assert.deepEqual(
        hub.commits.map((c) => c.summary),
        ["Training in progress, step 2", "Training in progress, step 4", "End of training"],
      );
      const last = hub.commits.at(-1)!;
      assert.equal(last.repo, "me/my-model");
      assert.ok(!Object.keys(last.files).some((f) => f.startsWith("checkpoint-")), "checkpoints stay local");
      assert.deepEqual(last.files["model.safetensors"], readFileSync(join(outputDir, "model.safetensors")), "weights went through LFS intact");
      assert.equal(JSON.parse(last.files["config.json"].toString()).model_type, "bert");
      assert.ok(hub.auth.every((a) => a === undefined || a === "Bearer hf_test"));
      await assert.rejects(uploadFolder("me/x", outputDir, { token: "", endpoint: hub.base }), /needs a token/);
    });
  } finally {
    hub.close();
  }
});

test("uploads run while training goes on, and rotation never deletes a checkpoint still uploading", async () => {
  let trainer: Trainer | undefined;
  const stepsAtCommit: number[] = [];
  const hub = await fakeHub({ commitDelayMs: 150, onCommit: () => stepsAtCommit.push(trainer?.state.global_step ?? -1) });
  try {
    await withEnv({ HF_ENDPOINT: hub.base, HF_TOKEN: "hf_test" }, async () => {
      const { model, ds, outputDir } = pushSetup(64, "rotating");
      const args = new TrainingArguments({
        outputDir,
        pushToHub: true,
        saveSteps: 2,
        saveTotalLimit: 1,
        maxSteps: 300,
        perDeviceTrainBatchSize: 4,
        disableTqdm: true,
        loggingStrategy: "no",
      });
      trainer = new Trainer({ model, args, trainDataset: ds });
      await silenced(() => trainer!.train());
      // Every checkpoint commit carried its weights: none was deleted under its upload.
      const checkpointCommits = hub.commits.filter((c) => c.summary.startsWith("Training in progress"));
      assert.ok(checkpointCommits.length >= 2);
      for (const c of checkpointCommits) assert.ok(c.files["model.safetensors"]?.length > 0, `${c.summary}: weights uploaded`);
      assert.ok(stepsAtCommit[0] < 300, `the first upload arrived while training went on (at step ${stepsAtCommit[0]} of 300)`);
      // Once the uploads are done, rotation catches up: one checkpoint is left.
      assert.deepEqual(
        readdirSync(outputDir).filter((d) => d.startsWith("checkpoint-")),
        ["checkpoint-300"],
      );
    });
  } finally {
    hub.close();
  }
});
