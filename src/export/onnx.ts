// exportOnnx: a model (and its tokenizer) as the folder transformers.js and onnxruntime load —
// config.json, tokenizer.json, tokenizer_config.json, onnx/model.onnx (fp32), onnx/model_fp16.onnx,
// onnx/model_quantized.onnx (dynamic int8) — the layout of the Hub's ONNX repositories. Each file is
// written to a temporary name and renamed, so an interrupted export leaves no half file.
import { existsSync, mkdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import type { PreTrainedModel } from "../models/index.js";
import type { PreTrainedTokenizer } from "../tokenizers/index.js";
import { writeFileAtomic } from "../util/files.js";
import { OnnxGraph, convertToFloat16, quantizeDynamicInt8 } from "../onnx/index.js";
import { LoraLinear, ModulesToSaveWrapper } from "../peft/lora_layer.js";

export type OnnxDtype = "fp32" | "fp16" | "q8";
export const ONNX_DTYPES: readonly OnnxDtype[] = ["fp32", "fp16", "q8"];
/** The file transformers.js loads for each dtype (its `dtype` option). */
export const ONNX_FILE: Record<OnnxDtype, string> = { fp32: "model.onnx", fp16: "model_fp16.onnx", q8: "model_quantized.onnx" };
export const isOnnxDtype = (d: string): d is OnnxDtype => (ONNX_DTYPES as readonly string[]).includes(d);
export const MIN_OPSET = 14;
export const DEFAULT_OPSET = 17;
export const MAX_OPSET = 21;

export interface ExportOnnxOptions {
  /** Written beside the model (tokenizer.json, tokenizer_config.json, …) so the browser side has one. */
  tokenizer?: PreTrainedTokenizer;
  /** ONNX opset, 14–21 (default 17: LayerNormalization is one op; from 20 GELU is too). */
  opset?: number;
  /** Which files: "fp32" → onnx/model.onnx, "fp16" → onnx/model_fp16.onnx, "q8" → onnx/model_quantized.onnx (default fp32). */
  dtype?: OnnxDtype | OnnxDtype[];
}

export interface ExportedFile {
  path: string;
  bytes: number;
}

/** The model's fp32 graph, its weights read once. */
function modelGraph(model: PreTrainedModel, opset = DEFAULT_OPSET): OnnxGraph {
  if (!Number.isInteger(opset) || opset < MIN_OPSET || opset > MAX_OPSET)
    throw new RangeError(`exportOnnx: opset must be an integer from ${MIN_OPSET} to ${MAX_OPSET}, got ${opset}`);
  // The graph reads each linear layer's weight: an unmerged adapter would be left out without a word.
  const adapted = [...model.namedModules()].find(([, m]) => m instanceof LoraLinear || m instanceof ModulesToSaveWrapper);
  if (adapted)
    throw new Error(
      `exportOnnx: ${model.constructor.name} holds LoRA adapters ('${adapted[0]}'); merge them first (peftModel.mergeAndUnload()) and export the merged model`,
    );
  const g = new OnnxGraph({ opset, names: model.namedParameters() });
  model.onnx(g);
  return g;
}

function checkDtype(dtype: OnnxDtype): void {
  if (!isOnnxDtype(dtype)) throw new RangeError(`exportOnnx: dtype must be one of ${ONNX_DTYPES.join(", ")}, got ${String(dtype)}`);
}

/** `fp32` (a graph of a model's) in one dtype, encoded: the passes rewrite a copy, so fp32 serves every dtype. */
function encodeAs(model: PreTrainedModel, fp32: OnnxGraph, dtype: OnnxDtype): Uint8Array {
  const g = dtype === "fp32" ? fp32 : fp32.copy();
  if (dtype === "fp16") convertToFloat16(g);
  if (dtype === "q8") quantizeDynamicInt8(g);
  return g.encode({
    producerVersion: PRODUCER_VERSION,
    docString: `${model.constructor.name} exported by finetune-ts`,
    metadata: { architecture: model.constructor.name, dtype },
  });
}

/** The model's graph in one dtype, encoded. */
export function onnxModelBytes(model: PreTrainedModel, o: { opset?: number; dtype?: OnnxDtype } = {}): Uint8Array {
  const dtype = o.dtype ?? "fp32";
  checkDtype(dtype);
  return encodeAs(model, modelGraph(model, o.opset), dtype);
}

/** Writes `dir` as transformers.js expects it; returns the files written with their sizes. */
export function exportOnnx(model: PreTrainedModel, dir: string, o: ExportOnnxOptions = {}): ExportedFile[] {
  const dtypes = [...new Set(Array.isArray(o.dtype) ? o.dtype : [o.dtype ?? "fp32"])];
  if (!dtypes.length) throw new RangeError("exportOnnx: dtype is an empty list");
  dtypes.forEach(checkDtype);
  // Every file's bytes are made before anything is written: a model that cannot be exported leaves dir as it was.
  const fp32 = modelGraph(model, o.opset);
  const graphs = dtypes.map((dtype) => [dtype, encodeAs(model, fp32, dtype)] as const);
  mkdirSync(join(dir, "onnx"), { recursive: true });
  const written: string[] = [];
  const config = model.config.toJsonString({ architectures: [model.constructor.name], torch_dtype: "float32" });
  writeFileAtomic(join(dir, "config.json"), config);
  written.push(join(dir, "config.json"));
  if (o.tokenizer) written.push(...o.tokenizer.savePretrained(dir));
  for (const [dtype, bytes] of graphs) {
    const path = join(dir, "onnx", ONNX_FILE[dtype]);
    writeFileAtomic(path, bytes);
    written.push(path);
  }
  return written.map((path) => ({ path, bytes: statSync(path).size }));
}

/** finetune-ts's version, from its package.json (two folders up from src/export, three from dist/src/export). */
const PRODUCER_VERSION =
  ["../../package.json", "../../../package.json"]
    .map((rel) => new URL(rel, import.meta.url))
    .filter((url) => existsSync(url))
    .map((url) => JSON.parse(readFileSync(url, "utf8")) as { name?: string; version?: string })
    .find((pkg) => pkg.name === "finetune-ts")?.version ?? "unknown";
