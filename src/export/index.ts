// finetune-ts/export: a fine-tuned model as files another runtime loads — ONNX for onnxruntime and
// transformers.js (in Node, in the browser).
export {
  exportOnnx,
  onnxModelBytes,
  isOnnxDtype,
  ONNX_DTYPES,
  ONNX_FILE,
  MIN_OPSET,
  MAX_OPSET,
  DEFAULT_OPSET,
  type ExportOnnxOptions,
  type ExportedFile,
  type OnnxDtype,
} from "./onnx.js";
