// Process-wide settings: RNG seeds and state, thread pools, devices. The only global state there is.
import { availableParallelism } from "node:os";
import { native } from "./native.js";
import { Tensor, checkDevice } from "./tensor.js";

/** Seeds the CPU generator and every CUDA device's (torch.manual_seed). */
export function manualSeed(seed: number): void {
  if (!Number.isInteger(seed) || seed < 0) throw new TypeError(`manualSeed(): seed must be a non-negative integer, got ${seed}`);
  native.manualSeed(seed);
}

/** The generator state of a device ("cpu" by default) as a uint8 tensor (torch.get_rng_state). */
export function getRngState(device = "cpu"): Tensor {
  return new Tensor(native.getRngState(checkDevice(device, "getRngState()")));
}
export function setRngState(state: Tensor, device = "cpu"): void {
  if (state.dtype !== "uint8") throw new TypeError(`setRngState(): state must be a uint8 tensor, got ${state.dtype}`);
  native.setRngState(state.handle, checkDevice(device, "setRngState()"));
}

/** ATen's intra-op thread count (torch.set_num_threads). */
export function setNumThreads(n: number): void {
  if (!Number.isInteger(n) || n < 1) throw new RangeError(`setNumThreads(): expected an integer >= 1, got ${n}`);
  native.setNumThreads(n);
}
export function getNumThreads(): number {
  return native.getNumThreads();
}
/** OpenBLAS's own pool (it competes with ATen's on few cores). Returns false when libtorch does not use OpenBLAS. */
export function setBlasThreads(n: number): boolean {
  if (!Number.isInteger(n) || n < 1) throw new RangeError(`setBlasThreads(): expected an integer >= 1, got ${n}`);
  return native.setBlasThreads(n);
}
export function getBlasThreads(): number | null {
  return native.getBlasThreads();
}

/**
 * Sets ATen's and OpenBLAS's pools, which compete for the same cores. Explicit options win, then
 * FINETUNE_THREADS / FINETUNE_BLAS_THREADS, then the split measured fastest by bench/engine.ts on a
 * 2-core machine: fp32 training spends its time in OpenBLAS matmuls, so OpenBLAS gets every core and
 * ATen half; bf16 matmuls run in oneDNN on ATen's pool, so ATen gets every core and OpenBLAS one.
 */
export function configureThreads(
  o: { threads?: number; blasThreads?: number; precision?: "fp32" | "bf16" } = {},
): { threads: number; blasThreads: number | null } {
  const env = (k: string) => (process.env[k] ? Number(process.env[k]) : undefined);
  const cores = availableParallelism();
  const bf16 = o.precision === "bf16";
  const threads = o.threads ?? env("FINETUNE_THREADS") ?? (bf16 ? cores : Math.max(1, Math.floor(cores / 2)));
  const blas = o.blasThreads ?? env("FINETUNE_BLAS_THREADS") ?? (bf16 ? 1 : cores);
  setNumThreads(threads);
  setBlasThreads(blas);
  return { threads: getNumThreads(), blasThreads: getBlasThreads() };
}

export const cuda = {
  isAvailable: (): boolean => native.cudaAvailable(),
  deviceCount: (): number => native.cudaDeviceCount(),
  synchronize: (device = "cuda"): void => native.synchronize(checkDevice(device)),
};
export const mps = {
  isAvailable: (): boolean => native.mpsAvailable(),
};
export const torchVersion: string = native.torchVersion;
