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

/**
 * A text file decoded as UTF-8, strictly: a byte sequence that is not UTF-8 (a Latin-1 file) is an
 * error naming the file, the line and the byte, as Python's UnicodeDecodeError does in pandas, never
 * text with U+FFFD in it. A leading byte-order mark is dropped.
 */
export function readUtf8(path: string): string {
  let bytes: Buffer;
  try {
    bytes = readFileSync(path);
  } catch (e) {
    throw new Error(`cannot read ${path} (${(e as Error).message})`);
  }
  try {
    const text = new TextDecoder("utf-8", { fatal: true }).decode(bytes);
    return text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
  } catch {
    const at = firstInvalidUtf8(bytes);
    const line = bytes.subarray(0, at).filter((b) => b === 0x0a).length + 1;
    throw new Error(
      `${path} is not UTF-8: byte 0x${bytes[at].toString(16).padStart(2, "0")} at position ${at} (line ${line}) is not valid UTF-8 ` +
        `('utf-8' codec can't decode byte 0x${bytes[at].toString(16).padStart(2, "0")} in position ${at}). Convert the file to UTF-8 (e.g. iconv -f latin1 -t utf-8).`,
    );
  }
}

/** The offset of the first byte that does not begin or continue a valid UTF-8 sequence. */
function firstInvalidUtf8(b: Uint8Array): number {
  for (let i = 0; i < b.length;) {
    const c = b[i];
    const [n, min] =
      c < 0x80 ? [0, 0] : c >= 0xc2 && c <= 0xdf ? [1, 0x80] : c >= 0xe0 && c <= 0xef ? [2, 0x800] : c >= 0xf0 && c <= 0xf4 ? [3, 0x10000] : [-1, 0];
    if (n < 0) return i;
    let cp = n === 0 ? c : c & (0x3f >> n);
    for (let k = 1; k <= n; k++) {
      if (i + k >= b.length || (b[i + k] & 0xc0) !== 0x80) return i; // Python names the sequence's first byte
      cp = (cp << 6) | (b[i + k] & 0x3f);
    }
    if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return i;
    i += n + 1;
  }
  return b.length - 1;
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
