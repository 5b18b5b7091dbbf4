// `finetune launch`: torchrun's static launcher for Node programs. Starts one process per local rank
// with torchrun's environment (RANK, LOCAL_RANK, WORLD_SIZE, LOCAL_WORLD_SIZE, GROUP_RANK, ROLE_RANK,
// ROLE_WORLD_SIZE, MASTER_ADDR, MASTER_PORT), passes Ctrl-C on once to every rank (the ranks run in a
// process group of their own, so the terminal's signal reaches them only through the launcher: the
// Trainer then finishes the step on all of them and saves), and when one rank fails stops the others
// and exits with its code, naming it — a dead rank never leaves the rest waiting forever.
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { availableParallelism, networkInterfaces, tmpdir } from "node:os";
import { join } from "node:path";

export interface LaunchOptions {
  nprocPerNode: number;
  nnodes?: number;
  nodeRank?: number;
  masterAddr?: string;
  /** Default: a free port for a single node (as torchrun --standalone), 29500 across nodes. */
  masterPort?: number;
  /** The program: a .js/.mjs/.cjs file (run with this Node), or any executable with its arguments. */
  command: string[];
  env?: NodeJS.ProcessEnv;
  /** Where the launcher's own lines go (default stderr). */
  log?: (line: string) => void;
  /** Milliseconds the other ranks get to exit after SIGTERM before SIGKILL (default 5000). */
  graceMs?: number;
}

export interface LaunchResult {
  exitCode: number;
  /** The first rank that failed, if one did. */
  failed?: { rank: number; localRank: number; pid: number; code: number | null; signal: NodeJS.Signals | null };
}

/** A port nobody listens on now, from the kernel. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.unref();
    s.on("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const address = s.address();
      const port = typeof address === "object" && address ? address.port : 0;
      s.close(() => resolve(port));
    });
  });
}

function positiveInt(v: number, what: string, min = 1): void {
  if (!Number.isInteger(v) || v < min) throw new RangeError(`finetune launch: ${what} must be an integer ≥ ${min}, got ${v}`);
}

/** The loopback interface's name (lo on Linux, lo0 on macOS), for GLOO_SOCKET_IFNAME. */
function loopbackInterface(): string | null {
  for (const [name, addrs] of Object.entries(networkInterfaces())) {
    if (addrs?.some((a) => a.internal && (a.address === "127.0.0.1" || a.address === "::1"))) return name;
  }
  return null;
}

let watching = false;
/**
 * In a rank started by `finetune launch`: when the launcher dies (kill -9, a closed terminal), the rank
 * is reparented; it notices within half a second and exits, which releases its output-dir lock. The
 * launcher cannot do this for it when it was killed outright.
 */
export function watchLauncher(env: NodeJS.ProcessEnv = process.env): void {
  const launcher = Number(env.FINETUNE_LAUNCHER_PID);
  if (watching || !Number.isInteger(launcher) || launcher <= 0) return;
  watching = true;
  if (process.ppid !== launcher) return; // not this launcher's child (a nested program): nothing to watch
  setInterval(() => {
    if (process.ppid === launcher) return;
    process.stderr.write(`finetune: the launcher (pid ${launcher}) is gone: rank ${env.RANK ?? "?"} stops (exit 1).\n`);
    process.exit(1);
  }, 500).unref();
}

/** Node runs scripts; anything else is executed as it is (torchrun --no-python). */
function argvFor(command: string[]): [string, string[]] {
  const [first, ...rest] = command;
  if (/\.(c|m)?js$/.test(first)) return [process.execPath, [first, ...rest]];
  return [first, rest];
}

export async function launch(o: LaunchOptions): Promise<LaunchResult> {
  const log = o.log ?? ((line: string) => process.stderr.write(line + "\n"));
  const nnodes = o.nnodes ?? 1;
  const nodeRank = o.nodeRank ?? 0;
  positiveInt(o.nprocPerNode, "--nproc-per-node");
  positiveInt(nnodes, "--nnodes");
  positiveInt(nodeRank, "--node-rank", 0);
  if (nodeRank >= nnodes) throw new RangeError(`finetune launch: --node-rank ${nodeRank} is not below --nnodes ${nnodes}`);
  if (!o.command.length) throw new Error("finetune launch: give the program to run after the options (finetune launch --nproc-per-node 2 -- train.js …)");
  if (nnodes > 1 && !o.masterAddr) throw new Error("finetune launch: --master-addr is needed with --nnodes > 1 (the address of the node with --node-rank 0)");
  const masterAddr = o.masterAddr ?? "127.0.0.1";
  const masterPort = o.masterPort ?? (nnodes > 1 ? 29500 : await freePort());
  const worldSize = nnodes * o.nprocPerNode;
  const base = { ...(o.env ?? process.env) };
  if (o.nprocPerNode > 1 && base.OMP_NUM_THREADS === undefined && base.FINETUNE_THREADS === undefined) {
    // torchrun sets OMP_NUM_THREADS=1; here each rank's thread setup splits the cores between the
    // local ranks instead (LOCAL_WORLD_SIZE), which is what this line says.
    const cores = availableParallelism();
    log(
      `finetune launch: each of the ${o.nprocPerNode} local ranks uses ${Math.max(1, Math.floor(cores / o.nprocPerNode))} of the ${cores} cores; set OMP_NUM_THREADS (or FINETUNE_THREADS) to choose.`,
    );
  }
  // One node: the ranks meet through a rendezvous file and gloo talks over loopback, so nothing of the
  // run listens beyond this machine. Across nodes the user's MASTER_ADDR and interface are used.
  let rendezvousDir: string | null = null;
  if (nnodes === 1) {
    rendezvousDir = mkdtempSync(join(tmpdir(), "finetune-launch-"));
    base.FINETUNE_RENDEZVOUS_FILE = join(rendezvousDir, "store");
    const lo = loopbackInterface();
    if (base.GLOO_SOCKET_IFNAME === undefined && lo) base.GLOO_SOCKET_IFNAME = lo;
  }
  base.FINETUNE_LAUNCHER_PID = String(process.pid);
  const [exe, args] = argvFor(o.command);
  const children: { child: ChildProcess; rank: number; localRank: number }[] = [];
  let failed: LaunchResult["failed"];
  let stopping = false;
  let interrupted = false;
  const grace = o.graceMs ?? 5000;
  /** Sends sig to every rank still running: to its process group (a rank leads its own), so what it started gets it too. */
  const signalLive = (sig: NodeJS.Signals) => {
    for (const c of children) {
      if (c.child.exitCode !== null || c.child.signalCode !== null || c.child.pid === undefined) continue;
      try {
        process.kill(-c.child.pid, sig);
      } catch {
        c.child.kill(sig);
      }
    }
  };
  const stopOthers = () => {
    stopping = true;
    signalLive("SIGTERM");
    setTimeout(() => signalLive("SIGKILL"), grace).unref();
  };
  // As torchrun: Ctrl-C is passed on (each rank finishes its step and saves); SIGTERM, SIGHUP (the
  // terminal closed) and SIGQUIT stop the ranks, SIGKILL after the grace period.
  const onSignal = (sig: NodeJS.Signals) => {
    if (sig === "SIGINT") interrupted = true;
    signalLive(sig);
    if (sig !== "SIGINT") {
      stopping = true;
      setTimeout(() => signalLive("SIGKILL"), grace).unref();
    }
  };
  // Ranks outlive nothing: if the launcher itself ends, they end with it (a SIGKILL of the launcher
  // runs no handler: each rank watches for it itself, watchLauncher).
  const onExit = () => signalLive("SIGKILL");
  const signals: NodeJS.Signals[] = ["SIGINT", "SIGTERM", "SIGHUP", "SIGQUIT"];
  for (const sig of signals) process.on(sig, onSignal);
  process.on("exit", onExit);
  try {
    const exits = Array.from({ length: o.nprocPerNode }, (_, localRank) => {
      const rank = nodeRank * o.nprocPerNode + localRank;
      const env = {
        ...base,
        RANK: String(rank),
        LOCAL_RANK: String(localRank),
        WORLD_SIZE: String(worldSize),
        LOCAL_WORLD_SIZE: String(o.nprocPerNode),
        GROUP_RANK: String(nodeRank),
        ROLE_RANK: String(rank),
        ROLE_WORLD_SIZE: String(worldSize),
        ROLE_NAME: "default",
        MASTER_ADDR: masterAddr,
        MASTER_PORT: String(masterPort),
        TORCHELASTIC_RUN_ID: "none",
      };
      const child = spawn(exe, args, { env, stdio: "inherit", detached: true });
      children.push({ child, rank, localRank });
      return new Promise<void>((resolve) => {
        child.on("error", (e) => {
          failed ??= { rank, localRank, pid: child.pid ?? -1, code: 127, signal: null };
          log(`finetune launch: rank ${rank} could not start '${exe}': ${e.message}`);
          if (!stopping) stopOthers();
          resolve();
        });
        child.on("exit", (code, signal) => {
          // After Ctrl-C a rank that stopped with 130 did what it was asked: the others are finishing too.
          const stoppedAsAsked = interrupted && code === 130;
          if ((code !== 0 || signal) && !stopping && !stoppedAsAsked) {
            failed ??= { rank, localRank, pid: child.pid ?? -1, code, signal };
            log(
              `finetune launch: rank ${rank} (local rank ${localRank}, pid ${child.pid}) ${signal ? `was killed by ${signal}` : `exited with code ${code}`}; stopping the other ranks`,
            );
            stopOthers();
          }
          resolve();
        });
      });
    });
    await Promise.all(exits);
  } finally {
    for (const sig of signals) process.off(sig, onSignal);
    process.off("exit", onExit);
    if (rendezvousDir) rmSync(rendezvousDir, { recursive: true, force: true });
  }
  if (!failed) {
    const bad = children.find((c) => c.child.exitCode !== 0);
    if (interrupted && bad && children.every((c) => c.child.exitCode === 0 || c.child.exitCode === 130)) return { exitCode: 130 };
    if (bad) failed = { rank: bad.rank, localRank: bad.localRank, pid: bad.child.pid ?? -1, code: bad.child.exitCode, signal: bad.child.signalCode };
  }
  if (!failed) return { exitCode: 0 };
  return { exitCode: failed.code && failed.code > 0 ? failed.code : 1, failed };
}
