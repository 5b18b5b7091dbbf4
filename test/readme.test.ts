// README that runs: every TypeScript block of README.md compiles under the project's strict settings
// against the library's own types, and the blocks that need no pretrained weights run (on the
// course's data from ../shared/data, offline). A block fenced "```ts compile-only" needs weights
// that cannot be downloaded here, so it is compiled only.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import ts from "typescript";
import { needs, repoRoot } from "./helpers.js";

const readme = readFileSync(join(repoRoot, "README.md"), "utf8");
const blocks = [...readme.matchAll(/^```ts( compile-only)?\n([\s\S]*?)^```/gm)].map((m, i) => ({
  name: `block${i + 1}`,
  line: readme.slice(0, m.index).split("\n").length,
  compileOnly: !!m[1],
  code: m[2],
}));
const shared = join(repoRoot, "..", "shared", "data");

test("README.md has TypeScript blocks, each runnable one or marked compile-only", () => {
  assert.ok(blocks.length >= 3, `found ${blocks.length} blocks`);
});

test("every TypeScript block of README.md compiles under strict", () => {
  // The blocks stand as files inside the repository, so "finetune-ts/…" resolves as it does for
  // the examples (tsconfig's paths); unused locals are allowed in snippets.
  const config = ts.readConfigFile(join(repoRoot, "tsconfig.json"), ts.sys.readFile);
  const parsed = ts.parseJsonConfigFileContent(config.config, ts.sys, repoRoot);
  const options: ts.CompilerOptions = { ...parsed.options, noEmit: true, noUnusedLocals: false, incremental: false, tsBuildInfoFile: undefined };
  const files = new Map(blocks.map((b) => [join(repoRoot, "readme-blocks", `${b.name}.ts`), b]));
  const host = ts.createCompilerHost(options);
  const getSourceFile = host.getSourceFile.bind(host);
  host.getSourceFile = (file, lang, onError) => {
    const b = files.get(file);
    return b ? ts.createSourceFile(file, b.code, lang) : getSourceFile(file, lang, onError);
  };
  const fileExists = host.fileExists.bind(host);
  host.fileExists = (file) => files.has(file) || fileExists(file);
  const program = ts.createProgram([...files.keys()], options, host);
  const errors = ts
    .getPreEmitDiagnostics(program)
    .filter((d) => d.file && files.has(d.file.fileName))
    .map((d) => {
      const b = files.get(d.file!.fileName)!;
      const { line } = d.file!.getLineAndCharacterOfPosition(d.start ?? 0);
      return `README.md:${b.line + 1 + line}: ${ts.flattenDiagnosticMessageText(d.messageText, "\n")}`;
    });
  assert.deepEqual(errors, []);
});

for (const b of blocks.filter((x) => !x.compileOnly)) {
  const needsData = /loadDataset|fromPretrained/.test(b.code);
  test(
    `README.md's ${b.name} (line ${b.line}) runs`,
    { skip: needsData && needs("shared", existsSync(join(shared, "hf-home")), "../shared/data is absent"), timeout: 120_000 },
    () => {
      // Run as README says a program of your own runs: `npx tsx file.ts`, from inside the package, so
      // "finetune-ts/…" resolves to dist/ through package.json's exports.
      const file = join(repoRoot, "dist", "readme-blocks", `${b.name}.ts`);
      mkdirSync(dirname(file), { recursive: true });
      writeFileSync(file, b.code);
      const r = spawnSync(process.execPath, [join(repoRoot, "node_modules", "tsx", "dist", "cli.mjs"), file], {
        cwd: mkdtempSync(join(tmpdir(), "ft-readme-")),
        env: {
          ...process.env,
          HF_HOME: join(shared, "hf-home"),
          HF_HUB_OFFLINE: "1",
          HF_DATASETS_CACHE: mkdtempSync(join(tmpdir(), "ft-readme-cache-")),
          HF_DATASETS_DISABLE_PROGRESS_BARS: "1",
        },
        encoding: "utf8",
        timeout: 110_000,
      });
      assert.equal(r.status, 0, `README.md:${b.line} exited ${r.status}:\n${r.stderr.slice(-3000)}`);
    },
  );
}
