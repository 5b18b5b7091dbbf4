// Files the layers above write and read: whole files written atomically (a temporary name renamed
// into place, so a crash never leaves half a file), and JSON objects read with errors naming the file.
import { readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";

let counter = 0;

/** Writes through a temporary name unique to the process and call, renamed into place; errors name the path. */
export function writeFileAtomic(path: string, content: string | Uint8Array): void {
  const tmp = `${path}.tmp-${process.pid}-${Date.now()}-${counter++}`;
  try {
    writeFileSync(tmp, content);
    renameSync(tmp, path);
  } catch (e) {
    try {
      rmSync(tmp, { force: true });
    } catch {
      /* the folder itself is the problem (missing, not a folder): nothing was written */
    }
    // Node's ENOSPC/EACCES messages name the syscall, not always the file: say which file.
    const err = e as NodeJS.ErrnoException;
    throw Object.assign(new Error(`cannot write ${path}: ${err.code === "ENOSPC" ? "no space left on device" : err.message}`), { code: err.code });
  }
}

/** JSON with the given indent (2, HF's trainer_state.json; 4, its *_results.json) and a final newline, written atomically. */
export function writeJsonAtomic(path: string, value: unknown, indent = 2): void {
  writeFileAtomic(path, JSON.stringify(value, null, indent) + "\n");
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
