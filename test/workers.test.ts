// The addon per environment: two worker_threads load it and train at once, each with its own handle
// table, and the process exits cleanly (the tables are freed when each environment ends, before
// libtorch's static teardown).
import "./hermetic.js";
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { repoRoot } from "./helpers.js";

test("two worker threads train at once and the process exits cleanly", () => {
  const dir = mkdtempSync(join(tmpdir(), "ft-workers-"));
  const dist = (p: string) => JSON.stringify(join(repoRoot, "dist", p));
  const worker = join(dir, "worker.mjs");
  writeFileSync(
    worker,
    `
    import { parentPort, workerData } from "node:worker_threads";
    import * as torch from ${dist("src/torch/index.js")};
    import { Trainer, TrainingArguments } from ${dist("src/trainer/index.js")};
    import { out, padCollator, tinyModel, toyDataset } from ${dist("test/trainer_helpers.js")};
    const args = new TrainingArguments({ outputDir: out(), perDeviceTrainBatchSize: 4, maxSteps: 25, saveStrategy: "no", loggingStrategy: "no", disableTqdm: true, torchThreads: 1, blasThreads: 1 });
    const trainer = new Trainer({ model: tinyModel(), args, trainDataset: toyDataset(48, workerData.seed), dataCollator: padCollator });
    const result = await trainer.train();
    parentPort.postMessage({ loss: result.trainingLoss, steps: result.globalStep, live: torch._native.liveHandles() });
  `,
  );
  const main = join(dir, "main.mjs");
  writeFileSync(
    main,
    `
    import { Worker } from "node:worker_threads";
    import * as torch from ${dist("src/torch/index.js")};
    const x = torch.keep(torch.ones([3])); // the main thread's table holds a tensor of its own meanwhile
    const run = (seed) => new Promise((resolve, reject) => {
      const w = new Worker(${JSON.stringify(worker)}, { workerData: { seed } });
      w.on("message", resolve);
      w.on("error", reject);
    });
    const results = await Promise.all([run(1), run(2)]);
    console.log(JSON.stringify({ results, mainLive: torch._native.liveHandles(), x: x.sum().item() }));
  `,
  );
  const r = spawnSync(process.execPath, [main], { encoding: "utf8", timeout: 120_000 });
  assert.equal(r.signal, null, `the process died of ${r.signal}: ${r.stderr.slice(-2000)}`);
  assert.equal(r.status, 0, r.stderr.slice(-2000));
  const { results, mainLive, x } = JSON.parse(r.stdout.trim().split("\n").pop()!);
  for (const w of results) {
    assert.equal(w.steps, 25);
    assert.ok(Number.isFinite(w.loss), `a worker's loss: ${w.loss}`);
  }
  assert.equal(x, 3, "the main thread's tensor is untouched by the workers' tables");
  assert.ok(mainLive >= 1 && mainLive < 10, `the main table holds only its own handles (${mainLive})`);
});
