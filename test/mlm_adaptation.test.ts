// The course's masked-LM domain adaptation (examples/mlm_adaptation.ts) on WikiText-2 with a tiny
// DistilBERT: group_texts turns the tokenized lines into fewer rows of exactly 128 tokens, the
// collator masks 15%, perplexity is printed before and after training, and the fill-mask pipeline
// completes a sentence with the adapted model.
import { test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, mkdtempSync } from "node:fs";
import { spawnSync } from "node:child_process";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as torch from "../src/torch/index.js";
import { AutoModelForMaskedLM } from "../src/models/index.js";
import { needs, repoRoot } from "./helpers.js";

const shared = join(repoRoot, "..", "shared", "data");
const skip = needs("shared", existsSync(join(shared, "wikitext-2", "valid.txt")), "../shared/data is absent");

test("the course's masked-LM adaptation program (examples/mlm_adaptation.ts) runs on WikiText-2", { skip }, () => {
  const base = mkdtempSync(join(tmpdir(), "ft-mlm-base-"));
  torch.manualSeed(0);
  const model = AutoModelForMaskedLM.fromConfig({ model_type: "distilbert", vocab_size: 30522, dim: 16, n_layers: 1, n_heads: 2, hidden_dim: 32 });
  model.savePretrained(base);
  torch.dispose(model.parameters());
  const r = spawnSync(process.execPath, [join(repoRoot, "dist", "examples", "mlm_adaptation.js")], {
    env: {
      ...process.env,
      HF_DATASETS_CACHE: mkdtempSync(join(tmpdir(), "ft-mlm-cache-")),
      WIKITEXT_DIR: join(shared, "wikitext-2"),
      CHECKPOINT: base,
      TOKENIZER: join(shared, "models", "bert-base-uncased"),
      TRAIN_ROWS: "64",
      EVAL_ROWS: "32",
      BATCH_SIZE: "16",
      MAX_STEPS: "4",
      OUTPUT_DIR: join(mkdtempSync(join(tmpdir(), "ft-mlm-out-")), "mlm"),
    },
    encoding: "utf8",
  });
  assert.equal(r.status, 0, r.stderr);
  // group_texts: 3,760 tokenized lines of valid.txt become fewer rows of 128 tokens, with labels.
  assert.match(r.stdout, /features: \['input_ids', 'attention_mask', 'word_ids', 'labels'\],\s+num_rows: (\d+)/);
  const chunks = Number(/features: \['input_ids', 'attention_mask', 'word_ids', 'labels'\],\s+num_rows: (\d+)/.exec(r.stdout)![1]);
  assert.ok(chunks > 1000 && chunks < 3760, `${chunks} chunks`);
  assert.match(r.stdout, /'>>> \[CLS\].*\[MASK\]/, "the collator's masks are shown");
  assert.equal((r.stdout.match(/>>> Perplexity: \d+\.\d\d/g) ?? []).length, 2);
  assert.equal((r.stdout.match(/>>> this is a great .+\./g) ?? []).length, 5, "fill-mask's five completions");
  const result = JSON.parse(r.stdout.trim().split("\n").pop()!) as { perplexityBefore: number; perplexityAfter: number };
  // A random 30,522-word model starts near uniform: perplexity about the vocabulary's size.
  assert.ok(result.perplexityBefore > 10_000 && result.perplexityBefore < 60_000, String(result.perplexityBefore));
});
