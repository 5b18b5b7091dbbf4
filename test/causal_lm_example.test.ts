// The course's "Training a causal language model from scratch" (examples/causal_lm.ts) on tiny
// Shakespeare with GPT-2's tokenizer pair: 128-token windows, a GPT-2 from its config, the causal
// collator's shapes, steps with evaluation, perplexity, and a generated continuation of the prompt.
import { test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, mkdtempSync } from "node:fs";
import { spawnSync } from "node:child_process";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { needs, repoRoot } from "./helpers.js";

const shared = join(repoRoot, "..", "shared", "data");
const skip = needs("shared", existsSync(join(shared, "tinyshakespeare", "input.txt")), "../shared/data is absent");

test("the course's causal LM program (examples/causal_lm.ts) trains a GPT-2 from scratch and generates", { skip }, () => {
  const r = spawnSync(process.execPath, [join(repoRoot, "dist", "examples", "causal_lm.js")], {
    env: {
      ...process.env,
      HF_DATASETS_CACHE: mkdtempSync(join(tmpdir(), "ft-clm-cache-")),
      TEXT_FILE: join(shared, "tinyshakespeare", "input.txt"),
      TOKENIZER: join(shared, "models", "gpt2-tokenizer"),
      N_LAYER: "2",
      N_EMBD: "32",
      N_HEAD: "4",
      N_POSITIONS: "128",
      ROWS: "400",
      BATCH_SIZE: "8",
      EVAL_STEPS: "2",
      WARMUP_STEPS: "2",
      MAX_STEPS: "4",
      NEW_TOKENS: "10",
      OUTPUT_DIR: join(mkdtempSync(join(tmpdir(), "ft-clm-out-")), "clm"),
    },
    encoding: "utf8",
  });
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /Input chunk lengths: \d+(,\d+)*\nChunk mapping: 0(,[01])*/);
  assert.match(r.stdout, /input_ids shape: \[5,128\]\nattention_mask shape: \[5,128\]\nlabels shape: \[5,128\]/);
  assert.match(r.stdout, /GPT-2 size: 1\.6M parameters/);
  assert.match(r.stderr, /\| Step \| Training Loss \| Validation Loss \|/);
  assert.match(r.stdout, /ROMEO:\n/);
  const result = JSON.parse(r.stdout.trim().split("\n").pop()!) as { perplexity: number; steps: number };
  assert.equal(result.steps, 4);
  // A random 50,257-token model starts near uniform.
  assert.ok(result.perplexity > 20_000 && result.perplexity < 100_000, String(result.perplexity));
});
