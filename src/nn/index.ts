// finetune-ts/nn: modules, layers, initialisers and the functional API.
export { Module, ModuleList, sizeMismatches } from "./module.js";
export { Linear, Embedding, LayerNorm, Dropout } from "./layers.js";
export * as init from "./init.js";
export * as F from "./functional.js";
