// DistributedDataParallel: what Python's torch/nn/parallel/distributed.py adds over c10d's Reducer,
// which does the real work (buckets of gradients all-reduced from autograd hooks as they become
// ready, overlapped with the rest of the backward, averaged over the ranks). At wrap time: c10d's
// check that every rank has the same parameter shapes, rank 0's parameters and buffers broadcast to
// all, buckets assigned by c10d's compute_bucket_assignment_by_size. Each forward: the reducer's
// bookkeeping, buffers broadcast, and the backward armed — unless inside noSync().
import { c10d, isGradEnabled, Tensor } from "../torch/index.js";
import type { Module } from "../nn/index.js";
import { broadcastCoalesced, defaultGroup } from "./process_group.js";

// Python DDP's broadcast buffer for module states (250 MiB).
const BROADCAST_BUCKET_BYTES = 250 * 1024 * 1024;

export interface DDPOptions {
  /** Gradient bucket size in MiB (default 25, as PyTorch). */
  bucketCapMb?: number;
  /** Traverse the outputs each step to mark parameters the forward did not use (default false). */
  findUnusedParameters?: boolean;
  /** Broadcast rank 0's buffers before each forward (default true). */
  broadcastBuffers?: boolean;
  /** Gradients are views into the all-reduce buckets, saving a copy (default false). */
  gradientAsBucketView?: boolean;
}

type Forward = (...args: never[]) => unknown;

/** Tensors anywhere in a forward's output (for find_unused_parameters). */
function tensorsIn(x: unknown, out: Tensor[] = []): Tensor[] {
  if (x instanceof Tensor) out.push(x);
  else if (Array.isArray(x)) for (const v of x) tensorsIn(v, out);
  else if (x && typeof x === "object") for (const v of Object.values(x)) tensorsIn(v, out);
  return out;
}

export class DistributedDataParallel<M extends Module & { forward: Forward }> {
  readonly module: M;
  readonly rank: number;
  readonly worldSize: number;
  readonly findUnusedParameters: boolean;
  readonly broadcastBuffers: boolean;
  #reducer: c10d.ReducerRef | null;
  #buffers: Tensor[];
  #requireBackwardGradSync = true;
  #requireForwardParamSync = true;

  constructor(module: M, o: DDPOptions = {}) {
    const g = defaultGroup();
    const capMb = o.bucketCapMb ?? 25;
    if (!(capMb > 0)) throw new RangeError(`DistributedDataParallel: bucketCapMb must be positive, got ${capMb}`);
    this.module = module;
    this.rank = g.rank;
    this.worldSize = g.worldSize;
    this.findUnusedParameters = o.findUnusedParameters ?? false;
    this.broadcastBuffers = o.broadcastBuffers ?? true;
    // Parameters once each (tied ones are one tensor), in module order, as Python's _build_params_for_reducer.
    const all = [...module.namedParameters()].map(([, p]) => p);
    const params = all.filter((p) => p.requiresGrad);
    if (!params.length) throw new Error("DistributedDataParallel: the module has no parameter that requires a gradient");
    this.#buffers = [...module.namedBuffers()].map(([, b]) => b);
    // The reducer verifies the shapes across ranks first, so a mismatch is reported before any broadcast.
    this.#reducer = c10d.reducerCreate(g.ref, params, {
      bucketCapBytes: Math.round(capMb * 1024 * 1024),
      findUnusedParameters: this.findUnusedParameters,
      gradientAsBucketView: o.gradientAsBucketView ?? false,
    });
    // Python's _sync_module_states broadcasts the whole state dict: frozen parameters too (a frozen
    // part initialised on rank 0 only must match on every rank), not just what the reducer syncs.
    broadcastCoalesced([...all, ...this.#buffers], BROADCAST_BUCKET_BYTES, 0);
  }

  #need(): c10d.ReducerRef {
    if (!this.#reducer) throw new Error("DistributedDataParallel: used after destroy()");
    return this.#reducer;
  }

  /** The wrapped module's forward, synchronizing gradients in the backward that follows (outside noSync). */
  forward(...args: Parameters<M["forward"]>): ReturnType<M["forward"]> {
    const reducer = this.#need();
    const grad = isGradEnabled();
    const sync = grad && this.#requireBackwardGradSync;
    if (grad) c10d.reducerPrepareForward(reducer, sync);
    if (this.broadcastBuffers && this.#requireForwardParamSync && this.#buffers.length) broadcastCoalesced(this.#buffers, BROADCAST_BUCKET_BYTES, 0);
    const out = this.module.forward(...args) as ReturnType<M["forward"]>;
    if (sync) {
      this.#requireForwardParamSync = true;
      c10d.reducerPrepareForBackward(reducer, this.findUnusedParameters ? tensorsIn(out) : []);
    } else {
      this.#requireForwardParamSync = false;
    }
    return out;
  }

  /** Python's no_sync(): forwards and backwards inside fn accumulate gradients locally, unsynchronized. */
  noSync<T>(fn: () => T): T {
    const old = this.#requireBackwardGradSync;
    this.#requireBackwardGradSync = false;
    try {
      return fn();
    } finally {
      this.#requireBackwardGradSync = old;
    }
  }

  /** Frees the reducer, which takes its autograd hooks off the parameters (the module trains alone again). */
  destroy(): void {
    if (this.#reducer) c10d.reducerDestroy(this.#reducer);
    this.#reducer = null;
  }
}
