// Where huggingface_hub keeps things, read from the environment at call time (so tests can set it).
import { homedir } from "node:os";
import { join } from "node:path";

export type RepoType = "model" | "dataset";

function truthy(v: string | undefined): boolean {
  return v !== undefined && ["1", "ON", "YES", "TRUE"].includes(v.toUpperCase());
}

export function hfHome(): string {
  return process.env.HF_HOME ?? join(process.env.XDG_CACHE_HOME ?? join(homedir(), ".cache"), "huggingface");
}
/** HF_HUB_CACHE (or the older HUGGINGFACE_HUB_CACHE), else $HF_HOME/hub. */
export function hubCacheDir(): string {
  return process.env.HF_HUB_CACHE ?? process.env.HUGGINGFACE_HUB_CACHE ?? join(hfHome(), "hub");
}
export function isOffline(): boolean {
  return truthy(process.env.HF_HUB_OFFLINE) || truthy(process.env.TRANSFORMERS_OFFLINE);
}
export function endpoint(): string {
  return (process.env.HF_ENDPOINT ?? "https://huggingface.co").replace(/\/+$/, "");
}
/** HF_TOKEN, else the token file `huggingface-cli login` writes ($HF_HOME/token). */
export function defaultToken(readFile: (p: string) => string | null): string | undefined {
  if (process.env.HF_TOKEN) return process.env.HF_TOKEN;
  const fromFile = readFile(process.env.HF_TOKEN_PATH ?? join(hfHome(), "token"));
  return fromFile?.trim() || undefined;
}

export const COMMIT_HASH = /^[0-9a-f]{40}$/;

function seconds(name: string, fallback: number): number {
  const v = process.env[name];
  if (v === undefined || v === "") return fallback;
  const n = Number(v);
  if (!Number.isFinite(n) || n <= 0) throw new Error(`${name} must be a positive number of seconds, got '${v}'`);
  return n;
}
/** HF_HUB_ETAG_TIMEOUT: seconds to wait for the hub's metadata answer (huggingface_hub's default 10). */
export function etagTimeoutMs(): number {
  return seconds("HF_HUB_ETAG_TIMEOUT", 10) * 1000;
}
/** HF_HUB_DOWNLOAD_TIMEOUT: seconds a download may wait for the answer or for its next bytes (default 10). */
export function downloadTimeoutMs(): number {
  return seconds("HF_HUB_DOWNLOAD_TIMEOUT", 10) * 1000;
}
