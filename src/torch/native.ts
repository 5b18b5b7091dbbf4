// Loads the libtorch addon. Everything in src/torch goes through this object; nothing above it does.
import { createRequire } from "node:module";
import { existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import type { NativeOps } from "./ops_gen.js";

/** A BigInt naming a libtorch tensor in the addon's handle table, owned by exactly one `Tensor`. */
export type Handle = bigint & { readonly __brand: "TensorHandle" };
type H = Handle;
type Opt<T> = T | null | undefined;
type Num = number | boolean;

/** A c10d process group or DDP reducer held by the addon (an External: freed with its JS object, or at once by destroy). */
export type ProcessGroupRef = object & { readonly __brand: "ProcessGroup" };
export type ReducerRef = object & { readonly __brand: "Reducer" };

/** The addon: the ops of native/ops.yaml (NativeOps, generated) and the runtime around them. */
export interface NativeTorch extends NativeOps {
  torchVersion: string;
  liveHandles(): number;
  hasSdpa: boolean;
  dispose(h: H): void;
  disposeMany(hs: H[]): void;
  isDisposed(h: H): boolean;
  /** Whether loading the addon tuned glibc's malloc (see train_ops.cc). */
  mallocTuned: boolean;
  /** Whether adamwStepFused runs torch's _fused_adamw_ (libtorch >= 2.4) rather than the addon's float32-CPU loop. */
  hasTorchFusedAdamw: boolean;
  hasGrad(params: H[]): Uint8Array;
  zeroGrad(params: H[]): void;
  adamwStep(
    params: H[],
    expAvgs: H[],
    expAvgSqs: H[],
    steps: number[],
    lr: number,
    beta1: number,
    beta2: number,
    eps: number,
    weightDecay: number,
    lerp: boolean,
  ): void;
  adamwStepFused(params: H[], expAvgs: H[], expAvgSqs: H[], steps: number[], lr: number, beta1: number, beta2: number, eps: number, weightDecay: number): void;
  sgdStep(params: H[], buffers: (H | null)[], lr: number, momentum: number, dampening: number, weightDecay: number, nesterov: boolean): (H | null)[];
  clipGradNorm(params: H[], maxNorm: number, normType: number): H | null;
  unscaleGrads(params: H[], invScale: number): H;
  isTensor(v: unknown): boolean;
  empty(shape: number[], dtype: Opt<number>, device: Opt<string>): H;
  zeros(shape: number[], dtype: Opt<number>, device: Opt<string>): H;
  ones(shape: number[], dtype: Opt<number>, device: Opt<string>): H;
  full(shape: number[], value: Num, dtype: Opt<number>, device: Opt<string>): H;
  arange(start: number, end: number, step: number, dtype: Opt<number>, device: Opt<string>): H;
  linspace(start: number, end: number, steps: number, dtype: Opt<number>, device: Opt<string>): H;
  eye(n: number, dtype: Opt<number>, device: Opt<string>): H;
  randn(shape: number[], dtype: Opt<number>, device: Opt<string>): H;
  rand(shape: number[], dtype: Opt<number>, device: Opt<string>): H;
  randint(low: number, high: number, shape: number[], dtype: Opt<number>, device: Opt<string>): H;
  randperm(n: number, dtype: Opt<number>, device: Opt<string>): H;
  fromBytes(view: ArrayBufferView, shape: number[], dtype: number): H;
  toBytes(h: H): ArrayBuffer;
  dataView(h: H): Uint8Array;
  item(h: H): number | boolean;
  shape(h: H): number[];
  strides(h: H): number[];
  dtype(h: H): number;
  device(h: H): string;
  numel(h: H): number;
  isContiguous(h: H): boolean;
  to(h: H, device: Opt<string>, dtype: Opt<number>, copy: boolean, nonBlocking?: boolean): H;
  pinMemory(h: H): H;
  isPinned(h: H): boolean;
  clone(h: H): H;
  contiguous(h: H): H;
  alias(h: H): H;
  requiresGrad(h: H): boolean;
  setRequiresGrad(h: H, v: boolean): void;
  grad(h: H): H | null;
  setGrad(h: H, g: Opt<H>): void;
  backward(h: H, g: Opt<H>, retainGraph: boolean): void;
  setData(h: H, src: H): void;
  isLeaf(h: H): boolean;
  retainGrad(h: H): void;
  detach(h: H): H;
  /** Registers fn(id, saved, grads) -> one gradient (or null) per input, the backward of every JS autograd node. */
  setJsFunctionDispatcher(fn: (id: number, saved: H[], grads: (H | null)[]) => (H | null)[]): void;
  attachJsFunction(id: number, outputs: H[], inputs: H[], saved: H[]): H[];
  releasedJsFunctions(): number[];
  autogradGrad(outputs: H[], inputs: H[], gradOutputs: H[], allowUnused: boolean): (H | null)[];
  isGradEnabled(): boolean;
  setGradEnabled(v: boolean): void;
  getAutocast(deviceType: string): [boolean, number];
  setAutocast(deviceType: string, enabled: boolean, dtype: number): void;
  autocastEnter(): number;
  autocastExit(): number;
  manualSeed(seed: number | bigint, device?: string): void;
  getRngState(device?: string): H;
  setRngState(state: H, device?: string): void;
  setNumThreads(n: number): void;
  getNumThreads(): number;
  setBlasThreads(n: number): boolean;
  getBlasThreads(): number | null;
  cudaAvailable(): boolean;
  cudaDeviceCount(): number;
  mpsAvailable(): boolean;
  synchronize(device: string): void;
  memoryStats(device: string): [number, number, number, number];
  resetPeakMemoryStats(device: string): void;
  emptyCache(): void;
  sdpBackends(): [boolean, boolean, boolean];
  setSdpBackend(name: "flash" | "memEfficient" | "math", enabled: boolean): void;
  allowTf32(): boolean;
  setAllowTf32(allow: boolean): void;
  smallBatchLinear(): boolean;
  bf16GemmInFp32(): boolean;
  setBf16GemmInFp32(enabled: boolean): void;
  dropoutInOnePass(): boolean;
  setDropoutInOnePass(enabled: boolean): void;
  setSmallBatchLinear(enabled: boolean): void;
  /** Whether the addon was built with libtorch's c10d (distributed.cc). */
  distributedBuilt: boolean;
  distInit(backend: string, masterAddr: string, masterPort: number, rank: number, worldSize: number, timeoutMs: number, storePrefix: string): ProcessGroupRef;
  distAllReduce(g: ProcessGroupRef, t: H, op: string): void;
  distBroadcast(g: ProcessGroupRef, t: H, src: number): void;
  distAllGather(g: ProcessGroupRef, t: H): H[];
  distBarrier(g: ProcessGroupRef): void;
  distBroadcastCoalesced(g: ProcessGroupRef, ts: H[], bufferBytes: number, src: number): void;
  distDestroy(g: ProcessGroupRef): void;
  ddpCreate(g: ProcessGroupRef, params: H[], bucketCapBytes: number, findUnusedParameters: boolean, gradientAsBucketView: boolean): ReducerRef;
  ddpPrepareForward(r: ReducerRef, sync: boolean): boolean;
  ddpPrepareForBackward(r: ReducerRef, outputs: H[]): void;
  ddpDestroy(r: ReducerRef): void;
}

function addonPath(): string {
  const here = dirname(fileURLToPath(import.meta.url));
  // src/torch (when run from source) and dist/src/torch (compiled) both reach the repo root.
  const candidates = [
    process.env.FINETUNE_NATIVE,
    join(here, "..", "..", "native", "build", "Release", "finetune_native.node"),
    join(here, "..", "..", "..", "native", "build", "Release", "finetune_native.node"),
  ].filter((p): p is string => !!p);
  const found = candidates.find((p) => existsSync(p));
  if (!found) {
    throw new Error(`the libtorch addon is not built (looked in ${candidates.join(", ")}): run \`npm run build:native\``);
  }
  return found;
}

const loaded = createRequire(import.meta.url)(addonPath()) as NativeTorch;

// FINETUNE_COUNT_NATIVE_CALLS=1 counts every call into the addon (the bench reports calls per step);
// off, the addon object is used as it is, with no wrapper on the hot path.
let calls = 0;
const counting = !!process.env.FINETUNE_COUNT_NATIVE_CALLS;
export const native: NativeTorch = counting
  ? (Object.fromEntries(
      Object.entries(loaded).map(([k, v]) => [k, typeof v === "function" ? (...a: unknown[]) => (calls++, (v as (...x: unknown[]) => unknown)(...a)) : v]),
    ) as unknown as NativeTorch)
  : loaded;

/** Calls into the addon so far, or null unless FINETUNE_COUNT_NATIVE_CALLS was set when it loaded. */
export function nativeCallCount(): number | null {
  return counting ? calls : null;
}
