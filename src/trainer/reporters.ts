// report_to: "jsonl" (one JSON line per log) and "tensorboard" (event files TensorBoard reads).
import { appendFileSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import type { TrainingArguments } from "./training_args.js";
import { TensorBoardWriter } from "./tensorboard.js";

export interface Reporter {
  log(entry: Record<string, number>, step: number): void;
  close(): void;
}

export function reportersFor(args: TrainingArguments): Reporter[] {
  const out: Reporter[] = [];
  for (const r of args.reportTo) {
    if (r === "jsonl") {
      mkdirSync(args.outputDir, { recursive: true });
      const file = join(args.outputDir, "logs.jsonl");
      out.push({ log: (e) => appendFileSync(file, JSON.stringify(e) + "\n"), close: () => {} });
    } else if (r === "tensorboard") {
      const w = new TensorBoardWriter(args.loggingDir ?? join(args.outputDir, "runs"));
      out.push({
        log: (e, step) => {
          for (const [k, v] of Object.entries(e)) {
            if (k === "step" || k === "epoch" || typeof v !== "number") continue;
            // HF's TensorBoardCallback names scalars train/<key> and eval/<key>.
            const tag = k.startsWith("eval_") ? `eval/${k.slice(5)}` : `train/${k}`;
            w.addScalar(tag, v, step);
          }
          w.flush();
        },
        close: () => w.close(),
      });
    }
  }
  return out;
}
