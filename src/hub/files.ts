// Files the layers above write and read: whole files written atomically (a temporary name renamed
// into place, so a crash never leaves half a file), and JSON objects read with errors naming the file.
import { readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";

export function writeFileAtomic(path: string, content: string | Uint8Array): void {
  const tmp = `${path}.tmp-${process.pid}-${Date.now()}`;
  try {
    writeFileSync(tmp, content);
    renameSync(tmp, path);
  } catch (e) {
    rmSync(tmp, { force: true });
    throw e;
  }
}

/** JSON with indent 2 and a final newline, written atomically. */
export function writeJsonAtomic(path: string, value: unknown): void {
  writeFileAtomic(path, JSON.stringify(value, null, 2) + "\n");
}

/** A JSON object from a file; `what` (e.g. "tokenizer.json") prefixes the error messages. */
export function readJsonObject(path: string, what?: string): Record<string, unknown> {
  const prefix = what ? `${what}: ` : "";
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (e) {
    throw new Error(`${prefix}cannot read ${path} (${(e as Error).message})`);
  }
  try {
    const v = JSON.parse(text) as unknown;
    if (v === null || typeof v !== "object" || Array.isArray(v)) throw new Error("not a JSON object");
    return v as Record<string, unknown>;
  } catch (e) {
    throw new Error(`${prefix}${path} is not valid JSON (${(e as Error).message})`);
  }
}
