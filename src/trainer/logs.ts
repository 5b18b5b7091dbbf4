// What a person sees: HF's "***** Running training *****" block, log dicts printed as Python
// dicts, and the evaluation table (Epoch | Training Loss | Validation Loss | metrics).
import { pyFloat } from "../util/py_float.js";

/** A number as Python's f"{x:.4g}" writes it: 4 significant digits, no trailing zeros, exponent below 1e-4 and from 1e4. */
export function pyG4(x: number): string {
  if (Number.isNaN(x)) return "nan";
  if (!Number.isFinite(x)) return x > 0 ? "inf" : "-inf";
  if (x === 0) return Object.is(x, -0) ? "-0" : "0";
  const [mantissa, e] = x.toExponential(3).split("e");
  const exp = Number(e);
  const strip = (s: string) => (s.includes(".") ? s.replace(/0+$/, "").replace(/\.$/, "") : s);
  if (exp < -4 || exp >= 4) return `${strip(mantissa)}e${exp < 0 ? "-" : "+"}${String(Math.abs(exp)).padStart(2, "0")}`;
  return strip(x.toFixed(3 - exp));
}

/**
 * A log line as transformers 5's ProgressCallback/PrinterCallback print it: floats as '{x:.4g}'
 * strings, total_flos left out. The log history keeps the full values.
 */
export function pyDict(d: Record<string, number>): string {
  const shown = Object.entries(d).filter(([k]) => k !== "total_flos");
  return `{${shown.map(([k, v]) => `'${k}': '${pyG4(v)}'`).join(", ")}}`;
}

const SPEED = /_(runtime|samples_per_second|steps_per_second)$/;

function title(metric: string): string {
  const special: Record<string, string> = { f1: "F1", mcc: "MCC" };
  return metric
    .split("_")
    .map((w) => special[w] ?? w.charAt(0).toUpperCase() + w.slice(1))
    .join(" ");
}

/** The notebook table HF shows after each evaluation, printed as rows as they come. */
export class EvalTable {
  #columns: string[] | null = null;
  #widths: number[] = [];
  constructor(
    readonly byEpoch: boolean,
    readonly print: (line: string) => void,
  ) {}

  row(epochOrStep: number, trainingLoss: number | null, metrics: Record<string, number>): void {
    const names = Object.keys(metrics).filter((k) => k.startsWith("eval_") && k !== "eval_loss" && !SPEED.test(k) && k !== "epoch");
    const cells = [
      this.byEpoch ? String(Math.round(epochOrStep)) : String(epochOrStep),
      trainingLoss === null ? "No log" : trainingLoss.toFixed(6),
      metrics.eval_loss === undefined ? "No log" : metrics.eval_loss.toFixed(6),
      ...names.map((n) => metrics[n].toFixed(6)),
    ];
    if (!this.#columns) {
      this.#columns = [this.byEpoch ? "Epoch" : "Step", "Training Loss", "Validation Loss", ...names.map((n) => title(n.slice(5)))];
      this.#widths = this.#columns.map((c, i) => Math.max(c.length, cells[i]?.length ?? 0));
      this.print(`| ${this.#columns.map((c, i) => c.padEnd(this.#widths[i])).join(" | ")} |`);
      this.print(`|${this.#widths.map((w) => "-".repeat(w + 2)).join("|")}|`);
    }
    this.print(`| ${cells.map((c, i) => c.padEnd(this.#widths[i] ?? c.length)).join(" | ")} |`);
  }
}

export function runningTrainingBlock(o: {
  examples: number;
  epochs: number;
  batch: number;
  accumulation: number;
  steps: number;
  parameters: number;
  worldSize?: number;
}): string {
  const n = (x: number) => x.toLocaleString("en-US");
  return [
    "***** Running training *****",
    `  Num examples = ${n(o.examples)}`,
    `  Num Epochs = ${n(o.epochs)}`,
    `  Instantaneous batch size per device = ${n(o.batch)}`,
    `  Total train batch size (w. parallel, distributed & accumulation) = ${n(o.batch * o.accumulation * (o.worldSize ?? 1))}`,
    `  Gradient Accumulation steps = ${n(o.accumulation)}`,
    `  Total optimization steps = ${n(o.steps)}`,
    `  Number of trainable parameters = ${n(o.parameters)}`,
  ].join("\n");
}

/** HF's metrics_format: runtimes as h:mm:ss.cc, total_flos in GF, floats rounded to 4 digits. */
export function formatMetric(key: string, v: number): string {
  if (key.includes("_runtime")) {
    const s = Math.trunc(v);
    const cs = Math.trunc(Math.abs(v - s) * 100);
    return `${Math.floor(s / 3600)}:${String(Math.floor((s % 3600) / 60)).padStart(2, "0")}:${String(s % 60).padStart(2, "0")}.${String(cs).padStart(2, "0")}`;
  }
  if (key === "total_flos") return `${Math.floor(v / 2 ** 30)}GF`;
  if (Number.isInteger(v) && key !== "epoch" && !key.endsWith("loss")) return String(v);
  return pyFloat(Math.round(v * 1e4) / 1e4);
}

export function sortKeys(o: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(
    Object.keys(o)
      .sort()
      .map((k) => [k, o[k]]),
  );
}
