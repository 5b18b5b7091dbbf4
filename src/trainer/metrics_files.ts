// HF's speed_metrics, log_metrics, save_metrics and save_state: a split's metrics printed as a block, written to
// {split}_results.json and merged into all_results.json, and trainer_state.json, in the output dir.
import { existsSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import { readJsonObject, writeJsonAtomic } from "../util/files.js";
import { formatMetric, sortKeys } from "./logs.js";

/** HF's speed_metrics: {split}_runtime (s, 4 digits), samples and steps per second (3 digits) since `start` (performance.now()). */
export function speedMetrics(split: string, start: number, numSamples: number, numSteps: number): Record<string, number> {
  const runtime = (performance.now() - start) / 1000;
  const round = (x: number, digits: number) => Math.round(x * 10 ** digits) / 10 ** digits;
  return {
    [`${split}_runtime`]: round(runtime, 4),
    [`${split}_samples_per_second`]: round(numSamples / runtime, 3),
    [`${split}_steps_per_second`]: round(numSteps / runtime, 3),
  };
}

/** `***** {split} metrics *****` and each metric, aligned and formatted as HF's log_metrics. */
export function printMetrics(split: string, metrics: Record<string, number>): void {
  const formatted = Object.fromEntries(Object.entries(metrics).map(([k, v]) => [k, formatMetric(k, v)]));
  const kw = Math.max(...Object.keys(formatted).map((k) => k.length));
  const vw = Math.max(...Object.values(formatted).map((v) => v.length));
  const lines = [
    `***** ${split} metrics *****`,
    ...Object.keys(formatted)
      .sort()
      .map((k) => `  ${k.padEnd(kw)} = ${formatted[k].padStart(vw)}`),
  ];
  process.stdout.write(lines.join("\n") + "\n");
}

/** `{split}_results.json`, and the metrics merged into all_results.json when `combined`. */
export function writeMetrics(outputDir: string, split: string, metrics: Record<string, number>, combined: boolean): void {
  mkdirSync(outputDir, { recursive: true });
  writeJsonAtomic(join(outputDir, `${split}_results.json`), sortKeys(metrics), 4);
  if (!combined) return;
  const all = join(outputDir, "all_results.json");
  const merged = existsSync(all) ? { ...readJsonObject(all, "all_results.json"), ...metrics } : { ...metrics };
  writeJsonAtomic(all, sortKeys(merged), 4);
}
