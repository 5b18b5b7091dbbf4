// Process-wide settings: RNG seeds and state, thread pools, devices. The only global state there is.
import { availableParallelism } from "node:os";
import { readFileSync } from "node:fs";
import { native } from "./native.js";
import { Tensor, checkDevice } from "./tensor.js";
import { keep } from "./scope.js";

/**
 * Seeds the CPU generator and every CUDA device's (torch.manual_seed). With a device, only that
 * device's generator ("cpu": torch.default_generator.manual_seed; "cuda:N": torch.cuda.manual_seed).
 */
export function manualSeed(seed: number, device?: string): void {
  if (!Number.isInteger(seed) || seed < 0) throw new TypeError(`manualSeed(): seed must be a non-negative integer, got ${seed}`);
  if (device === undefined) native.manualSeed(seed);
  else native.manualSeed(seed, checkDevice(device, "manualSeed()"));
}

/** The generator state of a device ("cpu" by default) as a uint8 tensor (torch.get_rng_state). */
export function getRngState(device = "cpu"): Tensor {
  return new Tensor(native.getRngState(checkDevice(device, "getRngState()")));
}
export function setRngState(state: Tensor, device = "cpu"): void {
  if (state.dtype !== "uint8") throw new TypeError(`setRngState(): state must be a uint8 tensor, got ${state.dtype}`);
  native.setRngState(state.handle, checkDevice(device, "setRngState()"));
}

/** torch.Generator()'s seed before manual_seed (c10's default_rng_seed_val). */
const DEFAULT_SEED = 67280421310721;

/**
 * A CPU generator of its own, as `torch.Generator().manual_seed(seed)`: the draws made inside `run`
 * take from it, in the order they would from a generator passed to each op, and the default
 * generator is left as it was. (It swaps its state in and out of the CPU generator: the same
 * Mersenne Twister stream as a separate torch.Generator.)
 */
export class Generator {
  #state: Tensor;
  constructor() {
    this.#state = Generator.#seeded(DEFAULT_SEED);
  }
  static #seeded(seed: number): Tensor {
    const saved = getRngState();
    manualSeed(seed, "cpu");
    const state = keep(getRngState());
    setRngState(saved);
    saved.dispose();
    return state;
  }
  manualSeed(seed: number): this {
    const next = Generator.#seeded(seed);
    this.#state.dispose();
    this.#state = next;
    return this;
  }
  run<T>(fn: () => T): T {
    const saved = getRngState();
    setRngState(this.#state);
    try {
      return fn();
    } finally {
      this.#state.dispose();
      this.#state = keep(getRngState());
      setRngState(saved);
      saved.dispose();
    }
  }
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
 * Under DDP the cores are this process's share (LOCAL_WORLD_SIZE).
 */
export function configureThreads(o: { threads?: number; blasThreads?: number; precision?: "fp32" | "bf16" } = {}): {
  threads: number;
  blasThreads: number | null;
} {
  const env = (k: string) => (process.env[k] ? Number(process.env[k]) : undefined);
  // Processes sharing the machine (LOCAL_WORLD_SIZE under `finetune launch`/torchrun) split its cores.
  const cores = Math.max(1, Math.floor(availableParallelism() / Math.max(1, env("LOCAL_WORLD_SIZE") ?? 1)));
  const bf16 = o.precision === "bf16";
  // OMP_NUM_THREADS, when set, is honoured as PyTorch honours it (torchrun's ranks, a user's shell).
  const threads = o.threads ?? env("FINETUNE_THREADS") ?? env("OMP_NUM_THREADS") ?? (bf16 ? cores : Math.max(1, Math.floor(cores / 2)));
  const blas = o.blasThreads ?? env("FINETUNE_BLAS_THREADS") ?? (bf16 ? 1 : cores);
  setNumThreads(threads);
  setBlasThreads(blas);
  return { threads: getNumThreads(), blasThreads: getBlasThreads() };
}

const cudaStat = (device: string | undefined, i: 0 | 1 | 2 | 3): number => native.memoryStats(checkDevice(device ?? "cuda", "torch.cuda memory"))[i];

/** torch.cuda: the device count, synchronization and the caching allocator's counters (bytes). */
export const cuda = {
  isAvailable: (): boolean => native.cudaAvailable(),
  deviceCount: (): number => native.cudaDeviceCount(),
  synchronize: (device = "cuda"): void => native.synchronize(checkDevice(device)),
  /** Bytes held by live tensors (torch.cuda.memory_allocated). */
  memoryAllocated: (device?: string): number => cudaStat(device, 0),
  maxMemoryAllocated: (device?: string): number => cudaStat(device, 1),
  /** Bytes the caching allocator holds from the driver, free blocks included (torch.cuda.memory_reserved). */
  memoryReserved: (device?: string): number => cudaStat(device, 2),
  maxMemoryReserved: (device?: string): number => cudaStat(device, 3),
  resetPeakMemoryStats: (device?: string): void => native.resetPeakMemoryStats(checkDevice(device ?? "cuda", "resetPeakMemoryStats()")),
  /** Returns the allocator's free blocks to the driver (torch.cuda.empty_cache). */
  emptyCache: (): void => native.emptyCache(),
};

/**
 * torch.backends.cuda: which attention kernels SDPA may choose, and TF32 for float32 matmuls.
 * backends.cpu: finetune-ts's own switch for its decoding kernel (native/src/linear_ops.cc).
 */
export const backends = {
  cpu: {
    /**
     * Linear layers with at most 8 input rows (a decoding step), run without autograd or autocast on
     * float32/bfloat16 CPU tensors, read each weight row once in a kernel of ours instead of BLAS's
     * GEMM (2–4× faster there; sums in another order, so the last bits may differ). On by default;
     * reads false where the CPU cannot take the path (no AVX2 + FMA, or not x86-64).
     */
    get smallBatchLinear(): boolean {
      return native.smallBatchLinear();
    },
    set smallBatchLinear(enabled: boolean) {
      native.setSmallBatchLinear(enabled);
    },
    /**
     * bfloat16 matrix products on the CPU (autocast's, or of bfloat16 operands) computed as float32
     * GEMMs of the operands rounded to bfloat16, then rounded back: the same sums (a product of two
     * bfloat16 values is exact in float32), in BLAS's order. Where the CPU has no bfloat16
     * arithmetic (no AVX512-BF16 or AMX), libtorch's bfloat16 GEMM is a scalar fallback ~100× slower
     * than float32's, so this is on by default exactly there (see native/src/bf16_gemm.cc).
     */
    get bf16GemmInFp32(): boolean {
      return native.bf16GemmInFp32();
    },
    set bf16GemmInFp32(enabled: boolean) {
      native.setBf16GemmInFp32(enabled);
    },
    /**
     * Dropout of float32, float64 and bfloat16 CPU tensors with its noise drawn in one vectorized pass
     * over a copy of the generator's mt19937 engine: the same noise as libtorch's bernoulli_ ÷ (1 − p),
     * bit for bit, and the generator left in the same state, 1.5–2× faster than libtorch's element-by-
     * element kernel (see native/src/dropout_ops.cc). On by default; off, dropout is libtorch's own.
     */
    get dropoutInOnePass(): boolean {
      return native.dropoutInOnePass();
    },
    set dropoutInOnePass(enabled: boolean) {
      native.setDropoutInOnePass(enabled);
    },
  },
  cuda: {
    enableFlashSdp: (enabled: boolean): void => native.setSdpBackend("flash", enabled),
    enableMemEfficientSdp: (enabled: boolean): void => native.setSdpBackend("memEfficient", enabled),
    enableMathSdp: (enabled: boolean): void => native.setSdpBackend("math", enabled),
    flashSdpEnabled: (): boolean => native.sdpBackends()[0],
    memEfficientSdpEnabled: (): boolean => native.sdpBackends()[1],
    mathSdpEnabled: (): boolean => native.sdpBackends()[2],
    matmul: {
      /** torch.backends.cuda.matmul.allow_tf32: float32 matmuls on tensor cores with a 10-bit mantissa (off by default). */
      get allowTf32(): boolean {
        return native.allowTf32();
      },
      set allowTf32(allow: boolean) {
        native.setAllowTf32(allow);
      },
    },
  },
};
export const mps = {
  isAvailable: (): boolean => native.mpsAvailable(),
};
export const torchVersion: string = native.torchVersion;
const [TORCH_MAJOR, TORCH_MINOR] = torchVersion.split(".").map(Number);
/** Whether this libtorch is at least major.minor (the native side's FT_TORCH_AT_LEAST). */
export function torchAtLeast(major: number, minor = 0): boolean {
  return TORCH_MAJOR > major || (TORCH_MAJOR === major && TORCH_MINOR >= minor);
}
/** Whether this libtorch has scaled_dot_product_attention (2.1 on); without it attention is composed from matmul and softmax. */
export const hasSdpa: boolean = native.hasSdpa;

/** Whether this CPU computes bfloat16 natively (AVX512-BF16 or AMX-BF16, from /proc/cpuinfo's flags); null where there is no such file. */
export function cpuHasBf16(): boolean | null {
  let info: string;
  try {
    info = readFileSync("/proc/cpuinfo", "utf8");
  } catch {
    return null;
  }
  return /\b(avx512_bf16|amx_bf16)\b/.test(info);
}
// Where the CPU is known to lack bfloat16 arithmetic, bfloat16 products go through float32 GEMMs.
native.setBf16GemmInFp32(cpuHasBf16() === false);
