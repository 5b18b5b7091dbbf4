// HF's progress bars ("Map: 100%|██████████| 3668/3668 [00:00<00:00, 9321.45 examples/s]") on a
// terminal, through cli-progress; silent when stderr is not a TTY, when
// HF_DATASETS_DISABLE_PROGRESS_BARS is set, or when the caller turns it off.
import cliProgress from "cli-progress";

function clock(seconds: number): string {
  if (!Number.isFinite(seconds)) return "?";
  const s = Math.max(0, Math.round(seconds));
  const h = Math.floor(s / 3600);
  const mm = String(Math.floor((s % 3600) / 60)).padStart(2, "0");
  const ss = String(s % 60).padStart(2, "0");
  return h ? `${h}:${mm}:${ss}` : `${mm}:${ss}`;
}

export function progressEnabled(disable?: boolean): boolean {
  if (disable) return false;
  const env = process.env.HF_DATASETS_DISABLE_PROGRESS_BARS;
  if (env && !["0", "false", "FALSE"].includes(env)) return false;
  return Boolean(process.stderr.isTTY);
}

export interface Progress {
  update(done: number): void;
  stop(): void;
  /** Prints a line above the bar (tqdm.write). */
  write(line: string): void;
}

export function progressBar(desc: string, total: number, unit = "examples", disable?: boolean): Progress {
  if (!progressEnabled(disable) || total === 0) return { update() {}, stop() {}, write: (line) => process.stderr.write(line + "\n") };
  const start = Date.now();
  const bar = new cliProgress.SingleBar(
    {
      stream: process.stderr,
      barsize: 10,
      hideCursor: false,
      clearOnComplete: false,
      barCompleteChar: "█",
      barIncompleteChar: " ",
      format: (options, params, payload) => {
        const filled = Math.round(params.progress * (options.barsize ?? 10));
        const elapsed = (Date.now() - start) / 1000;
        const rate = params.value / Math.max(elapsed, 1e-9);
        const eta = rate > 0 ? (params.total - params.value) / rate : Infinity;
        const pct = String(Math.floor(params.progress * 100)).padStart(3);
        const head = payload.desc ? `${payload.desc}: ` : "";
        const speed = unit === "it" ? `${rate.toFixed(2).padStart(6)}it/s` : `${rate.toFixed(2)} ${unit}/s`;
        return `${head}${pct}%|${"█".repeat(filled)}${" ".repeat((options.barsize ?? 10) - filled)}| ${params.value}/${params.total} [${clock(elapsed)}<${clock(eta)}, ${speed}]`;
      },
    },
    cliProgress.Presets.shades_classic,
  );
  bar.start(total, 0, { desc });
  return {
    update: (done) => bar.update(done),
    stop: () => bar.stop(),
    write: (line) => {
      process.stderr.write(`\r\x1b[2K${line}\n`);
      bar.render();
    },
  };
}
