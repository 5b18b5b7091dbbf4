// pytorch_model.bin without Python: PyTorch's zip archive (stored, uncompressed entries) holding a
// pickled state dict whose tensors point at storage files beside it. The unpickler is minimal and
// safe: it builds tuples, lists, dicts and tensors, and calls only the few functions a state dict
// needs (OrderedDict, _rebuild_tensor_v2, _rebuild_parameter); anything else is refused.
import { readFileSync } from "node:fs";
import { inflateRawSync } from "node:zlib";
import { Tensor, elementBytes, fromBytes, dispose, type DType } from "../torch/index.js";

interface ZipEntry {
  name: string;
  offset: number;
  size: number;
  method: number;
  compressedSize: number;
}

function readZip(buf: Buffer, file: string): Map<string, ZipEntry> {
  let eocd = -1;
  for (let i = buf.length - 22; i >= Math.max(0, buf.length - 65557); i--) {
    if (buf.readUInt32LE(i) === 0x06054b50) {
      eocd = i;
      break;
    }
  }
  if (eocd < 0) throw new Error(`${file}: not a zip archive (no end-of-central-directory record); legacy (pre-1.6) torch.save files are not supported`);
  let count = buf.readUInt16LE(eocd + 10);
  let cd = buf.readUInt32LE(eocd + 16);
  // Zip64: large checkpoints keep the real values in the zip64 end record.
  if (cd === 0xffffffff || count === 0xffff) {
    const loc = eocd - 20;
    if (buf.readUInt32LE(loc) !== 0x07064b50) throw new Error(`${file}: damaged zip64 archive`);
    const rec = Number(buf.readBigUInt64LE(loc + 8));
    count = Number(buf.readBigUInt64LE(rec + 32));
    cd = Number(buf.readBigUInt64LE(rec + 48));
  }
  const entries = new Map<string, ZipEntry>();
  let p = cd;
  for (let k = 0; k < count; k++) {
    if (buf.readUInt32LE(p) !== 0x02014b50) throw new Error(`${file}: damaged zip central directory`);
    const method = buf.readUInt16LE(p + 10);
    let compressedSize = buf.readUInt32LE(p + 20);
    let size = buf.readUInt32LE(p + 24);
    const nameLen = buf.readUInt16LE(p + 28);
    const extraLen = buf.readUInt16LE(p + 30);
    const commentLen = buf.readUInt16LE(p + 32);
    let local = buf.readUInt32LE(p + 42);
    const name = buf.toString("utf8", p + 46, p + 46 + nameLen);
    // Zip64 extra field (0x0001): 64-bit sizes/offset for the fields set to 0xffffffff.
    let e = p + 46 + nameLen;
    const end = e + extraLen;
    while (e + 4 <= end) {
      const id = buf.readUInt16LE(e);
      const len = buf.readUInt16LE(e + 2);
      if (id === 1) {
        let q = e + 4;
        if (size === 0xffffffff) (size = Number(buf.readBigUInt64LE(q))), (q += 8);
        if (compressedSize === 0xffffffff) (compressedSize = Number(buf.readBigUInt64LE(q))), (q += 8);
        if (local === 0xffffffff) local = Number(buf.readBigUInt64LE(q));
      }
      e += 4 + len;
    }
    const lNameLen = buf.readUInt16LE(local + 26);
    const lExtraLen = buf.readUInt16LE(local + 28);
    entries.set(name, { name, offset: local + 30 + lNameLen + lExtraLen, size, method, compressedSize });
    p += 46 + nameLen + extraLen + commentLen;
  }
  return entries;
}

/** The pickle of a state dict is small; anything near this is not one (or is a zip bomb). */
const MAX_PICKLE_BYTES = 1 << 30;

/**
 * An entry's bytes. `expected` (when the caller knows it) must equal the size the archive declares,
 * and inflating never produces more than the declared size: a small archive cannot make us
 * allocate gigabytes (a zip bomb) before being refused.
 */
function entryBytes(buf: Buffer, e: ZipEntry, file: string, expected: number | null, limit = Infinity): Buffer {
  if (e.offset + e.compressedSize > buf.length) throw new Error(`${file}: entry ${e.name} runs past the end of the file (truncated?)`);
  if (expected !== null && e.size !== expected) throw new Error(`${file}: entry ${e.name} declares ${e.size} bytes, but its tensor needs ${expected}`);
  if (e.size > limit) throw new Error(`${file}: entry ${e.name} declares ${e.size} bytes, more than the ${limit} allowed`);
  const raw = buf.subarray(e.offset, e.offset + e.compressedSize);
  let out: Buffer;
  if (e.method === 0) out = raw;
  else if (e.method === 8) {
    try {
      out = inflateRawSync(raw, { maxOutputLength: Math.max(1, e.size) });
    } catch (err) {
      throw new Error(`${file}: entry ${e.name} does not inflate to its declared ${e.size} bytes (${(err as Error).message})`);
    }
  } else throw new Error(`${file}: entry ${e.name} uses zip compression method ${e.method}`);
  if (out.length !== e.size) throw new Error(`${file}: entry ${e.name} holds ${out.length} bytes, but the archive declares ${e.size}`);
  return out;
}

const STORAGE_DTYPES: Record<string, DType> = {
  FloatStorage: "float32", DoubleStorage: "float64", HalfStorage: "float16", BFloat16Storage: "bfloat16",
  LongStorage: "int64", IntStorage: "int32", ShortStorage: "int16", CharStorage: "int8", ByteStorage: "uint8", BoolStorage: "bool",
};

class Global {
  constructor(readonly module: string, readonly name: string) {}
  get full(): string {
    return `${this.module}.${this.name}`;
  }
}
class StorageRef {
  constructor(readonly dtype: DType, readonly key: string, readonly numel: number) {}
}
const MARK = Symbol("mark");

/** Reads a torch.save'd state dict (zip format) into tensors by name, in file order. */
export function loadPytorchBin(file: string): Map<string, Tensor> {
  const buf = readFileSync(file);
  const entries = readZip(buf, file);
  const pkl = [...entries.keys()].find((n) => n.endsWith("/data.pkl") || n === "data.pkl");
  if (!pkl) throw new Error(`${file}: no data.pkl in the archive (is it a torch.save file?)`);
  const prefix = pkl.slice(0, pkl.length - "data.pkl".length);
  const storages = new Map<string, Tensor>();
  const made: Tensor[] = [];
  const storage = (ref: StorageRef): Tensor => {
    let s = storages.get(ref.key);
    if (!s) {
      const e = entries.get(`${prefix}data/${ref.key}`);
      if (!e) throw new Error(`${file}: storage ${ref.key} is missing from the archive`);
      if (!Number.isSafeInteger(ref.numel) || ref.numel < 0) throw new Error(`${file}: storage ${ref.key} has an invalid size ${String(ref.numel)}`);
      // Checked against the archive before anything is allocated or inflated.
      const bytes = entryBytes(buf, e, file, ref.numel * elementBytes(ref.dtype));
      s = fromBytes(bytes, [ref.numel], ref.dtype);
      storages.set(ref.key, s);
    }
    return s;
  };
  const call = (fn: unknown, args: unknown[]): unknown => {
    if (!(fn instanceof Global)) throw new Error(`${file}: the pickle calls something that is not a known function`);
    switch (fn.full) {
      case "collections.OrderedDict":
        return new Map();
      case "torch._utils._rebuild_tensor_v2": {
        const [ref, offset, size, stride] = args as [StorageRef, number, number[], number[]];
        if (!(ref instanceof StorageRef)) throw new Error(`${file}: _rebuild_tensor_v2 without a storage`);
        const t = storage(ref).asStrided(size, stride, offset).contiguous();
        made.push(t);
        return t;
      }
      case "torch._utils._rebuild_parameter":
        return args[0];
      default:
        throw new Error(`${file}: refusing to call ${fn.full} while unpickling (only state dicts of tensors are read)`);
    }
  };
  try {
    const out = unpickle(entryBytes(buf, entries.get(pkl)!, file, null, MAX_PICKLE_BYTES), file, call, (pid) => {
      const [kind, type, key, , numel] = pid as [string, Global, string, string, number];
      if (kind !== "storage" || !(type instanceof Global)) throw new Error(`${file}: unknown persistent id ${JSON.stringify(kind)}`);
      const dtype = STORAGE_DTYPES[type.name];
      if (!dtype) throw new Error(`${file}: unsupported storage type ${type.full}`);
      return new StorageRef(dtype, key, numel);
    });
    const dict = out instanceof Map ? out : out && typeof out === "object" ? new Map(Object.entries(out as object)) : null;
    if (!dict) throw new Error(`${file}: the pickle is not a state dict`);
    const tensors = new Map<string, Tensor>();
    for (const [k, v] of dict) if (v instanceof Tensor) tensors.set(String(k), v);
    return tensors;
  } catch (e) {
    dispose(made);
    throw e;
  } finally {
    dispose([...storages.values()]);
  }
}

function unpickle(data: Buffer, file: string, call: (fn: unknown, args: unknown[]) => unknown, persistent: (pid: unknown) => unknown): unknown {
  const stack: unknown[] = [];
  const memo = new Map<number, unknown>();
  let p = 0;
  const popMark = (): unknown[] => {
    const i = stack.lastIndexOf(MARK);
    if (i < 0) throw new Error(`${file}: malformed pickle (no mark)`);
    const items = stack.splice(i + 1);
    stack.pop();
    return items;
  };
  const line = () => {
    const e = data.indexOf(0x0a, p);
    const s = data.toString("latin1", p, e);
    p = e + 1;
    return s;
  };
  const setItem = (d: unknown, k: unknown, v: unknown) => {
    if (d instanceof Map) d.set(k, v);
    else (d as Record<string, unknown>)[String(k)] = v;
  };
  while (p < data.length) {
    const op = data[p++];
    switch (op) {
      case 0x80: p++; break; // PROTO
      case 0x95: p += 8; break; // FRAME
      case 0x2e: return stack.pop(); // STOP
      case 0x28: stack.push(MARK); break;
      case 0x4e: stack.push(null); break;
      case 0x88: stack.push(true); break;
      case 0x89: stack.push(false); break;
      case 0x4a: stack.push(data.readInt32LE(p)); p += 4; break; // BININT
      case 0x4b: stack.push(data[p]); p += 1; break; // BININT1
      case 0x4d: stack.push(data.readUInt16LE(p)); p += 2; break; // BININT2
      case 0x8a: { // LONG1
        const n = data[p++];
        let v = 0n;
        for (let i = n - 1; i >= 0; i--) v = (v << 8n) | BigInt(data[p + i]);
        if (n > 0 && data[p + n - 1] & 0x80) v -= 1n << BigInt(8 * n);
        p += n;
        stack.push(Number(v));
        break;
      }
      case 0x47: stack.push(data.readDoubleBE(p)); p += 8; break; // BINFLOAT
      case 0x58: { const n = data.readUInt32LE(p); p += 4; stack.push(data.toString("utf8", p, p + n)); p += n; break; } // BINUNICODE
      case 0x8c: { const n = data[p++]; stack.push(data.toString("utf8", p, p + n)); p += n; break; } // SHORT_BINUNICODE
      case 0x54: { const n = data.readUInt32LE(p); p += 4; stack.push(data.toString("latin1", p, p + n)); p += n; break; } // BINSTRING
      case 0x55: { const n = data[p++]; stack.push(data.toString("latin1", p, p + n)); p += n; break; } // SHORT_BINSTRING
      case 0x29: stack.push([]); break; // EMPTY_TUPLE
      case 0x74: stack.push(popMark()); break; // TUPLE
      case 0x85: stack.push([stack.pop()]); break;
      case 0x86: { const b = stack.pop(); const a = stack.pop(); stack.push([a, b]); break; }
      case 0x87: { const c = stack.pop(); const b = stack.pop(); const a = stack.pop(); stack.push([a, b, c]); break; }
      case 0x5d: stack.push([]); break; // EMPTY_LIST
      case 0x6c: stack.push(popMark()); break; // LIST
      case 0x61: { const v = stack.pop(); (stack[stack.length - 1] as unknown[]).push(v); break; } // APPEND
      case 0x65: { const items = popMark(); (stack[stack.length - 1] as unknown[]).push(...items); break; } // APPENDS
      case 0x7d: stack.push({}); break; // EMPTY_DICT
      case 0x64: { const items = popMark(); const d: Record<string, unknown> = {}; for (let i = 0; i < items.length; i += 2) d[String(items[i])] = items[i + 1]; stack.push(d); break; }
      case 0x73: { const v = stack.pop(); const k = stack.pop(); setItem(stack[stack.length - 1], k, v); break; } // SETITEM
      case 0x75: { const items = popMark(); const d = stack[stack.length - 1]; for (let i = 0; i < items.length; i += 2) setItem(d, items[i], items[i + 1]); break; }
      case 0x71: memo.set(data[p++], stack[stack.length - 1]); break; // BINPUT
      case 0x72: memo.set(data.readUInt32LE(p), stack[stack.length - 1]); p += 4; break; // LONG_BINPUT
      case 0x94: memo.set(memo.size, stack[stack.length - 1]); break; // MEMOIZE
      case 0x68: stack.push(memo.get(data[p++])); break; // BINGET
      case 0x6a: stack.push(memo.get(data.readUInt32LE(p))); p += 4; break; // LONG_BINGET
      case 0x63: { const module = line(); const name = line(); stack.push(new Global(module, name)); break; } // GLOBAL
      case 0x93: { const name = stack.pop() as string; const module = stack.pop() as string; stack.push(new Global(module, name)); break; }
      case 0x51: stack.push(persistent(stack.pop())); break; // BINPERSID
      case 0x52: { const args = stack.pop() as unknown[]; const fn = stack.pop(); stack.push(call(fn, args)); break; } // REDUCE
      case 0x81: { const args = stack.pop() as unknown[]; const cls = stack.pop(); stack.push(call(cls, args)); break; } // NEWOBJ
      case 0x62: stack.pop(); break; // BUILD: object state (e.g. an OrderedDict's _metadata) is not needed
      default:
        throw new Error(`${file}: unsupported pickle opcode 0x${op.toString(16)} at byte ${p - 1}`);
    }
  }
  throw new Error(`${file}: the pickle ends without STOP (truncated?)`);
}
