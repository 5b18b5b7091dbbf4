// finetune-ts/distributed: data parallel training over libtorch's c10d — the default process group
// (torchrun's environment, TCPStore rendezvous, gloo), its collectives, DistributedDataParallel over
// c10d's Reducer, and the launcher behind `finetune launch`.
export {
  initProcessGroup,
  isInitialized,
  torchrunInt,
  getRank,
  getWorldSize,
  getBackend,
  barrier,
  allReduce,
  broadcast,
  allGather,
  destroyProcessGroup,
  reduceNumber,
  gatherPadded,
  type InitProcessGroupOptions,
  type Backend,
} from "./process_group.js";
export { DistributedDataParallel, type DDPOptions } from "./ddp.js";
export { launch, freePort, watchLauncher, type LaunchOptions, type LaunchResult } from "./launch.js";
