#!/usr/bin/env node
// Generates the code native/ops.yaml declares: the addon's glue for each op (native/gen/ops.cc) and
// its TypeScript side (src/torch/ops_gen.ts: the NativeOps signatures and the TensorOps methods).
// Run by `npm run build:ts` and by scripts/build-native.mjs; the outputs are not committed.
// Usage: node scripts/gen-ops.mjs [--check]   (--check: parse and validate the table only)
import { mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { parse } from "yaml";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const TABLE = join(root, "native", "ops.yaml");

// How each argument type is read in C++ (`i`: its position), typed in the addon's TS signature, and
// written in a Tensor method.
const TYPES = {
  Tensor: { cpp: (i) => `T(info, ${i})`, native: "H", ts: "T", pass: (n) => `${n}.handle` },
  "Tensor?": { cpp: (i) => `OptT(info, ${i})`, native: "Opt<H>", ts: "T | null", pass: (n) => `${n}?.handle` },
  "Tensor[]": { cpp: (i) => `TList(info, ${i})`, native: "H[]", ts: "T[]", pass: (n) => `${n}.map((t) => t.handle)` },
  TensorOrScalar: { cpp: null, native: "H | Num", ts: "T | Scalar", pass: (n) => `operand(${n})` },
  Scalar: { cpp: (i) => `ToScalar(info, ${i})`, native: "Num", ts: "number", pass: (n) => n },
  "Scalar?": { cpp: (i) => `OptScalar(info, ${i})`, native: "Opt<number>", ts: "number | null", pass: (n) => n },
  int: { cpp: (i) => `Int(info, ${i})`, native: "number", ts: "number", pass: (n) => n },
  "int?": { cpp: (i) => `OptInt(info, ${i})`, native: "Opt<number>", ts: "number | null", pass: (n) => n },
  "int[]": { cpp: (i) => `Ints(info, ${i})`, native: "number[]", ts: "number[]", pass: (n) => n },
  "int[]?": { cpp: (i) => `OptInts(info, ${i})`, native: "Opt<number[]>", ts: "number[] | null", pass: (n) => n },
  "int|int[]": { cpp: null, native: "number | number[]", ts: "number | number[]", pass: (n) => n },
  float: { cpp: (i) => `Num(info, ${i})`, native: "number", ts: "number", pass: (n) => n },
  "float?": { cpp: (i) => `OptNum(info, ${i})`, native: "Opt<number>", ts: "number | null", pass: (n) => n },
  bool: { cpp: (i) => `Bool(info, ${i})`, native: "boolean", ts: "boolean", pass: (n) => n },
  str: { cpp: (i) => `Str(info, ${i})`, native: "string", ts: "string", pass: (n) => n },
  "DType?": { cpp: (i) => `OptDType(info, ${i})`, native: "Opt<number>", ts: "DType", pass: (n) => `(${n} === undefined ? null : dtypeCode(${n}))` },
};
const RETURNS = {
  Tensor: { native: "H", ts: "T", cpp: (e) => `return Wrap(info.Env(), ${e});`, wrap: (c) => `return this._wrap(${c})` },
  "Tensor[]": { native: "H[]", ts: "T[]", cpp: (e) => `return WrapList(info.Env(), ${e});`, wrap: (c) => `return ${c}.map((x) => this._wrap(x))` },
  "(Tensor, Tensor)": {
    native: "[H, H]",
    ts: "[T, T]",
    cpp: (e) => `auto r = ${e};\n  return WrapList(info.Env(), {std::get<0>(r), std::get<1>(r)});`,
    wrap: (c) => `const [a, b] = ${c};\n    return [this._wrap(a), this._wrap(b)]`,
  },
  "Tensor|(Tensor, Tensor)": { native: "H | [H, H]", ts: null, cpp: null, wrap: null },
  bool: { native: "boolean", ts: "boolean", cpp: (e) => `return Napi::Boolean::New(info.Env(), ${e});`, wrap: (c) => `return ${c}` },
  self: { native: "void", ts: "this", cpp: (e) => `${e};\n  return info.Env().Undefined();`, wrap: (c) => `${c};\n    return this` },
};

export function parseSignature(sig) {
  const m = /^(\w+)\((.*)\)\s*->\s*(.+)$/.exec(sig);
  if (!m) throw new Error(`ops.yaml: '${sig}' is not "name(Type arg, ...) -> Return"`);
  const [, name, argText, ret] = m;
  const args = argText
    .split(",")
    .map((s) => s.trim())
    .filter(Boolean)
    .map((a) => {
      const am = /^(\S+)\s+(\w+)(?:=(.+))?$/.exec(a);
      if (!am) throw new Error(`ops.yaml: ${name}: argument '${a}' is not "Type name[=default]"`);
      const [, type, argName, dflt] = am;
      if (!TYPES[type]) throw new Error(`ops.yaml: ${name}: unknown type '${type}' (${Object.keys(TYPES).join(", ")})`);
      return { type, name: argName, default: dflt };
    });
  if (!RETURNS[ret.trim()]) throw new Error(`ops.yaml: ${name}: unknown return '${ret}' (${Object.keys(RETURNS).join(", ")})`);
  return { name, args, ret: ret.trim() };
}

export function readTable(path = TABLE) {
  const rows = parse(readFileSync(path, "utf8"));
  const seen = new Set();
  return rows.map((row) => {
    const sig = parseSignature(row.op);
    if (seen.has(sig.name)) throw new Error(`ops.yaml: '${sig.name}' is declared twice`);
    seen.add(sig.name);
    if (typeof row.aten !== "string") throw new Error(`ops.yaml: ${sig.name}: aten must be a C++ expression or "custom"`);
    if (typeof row.grad !== "boolean") throw new Error(`ops.yaml: ${sig.name}: grad must be true or false`);
    const isMethod = sig.args[0]?.name === "self";
    const method = row.method ?? (isMethod ? "generated" : "none");
    if (!["generated", "custom", "none"].includes(method)) throw new Error(`ops.yaml: ${sig.name}: method must be generated, custom or none`);
    if (method === "generated" && !isMethod) throw new Error(`ops.yaml: ${sig.name}: a generated method needs 'Tensor self' first`);
    if (method === "generated" && !RETURNS[sig.ret].wrap) throw new Error(`ops.yaml: ${sig.name}: returns ${sig.ret}, which a generated method cannot`);
    if (row.aten !== "custom" && sig.args.some((a) => !TYPES[a.type].cpp && a.type !== "TensorOrScalar")) {
      throw new Error(`ops.yaml: ${sig.name}: '${sig.args.find((a) => !TYPES[a.type].cpp).type}' needs aten: custom`);
    }
    return { ...sig, aten: row.aten, grad: row.grad, method, doc: row.doc };
  });
}

// ---- C++ ----
function cppDefault(a) {
  if (a.default === undefined) return null;
  if (a.type === "Scalar") return `at::Scalar(${a.default})`;
  if (a.type === "bool") return a.default;
  if (a.type === "str") return `std::string(${JSON.stringify(JSON.parse(a.default))})`;
  return a.default;
}
function cppBody(op) {
  // Each TensorOrScalar argument doubles the calls: ATen has a Tensor and a Scalar overload.
  const flexible = op.args.map((a, i) => (a.type === "TensorOrScalar" ? i : -1)).filter((i) => i >= 0);
  const call = (tensorMask) => {
    let expr = op.aten;
    op.args.forEach((a, i) => {
      let read;
      if (a.type === "TensorOrScalar") read = tensorMask.has(i) ? `T(info, ${i})` : `ToScalar(info, ${i})`;
      else read = TYPES[a.type].cpp(i);
      const d = cppDefault(a);
      if (d !== null) read = `(Missing(info, ${i}) ? ${d} : ${read})`;
      expr = expr.replace(new RegExp(`\\b${a.name}\\b`, "g"), read);
    });
    return RETURNS[op.ret].cpp(expr);
  };
  if (!flexible.length) return `  ${call(new Set())}`;
  const lines = [];
  for (let m = (1 << flexible.length) - 1; m >= 0; m--) {
    const mask = new Set(flexible.filter((_, k) => m & (1 << k)));
    const cond = flexible.map((i) => `${mask.has(i) ? "" : "!"}IsTensor(info[${i}])`).join(" && ");
    const body = call(mask).replace(/\n/g, "\n  ");
    lines.push(m === 0 ? `  {\n    ${body}\n  }` : `  if (${cond}) {\n    ${body}\n  }`);
  }
  return lines.join("\n");
}

export function generateCpp(ops) {
  const out = [
    "// Generated by scripts/gen-ops.mjs from native/ops.yaml. Do not edit: edit the table.",
    '#include "../src/common.h"',
    "",
    "namespace ft::op {",
    "",
  ];
  for (const op of ops) {
    if (op.aten === "custom") {
      out.push(`Napi::Value ${op.name}(const Napi::CallbackInfo& info);  // native/src/*_ops.cc, FT_OP(${op.name})`);
      continue;
    }
    out.push(`// ${op.name}(${op.args.map((a) => `${a.type} ${a.name}${a.default !== undefined ? `=${a.default}` : ""}`).join(", ")}) -> ${op.ret}`);
    out.push(`FT_FN(${op.name}) {`, cppBody(op), "}");
  }
  out.push("", "}  // namespace ft::op", "", "namespace ft {", "", "void RegisterOps(Napi::Env env, Napi::Object exports) {");
  for (const op of ops) out.push(`  exports.Set("${op.name}", Napi::Function::New(env, op::${op.name}, "${op.name}"));`);
  out.push("}", "", "}  // namespace ft", "");
  return out.join("\n");
}

// ---- TypeScript ----
function tsParam(a, optional) {
  const t = TYPES[a.type].ts;
  if (a.type === "DType?") return `${a.name}?: DType`;
  if (a.default !== undefined) return `${a.name}: ${t} = ${a.default}`;
  return optional ? `${a.name}?: ${t}` : `${a.name}: ${t}`;
}

export function generateTs(ops) {
  const native = ops.map((op) => {
    const params = op.args.map((a) => `${a.name}${a.default !== undefined ? "?" : ""}: ${TYPES[a.type].native}`);
    return `  ${op.name}(${params.join(", ")}): ${RETURNS[op.ret].native};`;
  });
  const methods = ops
    .filter((op) => op.method === "generated")
    .map((op) => {
      const args = op.args.slice(1);
      // An argument is optional in TS when it has a default, is nullable, or every later one is.
      const optionalFrom = args.reduceRight((k, a, i) => (k === i + 1 && (a.type.endsWith("?") || a.default !== undefined) ? i : k), args.length);
      const params = args.map((a, i) => tsParam(a, i >= optionalFrom));
      const call = `native.${op.name}(${["this.handle", ...args.map((a) => TYPES[a.type].pass(a.name))].join(", ")})`;
      const ret = RETURNS[op.ret];
      const grad = op.grad ? "" : " Not differentiable.";
      const doc = op.doc ?? `${op.name}(${args.map((a) => a.name).join(", ")}) → ${op.ret === "self" ? "this (in place)" : op.ret}.${grad}`;
      return `  /** ${doc} */\n  ${op.name}(${params.join(", ")}): ${ret.ts} {\n    ${ret.wrap(call)};\n  }`;
    });
  return [
    "// Generated by scripts/gen-ops.mjs from native/ops.yaml. Do not edit: edit the table.",
    'import { native, type Handle } from "./native.js";',
    'import { dtypeCode, type DType } from "./dtype.js";',
    "",
    "type H = Handle;",
    "type Opt<T> = T | null | undefined;",
    "type Num = number | boolean;",
    "type Scalar = number | boolean;",
    "",
    "/** The addon's ops as ops.yaml declares them (the rest of the addon is typed in native.ts). */",
    "export interface NativeOps {",
    ...native,
    "}",
    "",
    "/** Ops in ops.yaml that autograd differentiates (test/gradcheck.test.ts checks each). */",
    `export const DIFFERENTIABLE_OPS: readonly string[] = ${JSON.stringify(ops.filter((o) => o.grad).map((o) => o.name))};`,
    "",
    "function operand<T extends { readonly handle: H }>(x: T | Scalar): H | Scalar {",
    '  return typeof x === "object" ? x.handle : x;',
    "}",
    "",
    "/** The Tensor methods ops.yaml generates; Tensor extends this and wraps the handles it returns. */",
    "export abstract class TensorOps<T extends { readonly handle: H }> {",
    "  abstract get handle(): H;",
    "  protected abstract _wrap(h: H): T;",
    "",
    methods.join("\n\n"),
    "}",
    "",
  ].join("\n");
}

function writeIfChanged(path, text) {
  let old = null;
  try {
    old = readFileSync(path, "utf8");
  } catch {
    // first generation
  }
  if (old === text) return false;
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(`${path}.tmp`, text);
  renameSync(`${path}.tmp`, path);
  return true;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const ops = readTable();
  if (!process.argv.includes("--check")) {
    // Unchanged files keep their timestamps, so nothing downstream rebuilds for nothing.
    writeIfChanged(join(root, "native", "gen", "ops.cc"), generateCpp(ops));
    writeIfChanged(join(root, "src", "torch", "ops_gen.ts"), generateTs(ops));
  }
  console.log(`ops.yaml: ${ops.length} ops (${ops.filter((o) => o.aten === "custom").length} with a C++ body of their own)`);
}
