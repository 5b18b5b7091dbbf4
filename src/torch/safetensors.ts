// The safetensors format: an 8-byte little-endian header length, a JSON header naming each
// tensor's dtype, shape and byte range, then the raw little-endian data. Reading fills each
// tensor's own memory straight from the file (no intermediate buffer); writing goes to a
// temporary name that is renamed into place, so a crash never leaves a half-written file.
import { closeSync, fstatSync, openSync, readSync, renameSync, rmSync, unlinkSync, writeSync, fsyncSync } from "node:fs";
import { native } from "./native.js";
import { BYTES, type DType } from "./dtype.js";
import { Tensor } from "./tensor.js";
import { empty } from "./creation.js";

const TO_DTYPE: Record<string, DType> = {
  F64: "float64",
  F32: "float32",
  F16: "float16",
  BF16: "bfloat16",
  I64: "int64",
  I32: "int32",
  I16: "int16",
  I8: "int8",
  U8: "uint8",
  BOOL: "bool",
};
const FROM_DTYPE: Record<DType, string> = Object.fromEntries(Object.entries(TO_DTYPE).map(([k, v]) => [v, k])) as Record<DType, string>;

// The reference implementation refuses headers over 100 MB; so do we, before allocating.
const MAX_HEADER = 100_000_000;

export interface TensorInfo {
  dtype: DType;
  shape: number[];
  /** Byte range within the data section (after the header). */
  dataOffsets: [number, number];
}

export class SafetensorsError extends Error {
  constructor(file: string, problem: string) {
    super(`${file}: invalid safetensors file: ${problem}`);
    this.name = "SafetensorsError";
  }
}

/** An open safetensors file: read the header once, then tensors by name (safetensors' safe_open). */
export class SafetensorsFile {
  readonly path: string;
  readonly metadata: Record<string, string>;
  readonly #infos = new Map<string, TensorInfo>();
  readonly #dataStart: number;
  #fd: number | null;

  constructor(path: string) {
    this.path = path;
    try {
      this.#fd = openSync(path, "r");
      if (fstatSync(this.#fd).isDirectory()) {
        closeSync(this.#fd);
        throw Object.assign(new Error("it is a directory"), { code: "EISDIR" });
      }
    } catch (e) {
      throw new Error(`cannot read ${path} (${(e as Error).message})`);
    }
    try {
      const size = fstatSync(this.#fd).size;
      if (size < 8) throw new SafetensorsError(path, `file is ${size} bytes, too short for the 8-byte header length`);
      const lenBuf = Buffer.alloc(8);
      readSync(this.#fd, lenBuf, 0, 8, 0);
      const n = lenBuf.readBigUInt64LE(0);
      if (n > BigInt(MAX_HEADER)) throw new SafetensorsError(path, `header length ${n} is over the ${MAX_HEADER}-byte limit`);
      const headerLen = Number(n);
      if (8 + headerLen > size) {
        throw new SafetensorsError(path, `header length ${headerLen} runs beyond the end of the file (${size} bytes)`);
      }
      const headerBuf = Buffer.alloc(headerLen);
      readSync(this.#fd, headerBuf, 0, headerLen, 8);
      let header: unknown;
      try {
        header = JSON.parse(headerBuf.toString("utf8"));
      } catch (e) {
        throw new SafetensorsError(path, `header is not valid JSON (${(e as Error).message})`);
      }
      if (header === null || typeof header !== "object" || Array.isArray(header)) {
        throw new SafetensorsError(path, "header is not a JSON object");
      }
      this.#dataStart = 8 + headerLen;
      this.metadata = this.#parse(header as Record<string, unknown>, size - this.#dataStart);
    } catch (e) {
      closeSync(this.#fd);
      this.#fd = null;
      throw e;
    }
  }

  #parse(header: Record<string, unknown>, dataLen: number): Record<string, string> {
    const bad = (p: string): never => {
      throw new SafetensorsError(this.path, p);
    };
    let metadata: Record<string, string> = {};
    for (const [name, raw] of Object.entries(header)) {
      if (name === "__metadata__") {
        if (raw === null || typeof raw !== "object" || Object.values(raw).some((v) => typeof v !== "string")) {
          bad("__metadata__ must map strings to strings");
        }
        metadata = raw as Record<string, string>;
        continue;
      }
      const e = raw as { dtype?: unknown; shape?: unknown; data_offsets?: unknown };
      if (e === null || typeof e !== "object") bad(`entry '${name}' is not an object`);
      const dtype = TO_DTYPE[e.dtype as string];
      if (!dtype) bad(`tensor '${name}' has unknown dtype ${JSON.stringify(e.dtype)}`);
      if (!Array.isArray(e.shape) || e.shape.some((s) => !Number.isInteger(s) || s < 0)) {
        bad(`tensor '${name}' has an invalid shape ${JSON.stringify(e.shape)}`);
      }
      const off = e.data_offsets as unknown;
      if (!Array.isArray(off) || off.length !== 2 || !off.every((o) => Number.isInteger(o) && o >= 0) || off[1] < off[0]) {
        bad(`tensor '${name}' has invalid data_offsets ${JSON.stringify(off)}`);
      }
      const shape = e.shape as number[];
      const [b, end] = off as [number, number];
      const need = shape.reduce((a, s) => a * s, 1) * BYTES[dtype];
      if (end - b !== need) {
        bad(`tensor '${name}' has data_offsets [${b}, ${end}] (${end - b} bytes) but ${dtype} ${JSON.stringify(shape)} needs ${need} bytes`);
      }
      this.#infos.set(name, { dtype, shape, dataOffsets: [b, end] });
    }
    // Byte ranges must tile the data section: sorted, no gap, no overlap, ending at its end.
    const sorted = [...this.#infos.entries()].sort((x, y) => x[1].dataOffsets[0] - y[1].dataOffsets[0] || x[1].dataOffsets[1] - y[1].dataOffsets[1]);
    let pos = 0;
    for (const [name, info] of sorted) {
      const [b, end] = info.dataOffsets;
      if (b < pos) bad(`tensor '${name}' overlaps the previous tensor (starts at ${b}, previous ends at ${pos})`);
      if (b > pos) bad(`gap in the data section before tensor '${name}' (bytes ${pos}..${b} belong to no tensor)`);
      if (end > dataLen) bad(`tensor '${name}' ends at byte ${end} but the data section holds ${dataLen} bytes (truncated file?)`);
      pos = end;
    }
    if (pos !== dataLen) bad(`data section is ${dataLen} bytes but the tensors cover ${pos} (trailing bytes)`);
    return metadata;
  }

  keys(): string[] {
    return [...this.#infos.keys()];
  }
  info(name: string): TensorInfo {
    const i = this.#infos.get(name);
    if (!i) throw new Error(`${this.path}: no tensor named '${name}'`);
    return i;
  }

  /** Reads one tensor into fresh CPU memory (then moves it to `device` if given). */
  getTensor(name: string, o: { device?: string } = {}): Tensor {
    if (this.#fd === null) throw new Error(`${this.path}: file is closed`);
    const info = this.info(name);
    const t = empty(info.shape, { dtype: info.dtype });
    const [b, end] = info.dataOffsets;
    if (end > b) {
      const view = native.dataView(t.handle);
      let done = 0;
      while (done < view.length) {
        const n = readSync(this.#fd, view, done, view.length - done, this.#dataStart + b + done);
        if (n === 0) throw new SafetensorsError(this.path, `unexpected end of file while reading '${name}'`);
        done += n;
      }
    }
    if (o.device && o.device !== "cpu") {
      const moved = t.to(o.device);
      t.dispose();
      return moved;
    }
    return t;
  }

  close(): void {
    if (this.#fd !== null) closeSync(this.#fd);
    this.#fd = null;
  }
  [Symbol.dispose](): void {
    this.close();
  }
}

/** Reads every tensor of a safetensors file (safetensors.torch.load_file), in file order. */
export function loadFile(path: string, o: { device?: string } = {}): Map<string, Tensor> {
  const f = new SafetensorsFile(path);
  try {
    const out = new Map<string, Tensor>();
    for (const k of f.keys()) out.set(k, f.getTensor(k, o));
    return out;
  } finally {
    f.close();
  }
}

export function loadMetadata(path: string): Record<string, string> {
  const f = new SafetensorsFile(path);
  f.close();
  return f.metadata;
}

/**
 * Writes tensors to a safetensors file (safetensors.torch.save_file): atomically, via a temporary
 * file in the same folder that is renamed over `path` once fully written and flushed.
 */
export function saveFile(tensors: Map<string, Tensor> | Record<string, Tensor>, path: string, metadata?: Record<string, string>): void {
  const entries = tensors instanceof Map ? [...tensors.entries()] : Object.entries(tensors);
  const header: Record<string, unknown> = {};
  if (metadata) {
    for (const [k, v] of Object.entries(metadata)) {
      if (typeof v !== "string") throw new TypeError(`saveFile(): metadata '${k}' must be a string, got ${typeof v}`);
    }
    header.__metadata__ = metadata;
  }
  let offset = 0;
  for (const [name, t] of entries) {
    if (!(t instanceof Tensor)) throw new TypeError(`saveFile(): '${name}' is not a Tensor`);
    if (name === "__metadata__") throw new TypeError("saveFile(): '__metadata__' is reserved");
    const bytes = t.numel() * BYTES[t.dtype];
    header[name] = { dtype: FROM_DTYPE[t.dtype], shape: t.shape, data_offsets: [offset, offset + bytes] };
    offset += bytes;
  }
  let json = JSON.stringify(header);
  // Pad with spaces so the data section starts 8-byte aligned, as the reference writer does.
  json += " ".repeat((8 - ((Buffer.byteLength(json) + 8) % 8)) % 8);
  const headerBuf = Buffer.from(json, "utf8");
  const lenBuf = Buffer.alloc(8);
  lenBuf.writeBigUInt64LE(BigInt(headerBuf.length));

  const tmp = `${path}.tmp-${process.pid}-${Date.now()}`;
  // Node's messages name the syscall ("ENOSPC: no space left on device, write"), not the file.
  const failed = (e: unknown, doing: string) => {
    const err = e as NodeJS.ErrnoException;
    const why = err.code === "ENOSPC" ? "no space left on device" : err.code === "EISDIR" ? "a directory is in the way" : err.message;
    return Object.assign(new Error(`cannot write ${path} (${doing}): ${why}`), { code: err.code });
  };
  let fd: number;
  try {
    fd = openSync(tmp, "w");
  } catch (e) {
    throw failed(e, "creating its temporary file");
  }
  try {
    writeSync(fd, lenBuf);
    writeSync(fd, headerBuf);
    for (const [, t] of entries) {
      if (t.numel() === 0) continue;
      const c = t.device === "cpu" && t.isContiguous() ? t.detach() : t.detach().to("cpu").contiguous();
      try {
        const view = native.dataView(c.handle);
        let done = 0;
        while (done < view.length) done += writeSync(fd, view, done, view.length - done);
      } finally {
        c.dispose();
      }
    }
    fsyncSync(fd);
    closeSync(fd);
  } catch (e) {
    try {
      closeSync(fd);
    } catch {
      // closed already
    }
    try {
      unlinkSync(tmp);
    } catch {
      // already gone
    }
    throw failed(e, "writing the tensors");
  }
  try {
    renameSync(tmp, path);
  } catch (e) {
    rmSync(tmp, { force: true });
    throw failed(e, "renaming it into place");
  }
}
