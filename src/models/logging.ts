// transformers' logger: warnings go to stderr unless TRANSFORMERS_VERBOSITY (or setVerbosity) says
// otherwise; tests capture them through setWarningSink.
export type Level = "debug" | "info" | "warning" | "error" | "critical";
const ORDER: Level[] = ["debug", "info", "warning", "error", "critical"];
let verbosity: Level | null = null;
let sink: (message: string) => void = (m) => console.warn(m);

function current(): Level {
  const env = process.env.TRANSFORMERS_VERBOSITY as Level | undefined;
  return verbosity ?? (env && ORDER.includes(env) ? env : "warning");
}
export function setVerbosity(level: Level): void {
  verbosity = level;
}
export function setWarningSink(fn: ((message: string) => void) | null): void {
  sink = fn ?? ((m) => console.warn(m));
}
/** Whether messages of this level are shown now (transformers' logger.isEnabledFor). */
export function isEnabledFor(level: Level): boolean {
  return ORDER.indexOf(current()) <= ORDER.indexOf(level);
}
export const logger = {
  warning(message: string): void {
    if (ORDER.indexOf(current()) <= ORDER.indexOf("warning")) sink(message);
  },
  info(message: string): void {
    if (ORDER.indexOf(current()) <= ORDER.indexOf("info")) sink(message);
  },
};
