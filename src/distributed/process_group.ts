// torch.distributed's default process group: initProcessGroup reads torchrun's environment (as
// `finetune launch`, torchrun, SLURM's srun wrappers and Kubernetes' PyTorchJob set it), meets the
// other ranks through libtorch's TCPStore (or a FileStore, for a rendezvous file) and connects a gloo
// group; the collectives act on it.
import { watchLauncher } from "./launch.js";
import * as torch from "../torch/index.js";
import { c10d, type Tensor } from "../torch/index.js";

export type Backend = "gloo" | "nccl";

export interface InitProcessGroupOptions {
  /** "gloo" (CPU tensors; the default) or "nccl" (CUDA tensors, one process per GPU). */
  backend?: Backend;
  /**
   * "env://" (default: MASTER_ADDR, MASTER_PORT, RANK, WORLD_SIZE from the environment, or the
   * FINETUNE_RENDEZVOUS_FILE a one-node `finetune launch` sets), "tcp://host:port" or "file:///path".
   */
  initMethod?: string;
  rank?: number;
  worldSize?: number;
  /** Milliseconds to wait for the peers and for each collective (default 30 minutes, as torch.distributed). */
  timeout?: number;
}

interface DefaultGroup {
  ref: c10d.ProcessGroupRef;
  rank: number;
  worldSize: number;
  backend: Backend;
}
let group: DefaultGroup | null = null;

const DEFAULT_TIMEOUT_MS = 30 * 60 * 1000;

/** A torchrun variable (RANK, WORLD_SIZE, LOCAL_RANK, MASTER_PORT, …) as a number; undefined when unset. */
export function torchrunInt(name: string, env: NodeJS.ProcessEnv = process.env): number | undefined {
  const v = env[name];
  if (v === undefined || v === "") return undefined;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0) throw new Error(`${name}='${v}' is not a non-negative integer (torchrun and finetune launch set it)`);
  return n;
}

/** Joins the default process group; every rank calls it with the same backend, master and world size. */
export function initProcessGroup(o: InitProcessGroupOptions = {}, env: NodeJS.ProcessEnv = process.env): void {
  if (group) throw new Error("initProcessGroup: the default process group is already initialized (destroyProcessGroup() first)");
  const backend = o.backend ?? "gloo";
  if (backend !== "gloo" && backend !== "nccl") throw new Error(`initProcessGroup: backend must be "gloo" or "nccl", got '${String(backend)}'`);
  if (!c10d.c10dBuilt)
    throw new Error(
      "initProcessGroup: this build of the addon has no c10d (libtorch's distributed headers and gloo's were not found when it was built; on Debian: apt-get install libgloo-dev, then npm run build:native)",
    );
  const initMethod = o.initMethod ?? "env://";
  let masterAddr: string | undefined;
  let masterPort: number | undefined;
  // A rendezvous file (torch.distributed's file:// init method; `finetune launch` on one node passes
  // FINETUNE_RENDEZVOUS_FILE): a FileStore, so nothing of the run listens on a network port.
  const file = initMethod.startsWith("file://") ? initMethod.slice("file://".length) : initMethod === "env://" ? env.FINETUNE_RENDEZVOUS_FILE : undefined;
  if (file) {
    masterAddr = `file://${file}`;
    masterPort = 1;
  } else if (initMethod === "env://") {
    masterAddr = env.MASTER_ADDR;
    masterPort = torchrunInt("MASTER_PORT", env);
  } else {
    const m = /^tcp:\/\/(\[[^\]]+\]|[^:/]+):(\d+)\/?$/.exec(initMethod);
    if (!m) throw new Error(`initProcessGroup: initMethod must be "env://", "tcp://host:port" or "file:///path", got '${initMethod}'`);
    masterAddr = m[1].replace(/^\[|\]$/g, "");
    masterPort = Number(m[2]);
  }
  const rank = o.rank ?? torchrunInt("RANK", env);
  const worldSize = o.worldSize ?? torchrunInt("WORLD_SIZE", env);
  const missing = [
    masterAddr ? null : "MASTER_ADDR",
    masterPort === undefined ? "MASTER_PORT" : null,
    rank === undefined ? "RANK" : null,
    worldSize === undefined ? "WORLD_SIZE" : null,
  ].filter((x): x is string => x !== null);
  if (missing.length) {
    throw new Error(
      `initProcessGroup: ${initMethod} needs ${missing.join(", ")} (from the environment, as \`finetune launch\` and torchrun set them${initMethod === "env://" ? "" : ", or as options"})`,
    );
  }
  if (!(worldSize! >= 1)) throw new Error(`initProcessGroup: WORLD_SIZE must be at least 1, got ${worldSize}`);
  if (!(rank! < worldSize!)) throw new Error(`initProcessGroup: RANK ${rank} is not below WORLD_SIZE ${worldSize}`);
  if (!(masterPort! > 0 && masterPort! < 65536)) throw new Error(`initProcessGroup: MASTER_PORT must be a port number (1-65535), got ${masterPort}`);
  if (backend === "nccl")
    throw new Error("initProcessGroup: the nccl backend needs a CUDA build of libtorch ≥ 2 with NCCL, which this addon was not built against (gloo runs here)");
  const timeoutMs = o.timeout ?? DEFAULT_TIMEOUT_MS;
  watchLauncher(env);
  const ref = c10d.c10dInit({
    backend,
    masterAddr: masterAddr!,
    masterPort: masterPort!,
    rank: rank!,
    worldSize: worldSize!,
    timeoutMs,
    storePrefix: "default_pg",
  });
  group = { ref, rank: rank!, worldSize: worldSize!, backend };
}

export function isInitialized(): boolean {
  return group !== null;
}

function need(fn: string): DefaultGroup {
  if (!group) throw new Error(`${fn}: the default process group has not been initialized (call initProcessGroup() first)`);
  return group;
}

/** @internal The default group's handle, for DistributedDataParallel. */
export function defaultGroup(): { ref: c10d.ProcessGroupRef; rank: number; worldSize: number; backend: Backend } {
  return need("DistributedDataParallel");
}

export const getRank = (): number => need("getRank").rank;
export const getWorldSize = (): number => need("getWorldSize").worldSize;
export const getBackend = (): Backend => need("getBackend").backend;

export function barrier(): void {
  c10d.c10dBarrier(need("barrier").ref);
}

/** In place: the reduction of every rank's tensor ("sum" default; "avg" divides the sum by the world size). */
export function allReduce(t: Tensor, op: c10d.ReduceOp | "avg" = "sum"): void {
  const g = need("allReduce");
  c10d.c10dAllReduce(g.ref, t, op === "avg" ? "sum" : op);
  if (op === "avg") t.div_(g.worldSize);
}

/** In place: rank `src`'s tensor copied into every rank's. */
export function broadcast(t: Tensor, src = 0): void {
  const g = need("broadcast");
  if (!Number.isInteger(src) || src < 0 || src >= g.worldSize) throw new RangeError(`broadcast: src must be a rank below ${g.worldSize}, got ${src}`);
  c10d.c10dBroadcast(g.ref, t, src);
}

/** Every rank's tensor (each the same shape), in rank order. */
export function allGather(t: Tensor): Tensor[] {
  return c10d.c10dAllGather(need("allGather").ref, t);
}

/** @internal broadcast_coalesced over the default group. */
export function broadcastCoalesced(ts: Tensor[], bufferBytes: number, src = 0): void {
  c10d.c10dBroadcastCoalesced(need("broadcast").ref, ts, bufferBytes, src);
}

export function destroyProcessGroup(): void {
  if (!group) return;
  c10d.c10dDestroy(group.ref);
  group = null;
}

/** A number reduced over the ranks of the default group (one tiny all-reduce in float64). */
export function reduceNumber(v: number, op: "sum" | "max"): number {
  return torch.tidy(() => {
    const t = torch.tensor([v], { dtype: "float64" });
    allReduce(t, op);
    return t.item();
  });
}

/** Every rank's tensor in rank order along dim 0, each padded with `pad` to the largest size in every other dimension. */
export function gatherPadded(t: Tensor, pad: number): Tensor {
  return torch.tidy(() => {
    const shapes = allGather(torch.tensor(t.shape, { dtype: "int64" })).map((s) => s.toArray() as number[]);
    const target = t.shape.map((_, d) => Math.max(...shapes.map((s) => s[d])));
    let padded = t;
    for (let d = 1; d < target.length; d++) {
      if (padded.shape[d] === target[d]) continue;
      const fill = torch.full(
        padded.shape.map((n, k) => (k === d ? target[d] - n : n)),
        pad,
        { dtype: t.dtype },
      );
      padded = torch.cat([padded, fill], d);
    }
    return torch.cat(allGather(padded), 0);
  });
}
