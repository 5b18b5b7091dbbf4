// The layers hold: a module imports only from layers below its own (util < torch, hub < nn, optim,
// evaluate < tokenizers, datasets, onnx, distributed < models < peft < trainer, pipelines, export < trl < the package index < cli), importing a
// tokenizer loads no libtorch, and a libtorch that fails to load says why.
import "./hermetic.js";
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, relative, resolve, sep } from "node:path";
import { repoRoot } from "./helpers.js";

const RANK: Record<string, number> = {
  util: 0,
  torch: 1,
  hub: 1,
  nn: 2,
  optim: 2,
  evaluate: 2,
  tokenizers: 3,
  datasets: 3,
  onnx: 3,
  distributed: 3,
  models: 4,
  peft: 4.5,
  trainer: 5,
  pipelines: 5,
  export: 5,
  trl: 5.5,
  "index.ts": 6,
  cli: 7,
};
const src = join(repoRoot, "src");

function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((n) => {
    const p = join(dir, n);
    return statSync(p).isDirectory() ? sources(p) : p.endsWith(".ts") ? [p] : [];
  });
}

/** Imports, in the .ts files under `root`, that reach into a layer at or above the importer's own. */
function violations(root: string): string[] {
  const layerOf = (file: string) => relative(root, file).split(sep)[0];
  const out: string[] = [];
  for (const file of sources(root)) {
    const from = layerOf(file);
    for (const m of readFileSync(file, "utf8").matchAll(/(?:from\s+|import\s*\(\s*|import\s+)"(\.{1,2}\/[^"]+)"/g)) {
      const target = resolve(dirname(file), m[1]).replace(/\.js$/, ".ts");
      if (!target.startsWith(root + sep)) continue;
      const to = layerOf(target);
      if (to === from) continue;
      if (!(to in RANK) || !(from in RANK)) out.push(`${relative(root, file)}: a layer the rule does not know, in the import of ${m[1]}`);
      else if (RANK[to] >= RANK[from]) out.push(`${relative(root, file)} (${from}) imports ${m[1]} (${to}), a layer not below it`);
    }
  }
  return out;
}

test("every module imports only from layers below its own", () => {
  assert.deepEqual(violations(src), []);
  // Above src/torch nothing reaches the addon directly: src/torch gives each layer what it needs.
  const escapes = sources(src).filter((f) => !f.startsWith(join(src, "torch") + sep) && /\b_native\b/.test(readFileSync(f, "utf8")));
  assert.deepEqual(
    escapes.map((f) => relative(src, f)),
    [],
  );
  // The rule sees an upward import when there is one.
  const fake = join(mkdtempSync(join(tmpdir(), "ft-layers-")), "src");
  mkdirSync(join(fake, "hub"), { recursive: true });
  mkdirSync(join(fake, "trainer"), { recursive: true });
  writeFileSync(join(fake, "trainer", "index.ts"), 'import { x } from "../hub/a.js";\n');
  writeFileSync(join(fake, "hub", "a.ts"), 'export const x = 1;\nimport "../trainer/index.js";\n');
  assert.deepEqual(violations(fake), ["hub/a.ts (hub) imports ../trainer/index.js (trainer), a layer not below it"]);
});

test("importing a tokenizer loads no libtorch; tensors from it ask for finetune-ts/torch; a libtorch that fails to load says why", () => {
  const dist = (p: string) => JSON.stringify(join(repoRoot, "dist", p));
  const vocab = join(repoRoot, "..", "shared", "data", "models", "bert-base-cased");
  const probe = `
    import { existsSync, readFileSync } from "node:fs";
    const { AutoTokenizer } = await import(${dist("src/tokenizers/index.js")});
    let error = null;
    if (existsSync(${JSON.stringify(vocab)})) {
      const tokenizer = await AutoTokenizer.fromPretrained(${JSON.stringify(vocab)});
      try { tokenizer("hello", { returnTensors: "pt" }); } catch (e) { error = e.message; }
    }
    const libtorch = /libtorch|libc10/.test(readFileSync("/proc/self/maps", "utf8"));
    console.log(JSON.stringify({ libtorch, error }));
  `;
  const r = spawnSync(process.execPath, ["--input-type=module", "-e", probe], { encoding: "utf8" });
  assert.equal(r.status, 0, r.stderr);
  const out = JSON.parse(r.stdout.trim());
  assert.equal(out.libtorch, false, "no libtorch library mapped after importing the tokenizers");
  if (out.error !== null) assert.match(out.error, /returnTensors: "pt" makes libtorch tensors: import "finetune-ts\/torch"/);

  const broken = join(mkdtempSync(join(tmpdir(), "ft-broken-")), "finetune_native.node");
  writeFileSync(broken, "not a shared library");
  const load = spawnSync(process.execPath, ["--input-type=module", "-e", `await import(${dist("src/torch/index.js")});`], {
    encoding: "utf8",
    env: { ...process.env, FINETUNE_NATIVE: broken },
  });
  assert.notEqual(load.status, 0);
  assert.match(load.stderr, /finetune_native\.node.*(invalid ELF header|file too short)/);
});
