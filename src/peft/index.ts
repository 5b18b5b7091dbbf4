// finetune-ts/peft: LoRA adapters as Hugging Face's PEFT makes, saves and loads them.
export { LoraConfig, ALL_LINEAR, DEFAULT_TARGET_MODULES, PEFT_VERSION, type LoraConfigOptions, type LoraBias, type TaskType } from "./lora_config.js";
export { LoraLinear, ModulesToSaveWrapper, ModuleDict, type LoraBaseLayer, type TunerLayer } from "./lora_layer.js";
export {
  getPeftModel,
  PeftModel,
  LoraModel,
  injectAdapter,
  targetModuleMatches,
  minimalTargetModules,
  ADAPTER_CONFIG_NAME,
  ADAPTER_WEIGHTS_NAME,
} from "./peft_model.js";
