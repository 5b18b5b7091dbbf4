// finetune-ts/onnx's building blocks: an ONNX graph under construction, the layers as ONNX nodes
// (the architectures' onnx() methods use them), and the fp16 and int8 passes. exportOnnx, which
// writes a model's folder, is in ../export.
export { OnnxGraph, DATA_TYPE, float, int, ints, type Attribute, type ElemType, type Initializer, type Node, type ValueInfo } from "./graph.js";
export { convertToFloat16, toHalfBits } from "./float16.js";
export { quantizeDynamicInt8, quantizeSymmetricInt8 } from "./quantize.js";
