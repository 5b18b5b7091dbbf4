// Loads the libtorch addon. Everything in src/torch goes through this object; nothing above it does.
import { createRequire } from "node:module";
import { existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

/** A BigInt naming a libtorch tensor in the addon's handle table, owned by exactly one `Tensor`. */
export type Handle = bigint & { readonly __brand: "TensorHandle" };
type H = Handle;
type Opt<T> = T | null | undefined;
type Num = number | boolean;
type HN = H | Num;

export interface NativeTorch {
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
  adamwStep(params: H[], expAvgs: H[], expAvgSqs: H[], steps: number[], lr: number, beta1: number, beta2: number, eps: number, weightDecay: number, lerp: boolean): void;
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
  to(h: H, device: Opt<string>, dtype: Opt<number>, copy: boolean): H;
  clone(h: H): H;
  contiguous(h: H): H;
  alias(h: H): H;
  [unary: string]: unknown;
  add(a: H, b: HN, alpha?: number): H;
  sub(a: H, b: HN, alpha?: number): H;
  where(c: H, a: HN, b: HN): H;
  maskedFill(a: H, mask: H, v: HN): H;
  clamp(a: H, min: Opt<number>, max: Opt<number>): H;
  lerp(a: H, end: H, w: HN): H;
  equal(a: H, b: H): boolean;
  allclose(a: H, b: H, rtol: number, atol: number): boolean;
  reshape(a: H, s: number[]): H;
  view(a: H, s: number[]): H;
  permute(a: H, d: number[]): H;
  transpose(a: H, d0: number, d1: number): H;
  squeeze(a: H, d: Opt<number>): H;
  unsqueeze(a: H, d: number): H;
  expand(a: H, s: number[]): H;
  narrow(a: H, d: number, start: number, len: number): H;
  select(a: H, d: number, i: number): H;
  slice(a: H, d: number, start: Opt<number>, end: Opt<number>, step: number): H;
  flatten(a: H, s: number, e: number): H;
  asStrided(a: H, size: number[], stride: number[], offset: number): H;
  indexSelect(a: H, d: number, i: H): H;
  gather(a: H, d: number, i: H): H;
  scatter(a: H, d: number, i: H, src: HN): H;
  scatterAdd(a: H, d: number, i: H, src: H): H;
  cat(ts: H[], d: number): H;
  stack(ts: H[], d: number): H;
  split(a: H, s: number | number[], d: number): H[];
  chunk(a: H, n: number, d: number): H[];
  tril(a: H, k: number): H;
  triu(a: H, k: number): H;
  repeat(a: H, s: number[]): H;
  flip(a: H, d: number[]): H;
  maskedSelect(a: H, m: H): H;
  nonzero(a: H): H;
  sum(a: H, dims: Opt<number[]>, keepdim: boolean, dtype: Opt<number>): H;
  mean(a: H, dims: Opt<number[]>, keepdim: boolean, dtype: Opt<number>): H;
  prod(a: H, dim: Opt<number>, keepdim: boolean): H;
  all(a: H, dim: Opt<number>, keepdim: boolean): H;
  any(a: H, dim: Opt<number>, keepdim: boolean): H;
  max(a: H, dim: Opt<number>, keepdim: boolean): H | [H, H];
  min(a: H, dim: Opt<number>, keepdim: boolean): H | [H, H];
  argmax(a: H, dim: Opt<number>, keepdim: boolean): H;
  argmin(a: H, dim: Opt<number>, keepdim: boolean): H;
  norm(a: H, p: number, dims: Opt<number[]>, keepdim: boolean): H;
  var(a: H, dims: Opt<number[]>, unbiased: boolean, keepdim: boolean): H;
  std(a: H, dims: Opt<number[]>, unbiased: boolean, keepdim: boolean): H;
  logsumexp(a: H, dims: number[], keepdim: boolean): H;
  cumsum(a: H, d: number): H;
  sort(a: H, d: number, descending: boolean): [H, H];
  topk(a: H, k: number, d: number, largest: boolean): [H, H];
  linear(x: H, w: H, b: Opt<H>): H;
  addmm(c: H, a: H, b: H, beta: number, alpha: number): H;
  baddbmm(c: H, a: H, b: H, beta: number, alpha: number): H;
  add_(a: H, b: HN, alpha?: number): void;
  sub_(a: H, b: HN, alpha?: number): void;
  copy_(a: H, src: H): void;
  addcmul_(a: H, t1: H, t2: H, v: number): void;
  addcdiv_(a: H, t1: H, t2: H, v: number): void;
  lerp_(a: H, end: H, w: HN): void;
  clamp_(a: H, min: Opt<number>, max: Opt<number>): void;
  maskedFill_(a: H, m: H, v: Num): void;
  normal_(a: H, mean: number, std: number): void;
  uniform_(a: H, lo: number, hi: number): void;
  softmax(a: H, d: number, dtype: Opt<number>): H;
  logSoftmax(a: H, d: number, dtype: Opt<number>): H;
  layerNorm(x: H, shape: number[], w: Opt<H>, b: Opt<H>, eps: number): H;
  gelu(x: H, approximate: string): H;
  silu(x: H): H;
  dropout(x: H, p: number, train: boolean): H;
  embedding(w: H, idx: H, paddingIdx: number, scaleGrad: boolean): H;
  crossEntropy(x: H, t: H, w: Opt<H>, reduction: number, ignoreIndex: number, smoothing: number): H;
  nllLoss(x: H, t: H, w: Opt<H>, reduction: number, ignoreIndex: number): H;
  mseLoss(a: H, b: H, reduction: number): H;
  bceWithLogits(x: H, y: H, w: Opt<H>, posWeight: Opt<H>, reduction: number): H;
  scaledDotProductAttention(q: H, k: H, v: H, mask: Opt<H>, dropout: number, causal: boolean, scale: Opt<number>): H;
  requiresGrad(h: H): boolean;
  setRequiresGrad(h: H, v: boolean): void;
  grad(h: H): H | null;
  setGrad(h: H, g: Opt<H>): void;
  backward(h: H, g: Opt<H>, retainGraph: boolean): void;
  setData(h: H, src: H): void;
  isLeaf(h: H): boolean;
  retainGrad(h: H): void;
  detach(h: H): H;
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
  ? (Object.fromEntries(Object.entries(loaded).map(([k, v]) => [k, typeof v === "function" ? (...a: unknown[]) => (calls++, (v as (...x: unknown[]) => unknown)(...a)) : v])) as unknown as NativeTorch)
  : loaded;

/** Calls into the addon so far, or null unless FINETUNE_COUNT_NATIVE_CALLS was set when it loaded. */
export function nativeCallCount(): number | null {
  return counting ? calls : null;
}

/** Calls a native op by name; for the many one-tensor ops that share one signature. */
export function op1(name: string, h: Handle): Handle {
  return (native[name] as (h: Handle) => Handle)(h);
}
export function op2(name: string, a: Handle, b: Handle | number | boolean): Handle {
  return (native[name] as (a: Handle, b: Handle | number | boolean) => Handle)(a, b);
}
export function opInplace(name: string, a: Handle, b?: Handle | number | boolean): void {
  (native[name] as (a: Handle, b?: Handle | number | boolean) => void)(a, b);
}
