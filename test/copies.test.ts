// HF's "Copied from" rule: a class marked `// Copied from <file> <Class> with A->B` must equal that
// class with the renaming applied, so a fix to BERT cannot silently miss its RoBERTa copy.
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, readdirSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { repoRoot } from "./helpers.js";

/** Top-level classes of a source file: name → text from `class` to its closing brace at column 0. */
function classes(source: string): Map<string, string> {
  const out = new Map<string, string>();
  const lines = source.split("\n");
  for (let i = 0; i < lines.length; i++) {
    const m = /^(?:export )?class (\w+)/.exec(lines[i]);
    if (!m) continue;
    let j = i;
    while (j < lines.length && lines[j] !== "}") j++;
    out.set(m[1], lines.slice(i, j + 1).join("\n"));
  }
  return out;
}

const MARKER = /^\/\/ Copied from (\S+) (\w+) with (\w+)->(\w+)\n(?:export )?class (\w+)/gm;

/** Every marked copy in a file that differs from its original, as a readable message. */
function drifted(file: string): { checked: number; problems: string[] } {
  const source = readFileSync(file, "utf8");
  const mine = classes(source);
  const problems: string[] = [];
  let checked = 0;
  for (const m of source.matchAll(MARKER)) {
    const [, origin, originClass, from, to, copyClass] = m;
    const original = classes(readFileSync(join(dirname(file), origin), "utf8")).get(originClass);
    checked++;
    if (!original) {
      problems.push(`${copyClass}: ${origin} has no class ${originClass}`);
      continue;
    }
    const expected = original.replaceAll(from, to);
    const actual = mine.get(copyClass)!;
    if (expected !== actual) {
      const a = actual.split("\n");
      const e = expected.split("\n");
      const line = a.findIndex((l, k) => l !== e[k]);
      problems.push(
        `${copyClass} is no longer a copy of ${originClass} with ${from}->${to}: line ${line + 1} of the class reads\n  ${a[line]}\nbut the original gives\n  ${e[line]}`,
      );
    }
  }
  return { checked, problems };
}

test("RoBERTa's classes copied from BERT have not drifted", () => {
  const models = join(repoRoot, "src", "models");
  let checked = 0;
  for (const dir of readdirSync(models, { withFileTypes: true }).filter((d) => d.isDirectory())) {
    for (const f of readdirSync(join(models, dir.name)).filter((f) => f.endsWith(".ts"))) {
      const r = drifted(join(models, dir.name, f));
      checked += r.checked;
      assert.deepEqual(r.problems, [], r.problems.join("\n\n"));
    }
  }
  assert.ok(checked >= 8, `${checked} marked copies checked`);
});

test("the check catches a drifted copy", () => {
  const dir = mkdtempSync(join(tmpdir(), "ft-copies-"));
  const bert = readFileSync(join(repoRoot, "src", "models", "bert", "modeling_bert.ts"), "utf8");
  writeFileSync(join(dir, "modeling_bert.ts"), bert);
  const pooler = classes(bert).get("BertPooler")!.replaceAll("Bert", "Roberta");
  writeFileSync(join(dir, "same.ts"), `// Copied from ./modeling_bert.ts BertPooler with Bert->Roberta\n${pooler}\n`);
  writeFileSync(join(dir, "drifted.ts"), `// Copied from ./modeling_bert.ts BertPooler with Bert->Roberta\n${pooler.replace("tanh", "relu")}\n`);
  assert.deepEqual(drifted(join(dir, "same.ts")), { checked: 1, problems: [] });
  const r = drifted(join(dir, "drifted.ts"));
  assert.equal(r.checked, 1);
  assert.match(r.problems[0], /RobertaPooler is no longer a copy of BertPooler with Bert->Roberta: line \d+ of the class reads\n.*relu/);
});
