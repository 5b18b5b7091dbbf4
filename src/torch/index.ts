// finetune-ts/torch: tensors, autograd, memory scopes and safetensors on libtorch.
import { registerTensorMaker } from "../util/tensor_maker.js";
import { tensor as makeTensor } from "./creation.js";
export { Tensor, type Scalar, type TensorOrScalar, type NestedArray } from "./tensor.js";
export { type DType, isFloating, elementBytes } from "./dtype.js";
export * from "./creation.js";
export * from "./ops.js";
export { noGrad, enableGrad, isGradEnabled, setGradEnabled, autocast, isAutocastEnabled, type AutocastOptions } from "./autograd.js";
export { tidy, keep, dispose, liveTensors } from "./scope.js";
export { checkpoint, autogradGrad, liveCheckpoints } from "./checkpoint.js";
export * from "./runtime.js";
export { native as _native, nativeCallCount } from "./native.js";
export * as multiTensor from "./multi_tensor.js";
export * as c10d from "./c10d.js";
export { SafetensorsFile, SafetensorsError, loadFile, saveFile, loadMetadata, type TensorInfo } from "./safetensors.js";

// Layers below this one that make tensors on request (tokenizers) get them through this factory.
registerTensorMaker((data, o) => makeTensor(data as never, o));
