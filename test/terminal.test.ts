// In a real terminal (tmux, 60 columns): the progress bar never cuts or overwrites what the Trainer
// prints: log dicts longer than the terminal wrap whole above the bar, the evaluation table stays,
// and the lines printed after training are not written over.
import "./hermetic.js";
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { repoRoot } from "./helpers.js";
import { progressBar } from "../src/util/progress.js";

const tmux = spawnSync("tmux", ["-V"]).status === 0 ? false : "tmux is not installed";

test("a training run in a 60-column terminal: every line whole, nothing overwritten", { skip: tmux }, async () => {
  const dir = mkdtempSync(join(tmpdir(), "ft-tty-"));
  const dist = (p: string) => JSON.stringify(join(repoRoot, "dist", p));
  const script = join(dir, "run.mjs");
  writeFileSync(
    script,
    `
    import { Trainer, TrainingArguments } from ${dist("src/trainer/index.js")};
    import { out, padCollator, tinyModel, toyDataset } from ${dist("test/trainer_helpers.js")};
    const args = new TrainingArguments({ outputDir: out(), perDeviceTrainBatchSize: 4, numTrainEpochs: 2, evalStrategy: "epoch", saveStrategy: "no", loggingSteps: 3 });
    const trainer = new Trainer({ model: tinyModel(), args, trainDataset: toyDataset(40, 1), evalDataset: toyDataset(8, 2), dataCollator: padCollator });
    await trainer.train();
    console.log("AFTER-TRAINING-LINE-1");
    console.log("AFTER-TRAINING-LINE-2");
  `,
  );
  const session = `ft-tty-${process.pid}`;
  spawnSync("tmux", ["kill-session", "-t", session]);
  const started = spawnSync("tmux", ["new-session", "-d", "-s", session, "-x", "60", "-y", "20", `${process.execPath} ${script}; echo EXIT=$?; sleep 60`]);
  assert.equal(started.status, 0, started.stderr?.toString());
  try {
    let screen = "";
    for (let i = 0; i < 100 && !screen.includes("EXIT="); i++) {
      await new Promise((r) => setTimeout(r, 200));
      // -J joins lines the terminal wrapped; -S - takes the scrollback too.
      screen = spawnSync("tmux", ["capture-pane", "-p", "-J", "-S", "-", "-t", session], { encoding: "utf8" }).stdout;
    }
    assert.match(screen, /EXIT=0/, screen);
    const lines = screen.split("\n").map((l) => l.trimEnd());
    const dicts = lines.filter((l) => l.startsWith("{'"));
    assert.ok(dicts.length >= 4, `log dicts seen: ${dicts.length}\n${screen}`);
    for (const d of dicts) assert.match(d, /^\{'[a-z_]+': .*\}$/, `a log line cut or broken: ${d}`);
    assert.ok(
      dicts.some((d) => d.length > 60),
      "some log lines are wider than the terminal (they wrapped and came back whole)",
    );
    assert.ok(
      dicts.some((d) => d.includes("'train_runtime'")),
      "the final metrics line is there",
    );
    assert.equal(lines.filter((l) => /^\| \d +\|/.test(l)).length, 2, "both table rows are there");
    const after = lines.findIndex((l) => l === "AFTER-TRAINING-LINE-1");
    assert.ok(after > 0 && lines[after + 1] === "AFTER-TRAINING-LINE-2", `lines printed after training are intact:\n${screen}`);
    assert.ok(
      lines.slice(0, after).some((l) => /100%\|██████████\| 20\/20/.test(l)),
      "the bar ends at 100%, above the later lines",
    );
  } finally {
    spawnSync("tmux", ["kill-session", "-t", session]);
  }
});

test("the bar's rate: '?' for an instant (a cached map), a real rate once time has passed, as tqdm", async () => {
  const written: string[] = [];
  const [isTTY, write] = [process.stderr.isTTY, process.stderr.write.bind(process.stderr)];
  Object.defineProperty(process.stderr, "isTTY", { value: true, configurable: true });
  process.stderr.write = ((s: string) => (written.push(String(s)), true)) as typeof process.stderr.write;
  try {
    const instant = progressBar("Map", 408);
    instant.update(408);
    instant.stop();
    const timed = progressBar("Map", 10);
    await new Promise((r) => setTimeout(r, 20));
    timed.update(10);
    timed.stop();
  } finally {
    process.stderr.write = write;
    Object.defineProperty(process.stderr, "isTTY", { value: isTTY, configurable: true });
  }
  const text = written.join("");
  assert.match(text, /Map: 100%\|██████████\| 408\/408 \[00:00<\?, \? examples\/s\]/);
  const rate = Number(/10\/10 \[00:00<00:00, ([\d.]+) examples\/s\]/.exec(text)?.[1]);
  assert.ok(rate > 10 && rate < 1000, `a rate from the time that passed: ${rate}`);
});
