// HF's progress bars ("Map: 100%|██████████| 3668/3668 [00:00<00:00, 9321.45 examples/s]") on a
// terminal; silent when stderr is not a TTY, when HF_DATASETS_DISABLE_PROGRESS_BARS is set, or when
// the caller turns it off.

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

/**
 * A tqdm-style bar on stderr's last line: `\r` and the line (cut to the terminal's width, so it never
 * wraps), redrawn at most 10 times a second. Lines written through `write` go above it whole, at
 * any width (the terminal wraps them), and the bar is drawn again below. It never saves or restores
 * the cursor and never turns line wrapping off (cli-progress does both, which cut and overwrote the
 * Trainer's logs), so nothing printed during or after it is lost.
 */
export function progressBar(desc: string, total: number, unit = "examples", disable?: boolean): Progress {
  if (!progressEnabled(disable) || total === 0) return { update() {}, stop() {}, write: (line) => process.stderr.write(line + "\n") };
  const out = process.stderr;
  const start = performance.now();
  let done = 0;
  let drawnAt = 0;
  let stopped = false;
  const line = (): string => {
    const elapsed = (performance.now() - start) / 1000;
    // As tqdm: no rate until some time has passed (an instant, e.g. a cached map, is "?" not 4e11/s).
    const rate = elapsed >= 1e-3 && done > 0 ? done / elapsed : null;
    const eta = rate ? clock((total - done) / rate) : "?";
    const frac = Math.min(1, done / total);
    const filled = Math.round(frac * 10);
    const r = rate === null ? "?" : rate.toFixed(2);
    const speed = unit === "it" ? `${r.padStart(6)}it/s` : `${r} ${unit}/s`;
    const text = `${desc ? `${desc}: ` : ""}${String(Math.floor(frac * 100)).padStart(3)}%|${"█".repeat(filled)}${" ".repeat(10 - filled)}| ${done}/${total} [${clock(elapsed)}<${eta}, ${speed}]`;
    return text.slice(0, Math.max(10, (out.columns || 80) - 1));
  };
  const draw = () => {
    drawnAt = Date.now();
    out.write(`\r${line()}\x1b[K`);
  };
  draw();
  return {
    update(n) {
      done = n;
      if (!stopped && (Date.now() - drawnAt >= 100 || n >= total)) draw();
    },
    stop() {
      if (stopped) return;
      stopped = true;
      draw();
      out.write("\n");
    },
    write(text) {
      out.write(`\r\x1b[K${text}\n`);
      if (!stopped) draw();
    },
  };
}
