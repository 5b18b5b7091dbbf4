// libtorch's c10d as src/torch gives it to the layers above: a process group (TCPStore rendezvous +
// gloo), its collectives on Tensors, and DDP's Reducer. The policy around them (torchrun's
// environment, errors a user reads, the DDP wrapper) is in src/distributed.
import { native, type ProcessGroupRef, type ReducerRef } from "./native.js";
import { Tensor } from "./tensor.js";

export type { ProcessGroupRef, ReducerRef };
export type ReduceOp = "sum" | "max" | "min" | "product";

/** Whether this build of the addon has c10d (libtorch's distributed headers and gloo's were found). */
export const c10dBuilt: boolean = native.distributedBuilt;

export function c10dInit(o: {
  backend: string;
  masterAddr: string;
  masterPort: number;
  rank: number;
  worldSize: number;
  timeoutMs: number;
  storePrefix: string;
}): ProcessGroupRef {
  return native.distInit(o.backend, o.masterAddr, o.masterPort, o.rank, o.worldSize, o.timeoutMs, o.storePrefix);
}
export const c10dAllReduce = (g: ProcessGroupRef, t: Tensor, op: ReduceOp): void => native.distAllReduce(g, t.handle, op);
export const c10dBroadcast = (g: ProcessGroupRef, t: Tensor, src: number): void => native.distBroadcast(g, t.handle, src);
export const c10dAllGather = (g: ProcessGroupRef, t: Tensor): Tensor[] => native.distAllGather(g, t.handle).map((h) => new Tensor(h));
export const c10dBarrier = (g: ProcessGroupRef): void => native.distBarrier(g);
export const c10dBroadcastCoalesced = (g: ProcessGroupRef, ts: Tensor[], bufferBytes: number, src: number): void =>
  native.distBroadcastCoalesced(
    g,
    ts.map((t) => t.handle),
    bufferBytes,
    src,
  );
export const c10dDestroy = (g: ProcessGroupRef): void => native.distDestroy(g);

export function reducerCreate(
  g: ProcessGroupRef,
  params: Tensor[],
  o: { bucketCapBytes: number; findUnusedParameters: boolean; gradientAsBucketView: boolean },
): ReducerRef {
  return native.ddpCreate(
    g,
    params.map((p) => p.handle),
    o.bucketCapBytes,
    o.findUnusedParameters,
    o.gradientAsBucketView,
  );
}
export const reducerPrepareForward = (r: ReducerRef, sync: boolean): boolean => native.ddpPrepareForward(r, sync);
export const reducerPrepareForBackward = (r: ReducerRef, outputs: Tensor[]): void =>
  native.ddpPrepareForBackward(
    r,
    outputs.map((t) => t.handle),
  );
export const reducerDestroy = (r: ReducerRef): void => native.ddpDestroy(r);
