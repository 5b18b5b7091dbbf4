// The environment a Python peer of a bench runs in: glibc's malloc tuned as PyTorch's CPU guides
// advise (an allocator that does not churn pages: on a small VM glibc's default mmap/trim behaviour
// makes small-model steps several times slower until it adapts), and none of the caller's MALLOC_*
// or finetune-ts settings. finetune-ts tunes its own malloc at load (native/src/train_ops.cc).
export const TUNED_MALLOC = { MALLOC_MMAP_THRESHOLD_: "33554432", MALLOC_TRIM_THRESHOLD_: "268435456", MALLOC_TOP_PAD_: "67108864" };
export const cleanEnv: NodeJS.ProcessEnv = Object.fromEntries(
  Object.entries(process.env).filter(([k]) => !k.startsWith("MALLOC_") && k !== "FINETUNE_MALLOC" && k !== "FINETUNE_COUNT_NATIVE_CALLS"),
);
export const peerEnv: NodeJS.ProcessEnv = { ...cleanEnv, ...TUNED_MALLOC };
