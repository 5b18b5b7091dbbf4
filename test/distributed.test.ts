// Data parallel training on libtorch's c10d, as a person runs it: `finetune launch` starting 2 ranks
// over loopback (gloo). The Trainer on 2 processes × batch 4 equals 1 process × batch 8 (every logged
// loss, the final weights; with accumulation too); evaluation on an odd-sized set equals one process's;
// accelerate's batch sharding; a killed rank stops the launch with its name, and the run resumes on one
// process; bad rendezvous and mismatched models fail with errors that say so.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, readdirSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { _native } from "../src/torch/index.js";
import { freePort, initProcessGroup, destroyProcessGroup } from "../src/distributed/index.js";
import { shardBatches, shardPadding } from "../src/trainer/batch_shard.js";
import { fixture, repoRoot, needs } from "./helpers.js";
import { normalizeArgv } from "../src/cli/finetune.js";

const skip = needs("c10d", _native.distributedBuilt, "the addon was built without c10d (libgloo-dev missing when it was built)");
const shared = join(repoRoot, "..", "shared", "data");
const noShared = needs("shared", existsSync(join(shared, "models", "bert-base-cased")), "../shared/data is absent");
const cli = join(repoRoot, "dist", "src", "cli", "finetune.js");
const dist = (p: string) => JSON.stringify(join(repoRoot, "dist", "src", p));

/**
 * The program each rank runs (also alone, as the one-process reference): a tiny BERT (dropout 0) on
 * a generated task through the Trainer; rank 0 writes the log history, the final weights and the
 * evaluation's predictions and metrics to OUT.
 */
const PROGRAM = `
import { writeFileSync } from "node:fs";
import * as torch from ${dist("torch/index.js")};
import { Dataset } from ${dist("datasets/index.js")};
import { AutoModelForSequenceClassification } from ${dist("models/index.js")};
import { Trainer, TrainingArguments, TrainerCallback } from ${dist("trainer/index.js")};
const env = process.env;
if (env.PID_DIR) writeFileSync(env.PID_DIR + "/pid" + env.RANK, String(process.pid));
const rows = (n, seed) => {
  torch.manualSeed(seed);
  const ids = torch.randint(2, 30, [n, 10]).toArray();
  return Dataset.fromDict({ input_ids: ids, attention_mask: ids.map((r) => r.map(() => 1)), label: ids.map((r) => (r[1] > r[2] ? 1 : 0)) });
};
torch.manualSeed(7);
const hidden = env.HIDDEN_ON_RANK_1 && env.RANK === "1" ? Number(env.HIDDEN_ON_RANK_1) : 16;
const model = AutoModelForSequenceClassification.fromConfig({ model_type: "bert", vocab_size: 32, hidden_size: hidden, num_hidden_layers: 2, num_attention_heads: 2,
  intermediate_size: 32, max_position_embeddings: 16, hidden_dropout_prob: 0, attention_probs_dropout_prob: 0 });
const args = new TrainingArguments({ outputDir: env.OUTPUT_DIR, perDeviceTrainBatchSize: Number(env.BATCH), gradientAccumulationSteps: Number(env.GA ?? 1),
  perDeviceEvalBatchSize: Number(env.EVAL_BATCH ?? 4), numTrainEpochs: Number(env.EPOCHS ?? 2), learningRate: 5e-3, warmupSteps: 2, loggingSteps: 1,
  saveStrategy: env.SAVE_STEPS ? "steps" : "no", saveSteps: Number(env.SAVE_STEPS ?? 500), disableTqdm: true, optim: "adamw_torch", useCpu: true,
  includeNumInputTokensSeen: true });
class Kill extends TrainerCallback {
  onStepEnd(_a, state) { if (env.KILL_RANK === env.RANK && state.global_step === Number(env.KILL_AT)) process.kill(process.pid, "SIGKILL"); }
}
const computeMetrics = ({ predictions, labelIds }) => {
  const p = predictions.argmax(-1).toArray(), l = labelIds.toArray();
  return { accuracy: p.filter((x, i) => x === l[i]).length / l.length, n: l.length };
};
const trainer = new Trainer({ model, args, trainDataset: rows(Number(env.N_TRAIN ?? 64), 1), callbacks: [new Kill()], computeMetrics });
const out = await trainer.train({ resumeFromCheckpoint: env.RESUME === "1" ? true : null });
const pred = await trainer.predict(rows(Number(env.N_EVAL ?? 21), 2));
if (trainer.processIndex === 0) writeFileSync(env.OUT, JSON.stringify({
  world: trainer.worldSize, globalStep: out.globalStep, metrics: out.metrics,
  losses: trainer.state.log_history.filter((e) => "loss" in e).map((e) => e.loss),
  gradNorms: trainer.state.log_history.filter((e) => "grad_norm" in e).map((e) => e.grad_norm),
  tokensSeen: trainer.state.log_history.map((e) => e.num_input_tokens_seen),
  params: [...model.parameters()].map((p) => Array.from(p.detach().contiguous().dataSync())),
  predictions: pred.predictions.toArray(), testMetrics: pred.metrics,
}));
`;

interface Result {
  world: number;
  globalStep: number;
  metrics: Record<string, number>;
  losses: number[];
  gradNorms: number[];
  tokensSeen: number[];
  params: number[][];
  predictions: number[][];
  testMetrics: Record<string, number>;
}

function run(nproc: number, env: Record<string, string>): { status: number | null; stderr: string; stdout: string; result?: Result; elapsed: number } {
  const dir = mkdtempSync(join(tmpdir(), "ft-ddp-"));
  const out = join(dir, "out.json");
  const node = [process.execPath, "--input-type=module", "-e", PROGRAM];
  const cmd = nproc > 1 ? [cli, "launch", "--nproc-per-node", String(nproc), "--", ...node] : node.slice(1);
  const t = performance.now();
  const r = spawnSync(process.execPath, cmd, { encoding: "utf8", env: { ...process.env, OUTPUT_DIR: join(dir, "run"), OUT: out, ...env }, timeout: 240_000 });
  const elapsed = (performance.now() - t) / 1000;
  return {
    status: r.status,
    stderr: r.stderr,
    stdout: r.stdout,
    elapsed,
    result: existsSync(out) ? (JSON.parse(readFileSync(out, "utf8")) as Result) : undefined,
  };
}

const maxDiff = (a: number[], b: number[]) => a.reduce((m, v, i) => Math.max(m, Math.abs(v - b[i])), 0);

function assertSameRun(two: Result, one: Result, what: string): string {
  assert.equal(two.world, 2);
  assert.equal(one.world, 1);
  assert.equal(two.globalStep, one.globalStep, `${what}: optimizer steps`);
  assert.equal(two.losses.length, one.losses.length);
  const dl = maxDiff(two.losses, one.losses);
  const dg = maxDiff(two.gradNorms, one.gradNorms);
  const dp = Math.max(...two.params.map((p, i) => maxDiff(p, one.params[i])));
  assert.ok(dl <= 1e-5, `${what}: logged losses differ by ${dl}`);
  assert.ok(dg <= 1e-5, `${what}: grad norms differ by ${dg}`);
  assert.ok(dp <= 1e-5, `${what}: final parameters differ by ${dp}`);
  // HF's include_num_input_tokens_seen: every rank's tokens summed, in every log entry (10 ids a row).
  assert.deepEqual(two.tokensSeen, one.tokensSeen, `${what}: num_input_tokens_seen in each log entry`);
  assert.equal(two.tokensSeen.at(-1), 64 * 10 * 2, `${what}: all epochs' tokens`);
  return `${what}: max |Δloss| ${dl.toExponential(1)}, |Δgrad_norm| ${dg.toExponential(1)}, |Δparam| ${dp.toExponential(1)}`;
}

test("torchrun's --snake_case options are ours to rewrite; the program's arguments after -- are left as they are", () => {
  assert.deepEqual(normalizeArgv(["node", "finetune", "launch", "--nproc_per_node", "2", "--", "prog.js", "--my_flag", "x_y"]), [
    "node",
    "finetune",
    "launch",
    "--nproc-per-node",
    "2",
    "--",
    "prog.js",
    "--my_flag",
    "x_y",
  ]);
});

test("accelerate's BatchSamplerShard: even batches completed from the first rows, dropLast drops the last round", () => {
  const batches = (n: number, b: number) =>
    Array.from({ length: Math.ceil(n / b) }, (_, k) => Int32Array.from({ length: Math.min(b, n - k * b) }, (_, i) => k * b + i));
  const shard = (n: number, r: number, drop = false) =>
    shardBatches(
      batches(n, 3).filter((b) => !drop || b.length === 3),
      3,
      2,
      r,
      drop,
    ).map((b) => Array.from(b));
  // 21 rows in batches of 3: 7 batches, the 8th of rank 1 is the first batch again.
  assert.deepEqual(shard(21, 0), [
    [0, 1, 2],
    [6, 7, 8],
    [12, 13, 14],
    [18, 19, 20],
  ]);
  assert.deepEqual(shard(21, 1), [
    [3, 4, 5],
    [9, 10, 11],
    [15, 16, 17],
    [0, 1, 2],
  ]);
  // 22: the short last batch [21] is completed with 0, 1.
  assert.deepEqual(shard(22, 1), [
    [3, 4, 5],
    [9, 10, 11],
    [15, 16, 17],
    [21, 0, 1],
  ]);
  // 20: [18, 19] completed with 0 on rank 0, and rank 1 gets the next rows 1, 2, 3.
  assert.deepEqual(shard(20, 0).at(-1), [18, 19, 0]);
  assert.deepEqual(shard(20, 1).at(-1), [1, 2, 3]);
  // Fewer rows than one round: repeated.
  assert.deepEqual([shard(2, 0), shard(2, 1)], [[[0, 1, 0]], [[1, 0, 1]]]);
  assert.deepEqual(shard(22, 1, true), [
    [3, 4, 5],
    [9, 10, 11],
    [15, 16, 17],
  ]);
  assert.equal(shardPadding(21, 4, 2), 3);
  assert.equal(shardPadding(24, 4, 2), 0);
});

test(
  "Trainer on 2 ranks × batch 4 (gloo) = 1 process × batch 8: logged losses, grad norms, final weights; with accumulation 2 too",
  { skip, timeout: 300_000 },
  (t) => {
    for (const ga of ["1", "2"]) {
      const two = run(2, { BATCH: "4", GA: ga });
      assert.equal(two.status, 0, two.stderr);
      const one = run(1, { BATCH: "8", GA: ga });
      assert.equal(one.status, 0, one.stderr);
      t.diagnostic(assertSameRun(two.result!, one.result!, `accumulation ${ga}`));
      // Speed counts the samples of every rank, as HF's: the same examples × epochs in both runs.
      assert.equal(Math.round(two.result!.metrics.train_samples_per_second * two.result!.metrics.train_runtime), 64 * 2);
      // The launcher says how the ranks split the cores, which is what their thread setup does.
      assert.match(two.stderr, /finetune launch: each of the 2 local ranks uses \d+ of the \d+ cores; set OMP_NUM_THREADS \(or FINETUNE_THREADS\) to choose/);
      assert.doesNotMatch(two.stderr, /Setting OMP_NUM_THREADS/);
      // Only rank 0 speaks: one training block of log lines, not two.
      assert.equal(two.stderr.match(/'train_runtime'/g)?.length, 1, two.stderr);
    }
  },
);

test(
  "DDP broadcasts the whole state dict at wrap time: a frozen part initialised differently on each rank ends equal to rank 0's",
  { skip, timeout: 120_000 },
  () => {
    const dir = mkdtempSync(join(tmpdir(), "ft-ddp-frozen-"));
    const program = `
import { writeFileSync } from "node:fs";
import * as torch from ${dist("torch/index.js")};
import { AutoModelForSequenceClassification } from ${dist("models/index.js")};
import { initProcessGroup, DistributedDataParallel } from ${dist("distributed/index.js")};
initProcessGroup({ backend: "gloo" });
torch.manualSeed(100 + Number(process.env.RANK));
const model = AutoModelForSequenceClassification.fromConfig({ model_type: "bert", vocab_size: 32, hidden_size: 16, num_hidden_layers: 1, num_attention_heads: 2, intermediate_size: 32, max_position_embeddings: 16 });
for (const [name, p] of model.namedParameters()) if (name.includes("embeddings")) p.requiresGrad = false;
const ddp = new DistributedDataParallel(model);
const state = Object.fromEntries([...model.namedParameters()].map(([n, p]) => [n, Array.from(p.detach().contiguous().dataSync())]));
writeFileSync(${JSON.stringify(dir)} + "/rank" + process.env.RANK + ".json", JSON.stringify(state));
ddp.destroy();
`;
    const r = spawnSync(process.execPath, [cli, "launch", "--nproc-per-node", "2", "--", process.execPath, "--input-type=module", "-e", program], {
      encoding: "utf8",
      timeout: 100_000,
    });
    assert.equal(r.status, 0, r.stderr);
    const [a, b] = [0, 1].map((k) => JSON.parse(readFileSync(join(dir, `rank${k}.json`), "utf8")) as Record<string, number[]>);
    const frozen = Object.keys(a).filter((n) => n.includes("embeddings"));
    assert.ok(frozen.length >= 3, "the embeddings are frozen");
    for (const n of Object.keys(a)) assert.deepEqual(b[n], a[n], `${n}${frozen.includes(n) ? " (frozen)" : ""}: rank 1 holds rank 0's values`);
  },
);

test("evaluation on 2 ranks of a set of odd size (21 rows, batch 4) gives exactly the one-process predictions and metrics", { skip, timeout: 300_000 }, () => {
  const two = run(2, { BATCH: "4", EPOCHS: "1", N_EVAL: "21" });
  const one = run(1, { BATCH: "8", EPOCHS: "1", N_EVAL: "21" });
  assert.equal(two.status, 0, two.stderr);
  assert.equal(one.status, 0, one.stderr);
  assert.equal(two.result!.predictions.length, 21, "the rows that completed the last round are dropped");
  assert.ok(Math.max(...two.result!.predictions.map((row, i) => maxDiff(row, one.result!.predictions[i]))) <= 1e-5);
  assert.equal(two.result!.testMetrics.test_accuracy, one.result!.testMetrics.test_accuracy);
  assert.equal(two.result!.testMetrics.test_n, 21);
});

test(
  "a rank killed mid-run: the launcher stops the other, exits non-zero naming it; one process resumes the checkpoint and finishes",
  { skip, timeout: 300_000 },
  () => {
    const dir = mkdtempSync(join(tmpdir(), "ft-ddp-kill-"));
    const env = { BATCH: "4", EPOCHS: "2", SAVE_STEPS: "4", KILL_RANK: "1", KILL_AT: "6", OUTPUT_DIR: join(dir, "run") };
    const killed = run(2, env);
    assert.notEqual(killed.status, 0);
    assert.match(killed.stderr, /finetune launch: rank 1 \(local rank 1, pid \d+\) was killed by SIGKILL; stopping the other ranks/);
    assert.ok(killed.elapsed < 120, `the launch ended ${killed.elapsed.toFixed(0)} s after starting`);
    // The checkpoint of step 4 is whole (both ranks' RNG files); none of step 8 was started.
    assert.deepEqual(
      readdirSync(join(dir, "run")).filter((d) => d.startsWith("checkpoint-")),
      ["checkpoint-4"],
    );
    assert.deepEqual(
      readdirSync(join(dir, "run", "checkpoint-4"))
        .filter((f) => f.startsWith("rng_state"))
        .sort(),
      ["rng_state_0.safetensors", "rng_state_1.safetensors"],
    );
    const resumed = run(1, { ...env, BATCH: "8", KILL_RANK: "none", RESUME: "1" });
    assert.equal(resumed.status, 0, resumed.stderr);
    assert.equal(resumed.result!.globalStep, 16);
    assert.match(
      resumed.stderr,
      /Didn't find an RNG file in .*checkpoint-4: if you are resuming a training that was launched in a distributed fashion, reproducibility is not guaranteed/,
    );
  },
);

/** Whether a process is gone (a zombie awaiting its reaper counts as gone). */
function gone(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return true;
  }
  try {
    return readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]?.startsWith("Z") ?? false;
  } catch {
    return true;
  }
}

test(
  "the launcher killed with SIGKILL leaves no rank behind (each notices and stops within 10 s, releasing the output-dir lock); SIGHUP stops the ranks as torchrun",
  { skip, timeout: 120_000 },
  async () => {
    for (const sig of ["SIGKILL", "SIGHUP"] as const) {
      const dir = mkdtempSync(join(tmpdir(), "ft-ddp-orphans-"));
      const env = { ...process.env, BATCH: "4", EPOCHS: "200", N_TRAIN: "64", PID_DIR: dir, OUTPUT_DIR: join(dir, "run"), OUT: join(dir, "out.json") };
      const launcher = spawn(process.execPath, [cli, "launch", "--nproc-per-node", "2", "--", process.execPath, "--input-type=module", "-e", PROGRAM], {
        env,
        stdio: "ignore",
      });
      const lock = join(dir, "run", ".finetune-ts.lock");
      const deadline = Date.now() + 60_000;
      while (!(existsSync(join(dir, "pid0")) && existsSync(join(dir, "pid1")) && existsSync(lock)) && Date.now() < deadline)
        await new Promise((r) => setTimeout(r, 100));
      assert.ok(existsSync(lock), "training started (the output dir is locked)");
      const pids = [0, 1].map((r) => Number(readFileSync(join(dir, `pid${r}`), "utf8")));
      launcher.kill(sig);
      const killedAt = Date.now();
      while (!pids.every(gone) && Date.now() - killedAt < 10_000) await new Promise((r) => setTimeout(r, 100));
      const left = pids.filter((p) => !gone(p));
      for (const p of left) process.kill(p, "SIGKILL");
      assert.deepEqual(left, [], `${sig} to the launcher: ranks still running after 10 s`);
      assert.ok(!existsSync(lock), `${sig}: the output-dir lock was released`);
    }
  },
);

test(
  "a one-node launch listens on nothing beyond loopback: the ranks meet through a rendezvous file, gloo on the loopback interface",
  { skip, timeout: 120_000 },
  () => {
    const dir = mkdtempSync(join(tmpdir(), "ft-ddp-lo-"));
    const program = `
import { readdirSync, readlinkSync, readFileSync, writeFileSync } from "node:fs";
import * as torch from ${dist("torch/index.js")};
import { initProcessGroup, barrier, allReduce } from ${dist("distributed/index.js")};
initProcessGroup({ backend: "gloo" });
const t = torch.ones([4]);
allReduce(t);
// This process's sockets (their inodes), found in the kernel's TCP tables with their local address and state.
const inodes = new Set(readdirSync("/proc/self/fd").map((fd) => { try { return readlinkSync("/proc/self/fd/" + fd); } catch { return ""; } }).map((l) => /^socket:\\[(\\d+)\\]$/.exec(l)?.[1]).filter(Boolean));
const sockets = [];
for (const table of ["/proc/net/tcp", "/proc/net/tcp6"]) {
  for (const line of readFileSync(table, "utf8").trim().split("\\n").slice(1)) {
    const f = line.trim().split(/\\s+/);
    if (inodes.has(f[9])) sockets.push({ local: f[1].split(":")[0], state: f[3] });
  }
}
writeFileSync(${JSON.stringify(dir)} + "/rank" + process.env.RANK + ".json", JSON.stringify({ sum: t.toArray(), sockets, env: { store: process.env.FINETUNE_RENDEZVOUS_FILE ?? null, ifname: process.env.GLOO_SOCKET_IFNAME ?? null } }));
barrier();
`;
    const r = spawnSync(process.execPath, [cli, "launch", "--nproc-per-node", "2", "--", process.execPath, "--input-type=module", "-e", program], {
      encoding: "utf8",
      timeout: 100_000,
    });
    assert.equal(r.status, 0, r.stderr);
    // 127.0.0.1 in /proc/net/tcp, and ::1 or ::ffff:127.0.0.1 in tcp6.
    const loopback = new Set(["0100007F", "00000000000000000000000001000000", "0000000000000000FFFF00000100007F"]);
    for (const k of [0, 1]) {
      const got = JSON.parse(readFileSync(join(dir, `rank${k}.json`), "utf8")) as {
        sum: number[];
        sockets: { local: string; state: string }[];
        env: { store: string | null; ifname: string | null };
      };
      assert.deepEqual(got.sum, [2, 2, 2, 2], "the collective ran");
      assert.ok(got.env.store && got.env.ifname, `rank ${k}: a rendezvous file and the loopback interface (${JSON.stringify(got.env)})`);
      assert.ok(got.sockets.length > 0, `rank ${k}: gloo's sockets were found`);
      for (const s of got.sockets) assert.ok(loopback.has(s.local), `rank ${k}: a socket on ${s.local} (state ${s.state}) is not on loopback`);
      assert.ok(!got.sockets.some((s) => s.state === "0A" && !loopback.has(s.local)), "nothing listens beyond loopback");
    }
    assert.ok(!existsSync(dirname(JSON.parse(readFileSync(join(dir, "rank0.json"), "utf8")).env.store)), "the rendezvous folder is removed after the launch");
  },
);

/** Starts a process and resolves with its exit code and stderr. */
function start(args: string[], env: Record<string, string>): Promise<{ status: number | null; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, args, { env: { ...process.env, ...env }, stdio: ["ignore", "ignore", "pipe"] });
    let stderr = "";
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    child.on("exit", (status) => resolve({ status, stderr }));
  });
}

test(
  "torchrun's contract without the launcher (as torchrun, SLURM or a PyTorchJob start ranks), and two nodes' launchers meeting at one master",
  { skip, timeout: 300_000 },
  async (t) => {
    const reference = run(2, { BATCH: "4", EPOCHS: "1" });
    assert.equal(reference.status, 0, reference.stderr);
    const program = ["--input-type=module", "-e", PROGRAM];
    const common = { BATCH: "4", EPOCHS: "1", WORLD_SIZE: "2", LOCAL_WORLD_SIZE: "1", MASTER_ADDR: "127.0.0.1", OMP_NUM_THREADS: "1" };

    // Two processes given the variables directly, each as rank 0 of its own "node".
    const dir = mkdtempSync(join(tmpdir(), "ft-ddp-env-"));
    let port = String(await freePort());
    const env = (rank: number) => ({
      ...common,
      RANK: String(rank),
      LOCAL_RANK: "0",
      GROUP_RANK: String(rank),
      MASTER_PORT: port,
      OUTPUT_DIR: join(dir, "run"),
      OUT: join(dir, "out.json"),
    });
    const direct = await Promise.all([start(program, env(0)), start(program, env(1))]);
    direct.forEach((r, i) => assert.equal(r.status, 0, `rank ${i}: ${r.stderr}`));
    const viaEnv = JSON.parse(readFileSync(join(dir, "out.json"), "utf8")) as Result;
    assert.deepEqual(viaEnv.losses, reference.result!.losses);

    // Two launchers, --nnodes 2, one process each, meeting at node 0's master port.
    const dir2 = mkdtempSync(join(tmpdir(), "ft-ddp-nodes-"));
    port = String(await freePort());
    const node = (rank: number) =>
      start(
        [
          cli,
          "launch",
          "--nnodes",
          "2",
          "--node-rank",
          String(rank),
          "--nproc-per-node",
          "1",
          "--master-addr",
          "127.0.0.1",
          "--master-port",
          port,
          "--",
          process.execPath,
          ...program,
        ],
        { BATCH: "4", EPOCHS: "1", OUTPUT_DIR: join(dir2, "run"), OUT: join(dir2, "out.json") },
      );
    const nodes = await Promise.all([node(0), node(1)]);
    nodes.forEach((r, i) => assert.equal(r.status, 0, `node ${i}: ${r.stderr}`));
    const viaNodes = JSON.parse(readFileSync(join(dir2, "out.json"), "utf8")) as Result;
    assert.deepEqual(viaNodes.losses, reference.result!.losses);
    t.diagnostic(`${viaNodes.losses.length} logged losses equal to the one-launcher run, both ways`);
  },
);

test(
  "Ctrl-C to `finetune launch -- train`: every rank finishes the step, one checkpoint with both RNG files, exit 130, a resume command through the launcher",
  { skip: skip || noShared, timeout: 300_000 },
  async () => {
    const dir = mkdtempSync(join(tmpdir(), "ft-ddp-int-"));
    const words = ["cat", "dog", "bird", "fish", "tree", "car", "house", "river"];
    const csv = join(dir, "train.csv");
    writeFileSync(
      csv,
      ["sentence1,sentence2,label", ...Array.from({ length: 400 }, (_, i) => `${words[i % 8]} and ${words[(i * 3) % 8]},${words[(i + 1) % 8]},${i % 2}`)].join(
        "\n",
      ) + "\n",
    );
    const out = join(dir, "out");
    const child = spawn(
      process.execPath,
      [
        cli,
        "launch",
        "--nproc-per-node",
        "2",
        "--",
        "train",
        "--model",
        fixture("golden", "trainer", "tiny-bert-cased"),
        "--tokenizer",
        join(shared, "models", "bert-base-cased"),
        "--train-file",
        csv,
        "--output-dir",
        out,
        "--num-train-epochs",
        "200",
        "--logging-steps",
        "5",
        "--disable-tqdm",
      ],
      { env: { ...process.env, HF_DATASETS_CACHE: join(dir, "cache") }, stdio: ["ignore", "ignore", "pipe"] },
    );
    let stderr = "";
    const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
    await new Promise<void>((resolve) =>
      child.stderr.on("data", (d: Buffer) => {
        stderr += d.toString();
        if (/'loss'/.test(stderr)) resolve();
      }),
    );
    child.kill("SIGINT");
    assert.equal(await exited, 130, stderr);
    assert.equal(stderr.match(/Interrupted: finishing the current step/g)?.length, 1, `rank 0 alone says it:\n${stderr}`);
    const m = /Checkpoint saved to (\S+checkpoint-(\d+))\./.exec(stderr);
    assert.ok(m, stderr);
    assert.deepEqual(
      readdirSync(m[1])
        .filter((f) => f.startsWith("rng_state"))
        .sort(),
      ["rng_state_0.safetensors", "rng_state_1.safetensors"],
    );
    assert.match(
      stderr,
      new RegExp(`Resume with:\\n  finetune launch --nproc-per-node 2 -- train .*--resume-from-checkpoint ${m[1].replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}`),
    );
    assert.doesNotMatch(stderr, /stopping the other ranks/);
  },
);

test("bad rendezvous and mismatched models fail with errors that name the rank, the master and the cause", { skip, timeout: 120_000 }, async () => {
  // A master nobody serves: rank 1 gives up after the timeout, naming where it looked.
  const port = await freePort();
  const t = performance.now();
  assert.throws(
    () => initProcessGroup({ backend: "gloo", rank: 1, worldSize: 2, timeout: 2000 }, { MASTER_ADDR: "127.0.0.1", MASTER_PORT: String(port) }),
    new RegExp(`rank 1 of 2: cannot reach the master at 127\\.0\\.0\\.1:${port} within 2 s \\(MASTER_ADDR/MASTER_PORT\\)`),
  );
  assert.ok(performance.now() - t < 30_000);
  destroyProcessGroup();
  assert.throws(() => initProcessGroup({}, {}), /env:\/\/ needs MASTER_ADDR, MASTER_PORT, RANK, WORLD_SIZE/);
  assert.throws(() => initProcessGroup({}, { MASTER_ADDR: "h", MASTER_PORT: "29500", RANK: "2", WORLD_SIZE: "2" }), /RANK 2 is not below WORLD_SIZE 2/);
  assert.throws(() => initProcessGroup({ initMethod: "udp://x:1" }), /initMethod must be "env:\/\/", "tcp:\/\/host:port" or "file:\/\/\/path"/);
  assert.throws(
    () => initProcessGroup({ backend: "nccl" }, { MASTER_ADDR: "h", MASTER_PORT: "1", RANK: "0", WORLD_SIZE: "1" }),
    /nccl backend needs a CUDA build of libtorch/,
  );

  // A collective a rank does not reach in time: the waiting rank says whom it waited for.
  const stall = spawnSync(
    process.execPath,
    [
      cli,
      "launch",
      "--nproc-per-node",
      "2",
      "--",
      process.execPath,
      "--input-type=module",
      "-e",
      `
    import * as torch from ${dist("torch/index.js")};
    import { initProcessGroup, getRank, allReduce } from ${dist("distributed/index.js")};
    initProcessGroup({ timeout: 2000 });
    if (getRank() === 1) { const end = Date.now() + 6000; while (Date.now() < end); }
    allReduce(torch.tensor([1]));`,
    ],
    { encoding: "utf8", timeout: 60_000 },
  );
  assert.notEqual(stall.status, 0);
  assert.match(stall.stderr, /rank 0 of 2: all_reduce failed: .*Timed out.*\(waiting for rank 1: one of them did not reach this collective within the timeout/);

  // Rank 1's model is wider: c10d's verify, at wrap time, on both ranks.
  const mismatch = run(2, { BATCH: "4", HIDDEN_ON_RANK_1: "8" });
  assert.notEqual(mismatch.status, 0);
  assert.match(mismatch.stderr, /rank [01] of 2: DistributedDataParallel failed: .*(shape|size|param)/i);
  assert.match(mismatch.stderr, /finetune launch: rank [01] .* exited with code 1/);
});
