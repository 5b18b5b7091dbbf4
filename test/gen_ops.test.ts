// The op table and its generator: bad rows fail with the row named, the glue it writes branches on
// tensor-or-number arguments, and every hand-written body the table promises exists.
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, readdirSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { repoRoot } from "./helpers.js";

interface Op {
  name: string;
  aten: string;
  method: string;
  args: { type: string; name: string; default?: string }[];
}
const gen: {
  parseSignature(sig: string): { name: string; args: Op["args"]; ret: string };
  readTable(path?: string): Op[];
  generateCpp(ops: Op[]): string;
  generateTs(ops: Op[]): string;
} = await import(pathToFileURL(join(repoRoot, "scripts", "gen-ops.mjs")).href);

const table = (rows: string) => {
  const path = join(mkdtempSync(join(tmpdir(), "ft-ops-")), "ops.yaml");
  writeFileSync(path, rows);
  return path;
};

test("a signature reads as name, typed arguments with defaults, return; bad ones name what is wrong", () => {
  assert.deepEqual(gen.parseSignature("add(Tensor self, TensorOrScalar other, Scalar alpha=1) -> Tensor"), {
    name: "add",
    ret: "Tensor",
    args: [
      { type: "Tensor", name: "self", default: undefined },
      { type: "TensorOrScalar", name: "other", default: undefined },
      { type: "Scalar", name: "alpha", default: "1" },
    ],
  });
  assert.throws(() => gen.parseSignature("neg(Tensor self)"), /'neg\(Tensor self\)' is not "name\(Type arg, \.\.\.\) -> Return"/);
  assert.throws(() => gen.parseSignature("neg(Tnsor self) -> Tensor"), /neg: unknown type 'Tnsor'/);
  assert.throws(() => gen.parseSignature("neg(Tensor self) -> Tensr"), /neg: unknown return 'Tensr'/);
  assert.throws(() => gen.parseSignature("neg(self) -> Tensor"), /neg: argument 'self' is not "Type name\[=default\]"/);
  assert.throws(
    () =>
      gen.readTable(
        table(
          '- {op: "neg(Tensor self) -> Tensor", aten: "at::neg(self)", grad: true}\n- {op: "neg(Tensor self) -> Tensor", aten: "at::neg(self)", grad: true}\n',
        ),
      ),
    /'neg' is declared twice/,
  );
  assert.throws(() => gen.readTable(table('- {op: "neg(Tensor self) -> Tensor", aten: "at::neg(self)"}\n')), /neg: grad must be true or false/);
  assert.throws(
    () => gen.readTable(table('- {op: "cat(Tensor[] ts, int dim) -> Tensor", aten: "at::cat(ts, dim)", grad: true, method: generated}\n')),
    /cat: a generated method needs 'Tensor self' first/,
  );
});

test("the generated glue: one branch per tensor-or-number combination, defaults for missing arguments, in-place ops return nothing", () => {
  const ops = gen.readTable(
    table(
      [
        '- {op: "where(Tensor c, TensorOrScalar a, TensorOrScalar b) -> Tensor", aten: "at::where(c, a, b)", grad: true, method: none}',
        '- {op: "add_(Tensor self, TensorOrScalar other, Scalar alpha=1) -> self", aten: "self.add_(other, alpha)", grad: false}',
      ].join("\n"),
    ),
  );
  const cpp = gen.generateCpp(ops);
  assert.equal(cpp.match(/at::where\(/g)?.length, 4, "2 flexible arguments: 4 calls");
  assert.match(
    cpp,
    /if \(IsTensor\(info\[1\]\) && IsTensor\(info\[2\]\)\) \{\n {4}return Wrap\(info\.Env\(\), at::where\(T\(info, 0\), T\(info, 1\), T\(info, 2\)\)\);/,
  );
  assert.match(cpp, /at::where\(T\(info, 0\), ToScalar\(info, 1\), ToScalar\(info, 2\)\)/);
  assert.match(
    cpp,
    /T\(info, 0\)\.add_\(T\(info, 1\), \(Missing\(info, 2\) \? at::Scalar\(1\) : ToScalar\(info, 2\)\)\);\n {4}return info\.Env\(\)\.Undefined\(\);/,
  );
  assert.match(cpp, /exports\.Set\("where", Napi::Function::New\(env, op::where, "where"\)\);/);
  const ts = gen.generateTs(ops);
  assert.match(ts, /where\(c: H, a: H \| Num, b: H \| Num\): H;/);
  assert.match(ts, /add_\(other: T \| Scalar, alpha: number = 1\): this \{\n {4}native\.add_\(this\.handle, operand\(other\), alpha\);\n {4}return this;/);
  assert.doesNotMatch(ts, /^ {2}where\(.*\): T \{/m, "method: none makes no Tensor method");
});

test("the committed table: every custom op has its FT_OP body, and no body is left without a row", () => {
  const ops = gen.readTable();
  const sources = readdirSync(join(repoRoot, "native", "src"))
    .filter((f) => f.endsWith(".cc"))
    .map((f) => readFileSync(join(repoRoot, "native", "src", f), "utf8"))
    .join("\n");
  const bodies = new Set([...sources.matchAll(/^FT_OP\((\w+)\)/gm)].map((m) => m[1]));
  const custom = ops.filter((o) => o.aten === "custom").map((o) => o.name);
  assert.deepEqual(
    custom.filter((n) => !bodies.has(n)),
    [],
    "custom ops without a body",
  );
  assert.deepEqual(
    [...bodies].filter((n) => !custom.includes(n)),
    [],
    "bodies without a custom row",
  );
  assert.ok(ops.length > 100);
});
