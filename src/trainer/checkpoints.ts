// The Trainer's files on disk (HF's _save_checkpoint, _rotate_checkpoints, _load_from_checkpoint,
// _load_rng_state): checkpoint folders written whole under a temporary name and renamed, their
// rotation, the output dir's lock and the refusal to mix runs, what a killed run left behind, the
// RNG files, and the optimizer/schedule/scaler state read back with each file named in its errors.
import { existsSync, mkdirSync, readdirSync, renameSync, rmSync, statSync } from "node:fs";
import { join } from "node:path";
import * as torch from "../torch/index.js";
import type { Tensor } from "../torch/index.js";
import { loadOptimizerState, saveOptimizerState, type GradScaler, type LambdaLR, type Optimizer } from "../optim/index.js";
import type { PreTrainedModel } from "../models/index.js";
import type { PreTrainedTokenizer } from "../tokenizers/index.js";
import { readJsonObject, writeJsonAtomic } from "../util/files.js";
import { LockedError, alive, tryLock, type FileLock } from "../util/file_lock.js";
import type { TrainingArguments } from "./training_args.js";
import type { TrainerState } from "./trainer_callback.js";

export const CHECKPOINT = /^checkpoint-(\d+)$/;
export const FILES = {
  state: "trainer_state.json",
  args: "training_args.json",
  optimizer: "optimizer.safetensors",
  scheduler: "scheduler.json",
  scaler: "scaler.json",
  rng: "rng_state.safetensors",
};
/** Held in the output dir while a run trains there: a second run is refused instead of mixing checkpoints. */
export const LOCK_FILE = ".finetune-ts.lock";
const MODEL_FILES = [
  "model.safetensors",
  "model.safetensors.index.json",
  "pytorch_model.bin",
  "config.json",
  "adapter_model.safetensors",
  "adapter_config.json",
];
/** What a run stages before renaming: a checkpoint folder (tmp-checkpoint-N-<pid> or -ddp) and atomic writes (<file>.tmp-<pid>-…). */
const STAGED_FOLDER = /^tmp-checkpoint-\d+-(\d+|ddp)$/;
const STAGED_FILE = /\.tmp-(\d+)-\d+(-\d+)?$/;

export function checkpointDir(outputDir: string, step: number): string {
  return join(outputDir, `checkpoint-${step}`);
}

/** The checkpoint of the highest step in outputDir, or null. */
export function latestCheckpoint(outputDir: string): string | null {
  if (!existsSync(outputDir)) return null;
  const steps = readdirSync(outputDir)
    .map((d) => CHECKPOINT.exec(d))
    .filter((m): m is RegExpExecArray => !!m)
    .map((m) => Number(m[1]));
  return steps.length ? checkpointDir(outputDir, Math.max(...steps)) : null;
}

/** Takes the output dir's lock, or says which run holds it. */
export function lockOutputDir(dir: string, print: (line: string) => void): FileLock {
  try {
    return tryLock(join(dir, LOCK_FILE), (m) => print(`warning: ${m}`));
  } catch (e) {
    if (e instanceof LockedError)
      throw new Error(
        `Another training run is using the output dir ${dir}: ${e.message}. Two runs in one output dir would mix their checkpoints; give this one its own outputDir.`,
      );
    throw e;
  }
}

/** A run from scratch does not write over an earlier run's checkpoints or model unless overwriteOutputDir says so. */
export function refuseEarlierRun(dir: string, overwrite: boolean, print: (line: string) => void): void {
  const checkpoints = readdirSync(dir)
    .filter((d) => CHECKPOINT.test(d))
    .sort();
  const model = MODEL_FILES.filter((f) => existsSync(join(dir, f)));
  if (!checkpoints.length && !model.length) return;
  if (!overwrite) {
    const listed = `${checkpoints.slice(0, 3).join(", ")}${checkpoints.length > 3 ? ", …" : ""}`;
    const what = [
      checkpoints.length ? `${checkpoints.length} checkpoint${checkpoints.length > 1 ? "s" : ""} (${listed})` : "",
      model.length ? `a saved model (${model.join(", ")})` : "",
    ]
      .filter(Boolean)
      .join(" and ");
    throw new Error(
      `Output directory (${dir}) already holds ${what} of an earlier run. Resume it with resumeFromCheckpoint: true (--resume-from-checkpoint true), ` +
        `train from scratch over it with overwriteOutputDir: true (--overwrite-output-dir), or choose another outputDir.`,
    );
  }
  // A run from scratch must not mix its checkpoints with the old run's (resume would pick those).
  for (const c of checkpoints) rmSync(join(dir, c), { recursive: true, force: true });
  if (checkpoints.length) print(`overwrite_output_dir: removed ${checkpoints.length} checkpoint(s) of the earlier run in ${dir}`);
}

function sizeOf(path: string): number {
  const st = statSync(path);
  if (!st.isDirectory()) return st.size;
  return readdirSync(path).reduce((n, f) => n + sizeOf(join(path, f)), 0);
}

/**
 * Removes what a killed run staged and never renamed: checkpoint folders (tmp-checkpoint-N-<pid>,
 * tmp-checkpoint-N-ddp) and atomic writes' temporary files (<name>.tmp-<pid>-…) in the output dir and
 * its checkpoints, when the process that wrote them is gone. Called by a run that holds the output
 * dir's lock, so nothing else writes there. Says what it removed.
 */
export function removeLeftovers(outputDir: string, print: (line: string) => void): void {
  if (!existsSync(outputDir)) return;
  const removed: string[] = [];
  let bytes = 0;
  const sweep = (dir: string, folders: boolean) => {
    for (const name of readdirSync(dir)) {
      const path = join(dir, name);
      const folder = folders ? STAGED_FOLDER.exec(name) : null;
      const file = STAGED_FILE.exec(name);
      const pid = folder ? (folder[1] === "ddp" ? null : Number(folder[1])) : file ? Number(file[1]) : undefined;
      if (pid === undefined || (pid !== null && (pid === process.pid || alive(pid)))) continue;
      bytes += sizeOf(path);
      rmSync(path, { recursive: true, force: true });
      removed.push(name);
    }
  };
  sweep(outputDir, true);
  for (const d of readdirSync(outputDir)) if (CHECKPOINT.test(d) && statSync(join(outputDir, d)).isDirectory()) sweep(join(outputDir, d), false);
  if (removed.length) print(`Removed what an interrupted run left in ${outputDir} (${(bytes / 2 ** 20).toFixed(1)} MiB): ${removed.join(", ")}`);
}

/** The RNG file of a process: rng_state for one process, rng_state_<rank> under DDP (as HF's). */
export function rngFile(dir: string, worldSize: number, processIndex: number): string {
  return join(dir, worldSize > 1 ? FILES.rng.replace(".safetensors", `_${processIndex}.safetensors`) : FILES.rng);
}

export function saveRngState(file: string): void {
  const rng = new Map<string, Tensor>([["cpu", torch.getRngState()]]);
  for (let d = 0; d < torch.cuda.deviceCount(); d++) rng.set(`cuda:${d}`, torch.getRngState(`cuda:${d}`));
  try {
    torch.saveFile(rng, file);
  } finally {
    torch.dispose([...rng.values()]);
  }
}

/** Restores the generators from an RNG file; false when there is none. */
export function loadRngState(file: string): boolean {
  if (!existsSync(file)) return false;
  const rng = torch.loadFile(file);
  for (const [device, s] of rng) if (device === "cpu" || torch.cuda.isAvailable()) torch.setRngState(s, device);
  torch.dispose(rng);
  return true;
}

export interface CheckpointParts {
  model: PreTrainedModel;
  tokenizer?: PreTrainedTokenizer;
  /** Absent with saveOnlyModel. */
  training: { optimizer: Optimizer; scheduler: LambdaLR; scaler: GradScaler | null; rngFile: string } | null;
  state: TrainerState;
  args: TrainingArguments;
}

/** Writes a checkpoint's files into the staging folder `tmp` (made anew); on failure the folder is removed and the error names the checkpoint. */
export function writeCheckpointFiles(tmp: string, final: string, p: CheckpointParts): void {
  rmSync(tmp, { recursive: true, force: true });
  mkdirSync(tmp, { recursive: true });
  try {
    p.model.savePretrained(tmp);
    p.tokenizer?.savePretrained(tmp);
    if (p.training) {
      saveOptimizerState(p.training.optimizer, join(tmp, FILES.optimizer));
      writeJsonAtomic(join(tmp, FILES.scheduler), p.training.scheduler.stateDict());
      if (p.training.scaler) writeJsonAtomic(join(tmp, FILES.scaler), p.training.scaler.stateDict());
      saveRngState(p.training.rngFile);
    }
    writeJsonAtomic(join(tmp, FILES.state), p.state.toJSON());
    writeJsonAtomic(join(tmp, FILES.args), p.args.toJSON());
  } catch (e) {
    rmSync(tmp, { recursive: true, force: true });
    throw new Error(`saving checkpoint ${final} failed: ${(e as Error).message}`);
  }
}

/** Renames a whole staged checkpoint into place (a checkpoint of the same step is replaced). */
export function renameIntoPlace(tmp: string, final: string): void {
  try {
    rmSync(final, { recursive: true, force: true });
    renameSync(tmp, final);
  } catch (e) {
    rmSync(tmp, { recursive: true, force: true });
    throw new Error(`saving checkpoint ${final} failed: ${(e as Error).message}`);
  }
}

/** Keeps at most `limit` checkpoints, oldest deleted first, never the best one nor one still uploading. */
export function rotateCheckpoints(outputDir: string, limit: number | null, best: string | null, busy: ReadonlySet<string>): void {
  if (limit === null) return;
  const all = readdirSync(outputDir)
    .map((d) => CHECKPOINT.exec(d))
    .filter((m): m is RegExpExecArray => !!m)
    .map((m) => ({ step: Number(m[1]), path: join(outputDir, m[0]) }))
    .sort((a, b) => a.step - b.step);
  // With a best model and a limit of 1, HF keeps 2 so the last checkpoint survives too.
  const keep = best && limit === 1 && all.at(-1)?.path !== best ? 2 : limit;
  let excess = all.length - keep;
  for (const c of all) {
    if (excess <= 0) break;
    if (c.path === best || busy.has(c.path)) continue;
    rmSync(c.path, { recursive: true, force: true });
    excess--;
  }
}

/**
 * The optimizer's, the schedule's and the scaler's state from a checkpoint. Without either of the
 * first two (saveOnlyModel) training restarts them, with a warning; with one only, the checkpoint is
 * incomplete. Each file's content is checked as a user's options are, and its errors name the file.
 */
export function loadTrainingState(dir: string, optimizer: Optimizer, scheduler: LambdaLR, scaler: GradScaler | null, print: (line: string) => void): void {
  const optimizerFile = join(dir, FILES.optimizer);
  const schedulerFile = join(dir, FILES.scheduler);
  const [hasOptimizer, hasScheduler] = [existsSync(optimizerFile), existsSync(schedulerFile)];
  if (!hasOptimizer && !hasScheduler) {
    print(
      `warning: ${dir} holds no optimizer or scheduler state (saved with saveOnlyModel?): AdamW's moments restart from zero and the learning-rate schedule from its first step.`,
    );
  } else if (!hasOptimizer || !hasScheduler) {
    throw new Error(
      `${dir} is missing ${hasOptimizer ? FILES.scheduler : FILES.optimizer}: cannot resume the ${hasOptimizer ? "learning-rate schedule" : "optimizer"} (the checkpoint is incomplete)`,
    );
  } else {
    named(optimizerFile, () => {
      const sd = loadOptimizerState(optimizerFile);
      try {
        optimizer.loadStateDict(sd);
      } finally {
        torch.dispose(Object.values(sd.state).flatMap((s) => Object.values(s).filter((v): v is Tensor => typeof v !== "number")));
      }
    });
    named(schedulerFile, () => scheduler.loadStateDict(readJsonObject(schedulerFile, FILES.scheduler) as never));
  }
  const scalerFile = join(dir, FILES.scaler);
  if (scaler && existsSync(scalerFile)) named(scalerFile, () => scaler.loadStateDict(readJsonObject(scalerFile, FILES.scaler) as never));
}

function named(file: string, fn: () => void): void {
  try {
    fn();
  } catch (e) {
    const m = (e as Error).message;
    throw new Error(m.includes(file) ? m : `${file}: ${m}`);
  }
}
