// What the Trainer tests share: a learnable toy task, a tiny BERT, a padding collator, and quiet runs.
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as torch from "../src/torch/index.js";
import { Dataset } from "../src/datasets/index.js";
import { AutoModelForSequenceClassification, type PreTrainedModel } from "../src/models/index.js";

export const out = (): string => mkdtempSync(join(tmpdir(), "ft-trainer-"));

/** A learnable toy task: label 1 when token 7 occurs. Rows of varied length. */
export function toyDataset(n: number, seed: number): Dataset {
  torch.manualSeed(seed);
  const ids = torch.randint(8, 40, [n, 12]).toArray() as number[][];
  const lens = torch.randint(4, 13, [n]).toArray() as number[];
  const labels = torch.randint(0, 2, [n]).toArray() as number[];
  const rows = ids.map((r, i) => {
    const x = [1, ...r.slice(0, lens[i] - 2), 2];
    if (labels[i]) x[1 + (i % (x.length - 2))] = 7;
    return x;
  });
  return Dataset.fromDict({ input_ids: rows, attention_mask: rows.map((r) => r.map(() => 1)), label: labels, text: rows.map(String) });
}

export function tinyModel(dropout = 0.1): PreTrainedModel {
  torch.manualSeed(0);
  return AutoModelForSequenceClassification.fromConfig({
    model_type: "bert", vocab_size: 40, hidden_size: 16, num_hidden_layers: 1, num_attention_heads: 2, intermediate_size: 24,
    hidden_dropout_prob: dropout, attention_probs_dropout_prob: dropout, max_position_embeddings: 32,
  });
}

export const quiet = { disableTqdm: true };
export function silenced<T>(fn: () => Promise<T>): Promise<T> {
  const write = process.stderr.write.bind(process.stderr);
  const lines: string[] = [];
  process.stderr.write = ((s: string) => (lines.push(String(s)), true)) as typeof process.stderr.write;
  return fn().finally(() => {
    process.stderr.write = write;
  });
}

export function zip<A, B>(a: A[], b: B[]): [A, B][] {
  return a.map((x, i) => [x, b[i]]);
}

/** Pads input_ids/attention_mask with 0 (the toy task's pad id), as DataCollatorWithPadding would. */
export function padCollator(features: Record<string, unknown>[]): Record<string, torch.Tensor> {
  const width = Math.max(...features.map((f) => (f.input_ids as number[]).length));
  const pad = (x: number[]) => [...x, ...new Array(width - x.length).fill(0)];
  return {
    input_ids: torch.tensor(features.map((f) => pad(f.input_ids as number[]))),
    attention_mask: torch.tensor(features.map((f) => pad(f.attention_mask as number[]))),
    labels: torch.tensor(features.map((f) => f.label as number)),
  };
}

