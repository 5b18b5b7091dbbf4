// ONNX export judged by onnxruntime (onnxruntime-node, its CPU build, every graph optimization on):
// each architecture × head gives our libtorch outputs (fp32 within 1e-4, fp16 within 1e-2, q8 within
// quantization noise); the input/output names and dynamic axes are HF's exporter's; opsets 14/17/20;
// the fp16 and int8 arithmetic against hand-computed values; the folder layout; bad input.
import { test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, mkdtempSync, readdirSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as torch from "../src/torch/index.js";
import {
  AutoModel,
  AutoModelForMaskedLM,
  AutoModelForQuestionAnswering,
  AutoModelForSequenceClassification,
  AutoModelForTokenClassification,
  PreTrainedModel,
  type ModelOutput,
} from "../src/models/index.js";
import { exportOnnx, onnxModelBytes, type OnnxDtype } from "../src/export/index.js";
import { toHalfBits, quantizeSymmetricInt8 } from "../src/onnx/index.js";

import type { Tensor as OrtTensor } from "onnxruntime-node";
import { needs } from "./helpers.js";

// A dev dependency: where only the production packages are installed (the GPU machine's pack), skip.
const ortModule = await import("onnxruntime-node").catch(() => undefined);
const noOrt = needs("onnxruntime", !!ortModule, "onnxruntime-node is not installed (a dev dependency: npm ci installs it)");
const ort = ortModule ?? ({} as typeof import("onnxruntime-node"));

// onnxruntime's int8 MatMul on x86 without VNNI (AVX2's vpmaddubsw) adds pairs of uint8 × int8
// products in 16 bits, which saturate for full-range int8 weights (onnxruntime's quantization docs
// name this "saturation issue" of U8S8 on non-VNNI machines): there the noise on these deliberately
// wide weights is about twice as large. The criterion that matters, the same predictions, is the
// MRPC test's.
const cpuFlags = existsSync("/proc/cpuinfo") ? readFileSync("/proc/cpuinfo", "utf8") : "";
const Q8_NOISE = /\b(avx512_vnni|avx_vnni|asimddp)\b/.test(cpuFlags) || process.arch !== "x64" ? 0.2 : 0.4;

type Auto = { fromConfig(c: Record<string, unknown>): PreTrainedModel };
const HEADS: [string, Auto, string[]][] = [
  ["base", AutoModel, ["last_hidden_state"]],
  ["sequence classification", AutoModelForSequenceClassification, ["logits"]],
  ["token classification", AutoModelForTokenClassification, ["logits"]],
  ["question answering", AutoModelForQuestionAnswering, ["start_logits", "end_logits"]],
  ["masked LM", AutoModelForMaskedLM, ["logits"]],
];
// Weights drawn wider than HF's 0.02 so the outputs are far from zero and differences show.
const CONFIGS: Record<string, Record<string, unknown>> = {
  bert: {
    model_type: "bert",
    vocab_size: 60,
    hidden_size: 32,
    num_hidden_layers: 2,
    num_attention_heads: 4,
    intermediate_size: 48,
    max_position_embeddings: 40,
    num_labels: 3,
    initializer_range: 0.2,
  },
  distilbert: {
    model_type: "distilbert",
    vocab_size: 60,
    dim: 32,
    n_layers: 2,
    n_heads: 4,
    hidden_dim: 48,
    max_position_embeddings: 40,
    num_labels: 3,
    initializer_range: 0.2,
  },
  roberta: {
    model_type: "roberta",
    vocab_size: 60,
    hidden_size: 32,
    num_hidden_layers: 2,
    num_attention_heads: 4,
    intermediate_size: 48,
    max_position_embeddings: 42,
    num_labels: 3,
    initializer_range: 0.2,
    hidden_act: "gelu_new",
  },
  // A window of 4 over sequences of up to 10 tokens: the local layers' masks matter.
  modernbert: {
    model_type: "modernbert",
    vocab_size: 60,
    pad_token_id: 0,
    hidden_size: 32,
    intermediate_size: 48,
    num_hidden_layers: 4,
    num_attention_heads: 4,
    max_position_embeddings: 40,
    local_attention: 4,
    num_labels: 3,
    initializer_range: 0.2,
    norm_bias: true,
  },
};
const INPUT_NAMES: Record<string, string[]> = {
  bert: ["input_ids", "attention_mask", "token_type_ids"],
  distilbert: ["input_ids", "attention_mask"],
  roberta: ["input_ids", "attention_mask"],
  modernbert: ["input_ids", "attention_mask"],
};

/** A batch with padding in it: rows of ids (pad id at the end), masks and token types. */
function batch(rows: number[][], pad: number) {
  const len = Math.max(...rows.map((r) => r.length));
  const ids = rows.map((r) => [...r, ...new Array<number>(len - r.length).fill(pad)]);
  const mask = rows.map((r) => [...r.map(() => 1), ...new Array<number>(len - r.length).fill(0)]);
  const types = rows.map((r) => [...r.map((_, i): number => (i >= r.length / 2 ? 1 : 0)), ...new Array<number>(len - r.length).fill(0)]);
  return { ids, mask, types };
}

const int64 = (rows: number[][]) =>
  new ort.Tensor(
    "int64",
    BigInt64Array.from(rows.flat(), (v) => BigInt(v)),
    [rows.length, rows[0].length],
  );

async function session(bytes: Uint8Array) {
  return ort.InferenceSession.create(bytes, { graphOptimizationLevel: "all", intraOpNumThreads: 1 });
}

/** The model's outputs by HF's ONNX names, from our forward in eval mode. */
function ours(model: PreTrainedModel, b: ReturnType<typeof batch>, withTypes: boolean): Record<string, number[]> {
  return torch.noGrad(() =>
    torch.tidy((): Record<string, number[]> => {
      const out = model.forward({
        input_ids: torch.tensor(b.ids),
        attention_mask: torch.tensor(b.mask),
        ...(withTypes ? { token_type_ids: torch.tensor(b.types) } : {}),
      });
      const flat = (t: torch.Tensor | undefined) => Array.from(t!.contiguous().dataSync() as Float32Array);
      if (out.startLogits) return { start_logits: flat(out.startLogits), end_logits: flat(out.endLogits) };
      if (out.logits) return { logits: flat(out.logits) };
      return { last_hidden_state: flat(out.lastHiddenState), ...(out.poolerOutput ? { pooler_output: flat(out.poolerOutput) } : {}) };
    }),
  );
}

async function theirs(
  bytes: Uint8Array,
  b: ReturnType<typeof batch>,
): Promise<{ values: Record<string, number[]>; inputNames: readonly string[]; outputNames: readonly string[] }> {
  const s = await session(bytes);
  const feeds: Record<string, OrtTensor> = { input_ids: int64(b.ids), attention_mask: int64(b.mask) };
  if (s.inputNames.includes("token_type_ids")) feeds.token_type_ids = int64(b.types);
  const out = await s.run(feeds);
  const values = Object.fromEntries(Object.entries(out).map(([k, v]) => [k, Array.from(v.data as Float32Array)]));
  return { values, inputNames: s.inputNames, outputNames: s.outputNames };
}

const maxDiff = (a: number[], b: number[]) => a.reduce((m, v, i) => Math.max(m, Math.abs(v - b[i])), 0);

/** The values of a [B, L, …] output at the batch's real tokens (all values when the output is per sequence). */
function realTokens(b: ReturnType<typeof batch>, size: number, perToken: boolean): (values: number[]) => number[] {
  if (!perToken) return (values) => values;
  const mask = b.mask.flat();
  const width = size / mask.length;
  return (values) => values.filter((_, i) => mask[Math.floor(i / width)] === 1);
}

for (const [arch, config] of Object.entries(CONFIGS)) {
  for (const [head, auto, outputs] of HEADS) {
    torch.manualSeed(0);
    const model = auto.fromConfig(head === "question answering" ? { ...config, num_labels: 2 } : config);
    test(`ONNX ${arch} ${head}: onnxruntime gives our outputs (fp32 1e-4, fp16 1e-2, q8 noise), HF's names, dynamic axes`, { skip: noOrt }, async (t) => {
      model.eval();
      const withTypes = arch === "bert";
      const pad = arch === "roberta" ? 1 : 0;
      const shapes = [
        batch(
          [
            [2, 5, 6, 7, 8, 3],
            [2, 9, 10, 3],
          ],
          pad,
        ),
        batch(
          [
            [2, 11, 12, 13, 14, 15, 16, 17, 18, 3],
            [2, 4, 3],
            [2, 20, 21, 22, 3],
          ],
          pad,
        ),
      ];
      const report: string[] = [];
      for (const dtype of ["fp32", "fp16", "q8"] as OnnxDtype[]) {
        const bytes = onnxModelBytes(model, { dtype });
        for (const b of shapes) {
          const want = ours(model, b, withTypes);
          const got = await theirs(bytes, b);
          assert.deepEqual([...got.inputNames].sort(), [...INPUT_NAMES[arch]].sort(), "inputs as HF's exporter names them");
          const expectOutputs = head === "base" && (arch === "bert" || arch === "roberta") ? [...outputs, "pooler_output"] : outputs;
          assert.deepEqual([...got.outputNames].sort(), [...expectOutputs].sort());
          for (const name of expectOutputs) {
            assert.equal(got.values[name].length, want[name].length, `${name}: size`);
            // Per-token outputs are compared on the real tokens: a padding token's own output means
            // nothing, and under a sliding window (ModernBERT) a padding query far from every real
            // token attends to nothing, where fp16's mask minimum (−65504) and fp32's (−3.4e38) give
            // different softmaxes (as they do in PyTorch).
            const real = realTokens(b, want[name].length, head !== "sequence classification" && name !== "pooler_output");
            const d = maxDiff(real(got.values[name]), real(want[name]));
            const scale = Math.max(...want[name].map(Math.abs));
            // q8: embeddings and weights in int8, activations quantized to uint8 at every MatMul; on
            // these deliberately wide random weights the noise reaches ~10% of the output's range
            // (the q8 criterion that matters, the same predictions, is checked on MRPC in onnx_mrpc).
            const tol = dtype === "fp32" ? 1e-4 : dtype === "fp16" ? 1e-2 : Q8_NOISE * Math.max(scale, 1);
            assert.ok(d <= tol, `${dtype} ${name}: max |onnxruntime − ours| = ${d} > ${tol} (outputs up to ${scale})`);
            report.push(`${dtype} ${name} ${d.toExponential(1)}`);
          }
        }
      }
      t.diagnostic(report.join(", "));
    });
  }
}

test("ONNX ModernBERT with mean pooling: onnxruntime gives our logits for a padded batch", { skip: noOrt }, async () => {
  torch.manualSeed(2);
  const model = AutoModelForSequenceClassification.fromConfig({ ...CONFIGS.modernbert, classifier_pooling: "mean" });
  model.eval();
  const b = batch(
    [
      [2, 11, 12, 13, 14, 15, 16, 17, 18, 3],
      [2, 4, 3],
    ],
    0,
  );
  const want = ours(model, b, false);
  const got = await theirs(onnxModelBytes(model, { dtype: "fp32" }), b);
  const d = maxDiff(got.values.logits, want.logits);
  assert.ok(d <= 1e-4, `max |onnxruntime − ours| = ${d}`);
});

test("ONNX opsets 14 (LayerNorm in plain ops), 17 (LayerNormalization), 20 (Gelu) give the same outputs", { skip: noOrt }, async () => {
  torch.manualSeed(1);
  const model = AutoModelForSequenceClassification.fromConfig(CONFIGS.bert);
  model.eval();
  const b = batch(
    [
      [2, 5, 6, 7, 3],
      [2, 8, 3],
    ],
    0,
  );
  const want = ours(model, b, true).logits;
  const ops = (bytes: Uint8Array) => ["LayerNormalization", "Erf", "Gelu"].filter((op) => Buffer.from(bytes).includes(op));
  for (const [opset, expected] of [
    [14, ["Erf"]],
    [17, ["LayerNormalization", "Erf"]],
    [20, ["LayerNormalization", "Gelu"]],
  ] as const) {
    const bytes = onnxModelBytes(model, { opset });
    assert.deepEqual(ops(bytes), expected, `opset ${opset}: ops used`);
    const d = maxDiff((await theirs(bytes, b)).values.logits, want);
    assert.ok(d <= 1e-4, `opset ${opset}: ${d}`);
  }
  assert.throws(() => onnxModelBytes(model, { opset: 13 }), /opset must be an integer from 14 to 21, got 13/);
  assert.throws(() => onnxModelBytes(model, { dtype: "int4" as OnnxDtype }), /dtype must be one of fp32, fp16, q8, got int4/);
});

test("ONNX masked LM: the decoder's weight is the tied word embeddings, stored once", () => {
  torch.manualSeed(2);
  const cfg = { ...CONFIGS.bert, vocab_size: 2000 };
  const mlm = AutoModelForMaskedLM.fromConfig(cfg);
  const base = AutoModel.fromConfig(cfg);
  const embeddingBytes = 2000 * 32 * 4;
  const extra = onnxModelBytes(mlm).length - onnxModelBytes(base).length;
  // The MLM head adds a 32×32 transform, a LayerNorm and a 2000 bias; a second copy of the embeddings would add 256 KB.
  assert.ok(extra < embeddingBytes / 4, `the MLM file is ${extra} bytes larger than the bare model's`);
});

test("fp16 conversion: IEEE half bits with round to nearest even, clamped at ±65504", () => {
  const cases: [number, number][] = [
    [1, 0x3c00],
    [-2, 0xc000],
    [0.1, 0x2e66],
    [65504, 0x7bff],
    [1e6, 0x7bff],
    [-3.4028234663852886e38, 0xfbff],
    [5.960464477539063e-8, 0x0001],
    [2 ** -25, 0x0000],
    [0, 0],
    [1 + 2 ** -11, 0x3c00],
    [1 + 3 * 2 ** -11, 0x3c02],
    [6.103515625e-5, 0x0400],
  ];
  for (const [v, bits] of cases) assert.equal(toHalfBits(v), bits, `${v} → 0x${toHalfBits(v).toString(16)}, expected 0x${bits.toString(16)}`);
  assert.equal(toHalfBits(NaN) & 0x7c00, 0x7c00);
});

test("q8: weights as onnxruntime's dynamic quantizer stores them (symmetric int8, scale max|w|/127, half to even)", () => {
  const { q, scale } = quantizeSymmetricInt8(Float32Array.from([0.5, -1.27, 0.005, 1.0, -0.015]));
  assert.equal(scale, Math.fround(1.27 / 127));
  // 0.5/0.01 = 50, −127, 0.5 → 0 (half to even), 100, −1.5 → −2.
  assert.deepEqual(Array.from(q), [50, -127, 0, 100, -2]);
  assert.equal(quantizeSymmetricInt8(new Float32Array(4)).scale, 1, "an all-zero weight gets scale 1, as onnxruntime's");

  torch.manualSeed(3);
  const model = AutoModelForSequenceClassification.fromConfig({ ...CONFIGS.bert, vocab_size: 8, hidden_size: 64, intermediate_size: 256 });
  const fp32 = onnxModelBytes(model);
  const q8 = onnxModelBytes(model, { dtype: "q8" });
  const count = (bytes: Uint8Array, s: string) => Buffer.from(bytes).toString("latin1").split(s).length - 1;
  const linears = [...model.namedModules()].filter(([, m]) => m.constructor.name === "Linear").length;
  assert.equal(count(q8, "MatMulInteger") / 2, linears, "one MatMulInteger per Linear (each named once in the node and once in its name)");
  assert.ok(q8.length < fp32.length * 0.4, `the int8 file (${q8.length} B) is about a quarter of the fp32 one (${fp32.length} B)`);
});

test("exportOnnx writes transformers.js's layout, atomically; a model it cannot export leaves the folder as it was", { skip: noOrt }, async () => {
  const dir = mkdtempSync(join(tmpdir(), "ft-onnx-"));
  torch.manualSeed(4);
  const model = AutoModelForTokenClassification.fromConfig(CONFIGS.roberta);
  const files = exportOnnx(model, join(dir, "out"), { dtype: ["fp32", "fp16", "q8"] });
  assert.deepEqual(files.map((f) => f.path.slice(dir.length + 5)).sort(), [
    "config.json",
    "onnx/model.onnx",
    "onnx/model_fp16.onnx",
    "onnx/model_quantized.onnx",
  ]);
  assert.deepEqual(readdirSync(join(dir, "out", "onnx")).sort(), ["model.onnx", "model_fp16.onnx", "model_quantized.onnx"], "no temporary file left");
  const config = JSON.parse(readFileSync(join(dir, "out", "config.json"), "utf8")) as {
    architectures: string[];
    model_type: string;
    id2label: Record<string, string>;
  };
  assert.deepEqual(config.architectures, ["RobertaForTokenClassification"]);
  assert.equal(config.model_type, "roberta");
  assert.equal(Object.keys(config.id2label).length, 3);
  for (const f of files.filter((f) => f.path.endsWith(".onnx"))) assert.ok((await session(readFileSync(f.path))).inputNames.includes("input_ids"), f.path);

  class MyModel extends PreTrainedModel {
    forward(): ModelOutput {
      return {};
    }
  }
  const target = join(dir, "never");
  assert.throws(() => exportOnnx(new MyModel(model.config), target), /MyModel cannot be exported to ONNX \(BERT, DistilBERT and RoBERTa models can\)/);
  assert.equal(existsSync(target), false);
});
