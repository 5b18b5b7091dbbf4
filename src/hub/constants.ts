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
