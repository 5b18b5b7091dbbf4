// finetune-ts/optim: optimizers, learning-rate schedules, gradient clipping and loss scaling.
export { Optimizer, AdamW, SGD, type ParamGroup, type ParamsArg, type OptimizerStateDict, type AdamWOptions, type SGDOptions } from "./optimizer.js";
export * from "./schedules.js";
export { clipGradNorm, clipGradNormTensor } from "./clip.js";
export { GradScaler, type GradScalerOptions } from "./grad_scaler.js";
export { saveOptimizerState, loadOptimizerState } from "./serialization.js";
