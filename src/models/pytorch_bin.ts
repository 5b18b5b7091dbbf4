// pytorch_model.bin without Python: PyTorch's zip archive (stored, uncompressed entries) holding a
// pickled state dict whose tensors point at storage files beside it. The unpickler is minimal and
// safe: it builds tuples, lists, dicts and tensors, and calls only the few functions a state dict
// needs (OrderedDict, _rebuild_tensor_v2, _rebuild_parameter); anything else is refused.
import { closeSync, fstatSync, openSync, readSync } from "node:fs";
import { inflateRawSync } from "node:zlib";
import { Tensor, elementBytes, fromBytes, dispose, type DType } from "../torch/index.js";

interface ZipEntry {
  name: string;
  offset: number;
  size: number;
  method: number;
  compressedSize: number;
}

/** The archive's bytes, read where they are needed: a multi-gigabyte checkpoint is never in memory whole. */
class ArchiveFile {
  readonly size: number;
  constructor(
    readonly fd: number,
    readonly file: string,
  ) {
    this.size = fstatSync(fd).size;
  }
  read(offset: number, length: number, what: string): Buffer {
    if (!Number.isSafeInteger(offset) || !Number.isSafeInteger(length) || offset < 0 || length < 0 || offset + length > this.size) {
      throw new Error(`${this.file}: ${what} at byte ${offset} (${length} bytes) runs past the end of the file (${this.size} bytes): truncated or damaged`);
    }
    const out = Buffer.allocUnsafe(length);
    let done = 0;
    while (done < length) {
      const n = readSync(this.fd, out, done, length - done, offset + done);
      if (n === 0) throw new Error(`${this.file}: ${what}: the file ended early at byte ${offset + done}`);
      done += n;
    }
    return out;
  }
}

function readZip(f: ArchiveFile): Map<string, ZipEntry> {
  const file = f.file;
  const tailStart = Math.max(0, f.size - 65557);
  const tail = f.read(tailStart, f.size - tailStart, "the end-of-central-directory record");
  let eocd = -1;
  for (let i = tail.length - 22; i >= 0; i--) {
    if (tail.readUInt32LE(i) === 0x06054b50) {
      eocd = i;
      break;
    }
  }
  if (eocd < 0) throw new Error(`${file}: not a zip archive (no end-of-central-directory record); legacy (pre-1.6) torch.save files are not supported`);
  let count = tail.readUInt16LE(eocd + 10);
  let cdSize = tail.readUInt32LE(eocd + 12);
  let cd = tail.readUInt32LE(eocd + 16);
  // Zip64: large checkpoints keep the real values in the zip64 end record.
  if (cd === 0xffffffff || count === 0xffff || cdSize === 0xffffffff) {
    const loc = f.read(tailStart + eocd - 20, 20, "the zip64 locator");
    if (loc.readUInt32LE(0) !== 0x07064b50) throw new Error(`${file}: damaged zip64 archive`);
    const rec = f.read(Number(loc.readBigUInt64LE(8)), 56, "the zip64 end record");
    count = Number(rec.readBigUInt64LE(32));
    cdSize = Number(rec.readBigUInt64LE(40));
    cd = Number(rec.readBigUInt64LE(48));
  }
  const dir = f.read(cd, cdSize, "the zip central directory");
  const entries = new Map<string, ZipEntry>();
  let p = 0;
  for (let k = 0; k < count; k++) {
    if (p + 46 > dir.length || dir.readUInt32LE(p) !== 0x02014b50) throw new Error(`${file}: damaged zip central directory (entry ${k} at byte ${cd + p})`);
    const method = dir.readUInt16LE(p + 10);
    let compressedSize = dir.readUInt32LE(p + 20);
    let size = dir.readUInt32LE(p + 24);
    const nameLen = dir.readUInt16LE(p + 28);
    const extraLen = dir.readUInt16LE(p + 30);
    const commentLen = dir.readUInt16LE(p + 32);
    let local = dir.readUInt32LE(p + 42);
    if (p + 46 + nameLen + extraLen > dir.length) throw new Error(`${file}: damaged zip central directory (entry ${k} runs past it)`);
    const name = dir.toString("utf8", p + 46, p + 46 + nameLen);
    // Zip64 extra field (0x0001): 64-bit sizes/offset for the fields set to 0xffffffff.
    let e = p + 46 + nameLen;
    const end = e + extraLen;
    while (e + 4 <= end) {
      const id = dir.readUInt16LE(e);
      const len = dir.readUInt16LE(e + 2);
      if (id === 1) {
        let q = e + 4;
        const next = () => {
          if (q + 8 > end) throw new Error(`${file}: damaged zip64 extra field of ${name}`);
          const v = Number(dir.readBigUInt64LE(q));
          q += 8;
          return v;
        };
        if (size === 0xffffffff) size = next();
        if (compressedSize === 0xffffffff) compressedSize = next();
        if (local === 0xffffffff) local = next();
      }
      e += 4 + len;
    }
    const header = f.read(local, 30, `the local header of ${name}`);
    entries.set(name, { name, offset: local + 30 + header.readUInt16LE(26) + header.readUInt16LE(28), size, method, compressedSize });
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
function entryBytes(f: ArchiveFile, e: ZipEntry, expected: number | null, limit = Infinity): Buffer {
  const file = f.file;
  if (e.offset + e.compressedSize > f.size) throw new Error(`${file}: entry ${e.name} runs past the end of the file (truncated?)`);
  if (expected !== null && e.size !== expected) throw new Error(`${file}: entry ${e.name} declares ${e.size} bytes, but its tensor needs ${expected}`);
  if (e.size > limit) throw new Error(`${file}: entry ${e.name} declares ${e.size} bytes, more than the ${limit} allowed`);
  if (e.method === 0 && e.compressedSize !== e.size)
    throw new Error(`${file}: entry ${e.name} is stored with ${e.compressedSize} bytes but declares ${e.size}`);
  const raw = f.read(e.offset, e.compressedSize, `entry ${e.name}`);
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
  FloatStorage: "float32",
  DoubleStorage: "float64",
  HalfStorage: "float16",
  BFloat16Storage: "bfloat16",
  LongStorage: "int64",
  IntStorage: "int32",
  ShortStorage: "int16",
  CharStorage: "int8",
  ByteStorage: "uint8",
  BoolStorage: "bool",
};

class Global {
  constructor(
    readonly module: string,
    readonly name: string,
  ) {}
  get full(): string {
    return `${this.module}.${this.name}`;
  }
}
class StorageRef {
  constructor(
    readonly dtype: DType,
    readonly key: string,
    readonly numel: number,
  ) {}
}
const MARK = Symbol("mark");

/** Reads a torch.save'd state dict (zip format) into tensors by name, in file order. */
export function loadPytorchBin(file: string): Map<string, Tensor> {
  let fd: number;
  try {
    fd = openSync(file, "r");
    if (fstatSync(fd).isDirectory()) {
      closeSync(fd);
      throw Object.assign(new Error("EISDIR: a directory, not a file"), { code: "EISDIR" });
    }
  } catch (e) {
    throw new Error(`cannot read ${file} (${(e as Error).message})`);
  }
  try {
    return readStateDict(new ArchiveFile(fd, file));
  } finally {
    closeSync(fd);
  }
}

function readStateDict(buf: ArchiveFile): Map<string, Tensor> {
  const file = buf.file;
  const entries = readZip(buf);
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
      const bytes = entryBytes(buf, e, ref.numel * elementBytes(ref.dtype));
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
    const out = unpickle(entryBytes(buf, entries.get(pkl)!, null, MAX_PICKLE_BYTES), file, call, (pid) => {
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
  let at = 0; // the current opcode's offset, for messages
  const bad = (why: string) => new Error(`${file}: malformed pickle at byte ${at} (opcode 0x${data[at].toString(16)}): ${why}`);
  // Every read is bounded: an opcode whose argument runs past the end is refused, never read as garbage.
  const need = (n: number) => {
    if (p + n > data.length) throw bad(`its ${n}-byte argument runs past the end of the pickle (${data.length} bytes)`);
  };
  const pop = (): unknown => {
    if (!stack.length || stack[stack.length - 1] === MARK) throw bad("the stack is empty");
    return stack.pop();
  };
  const top = (): unknown => {
    if (!stack.length || stack[stack.length - 1] === MARK) throw bad("the stack is empty");
    return stack[stack.length - 1];
  };
  const list = (): unknown[] => {
    const l = top();
    if (!Array.isArray(l)) throw bad("appending to something that is not a list");
    return l;
  };
  const popMark = (): unknown[] => {
    const i = stack.lastIndexOf(MARK);
    if (i < 0) throw bad("no mark");
    const items = stack.splice(i + 1);
    stack.pop();
    return items;
  };
  const line = () => {
    const e = data.indexOf(0x0a, p);
    if (e < 0) throw bad("GLOBAL's name has no newline before the end of the pickle");
    const s = data.toString("latin1", p, e);
    p = e + 1;
    return s;
  };
  const setItem = (d: unknown, k: unknown, v: unknown) => {
    if (d instanceof Map) d.set(k, v);
    else if (d && typeof d === "object" && !Array.isArray(d)) (d as Record<string, unknown>)[String(k)] = v;
    else throw bad("setting an item of something that is not a dict");
  };
  const str = (n: number, enc: BufferEncoding) => {
    need(n);
    const v = data.toString(enc, p, p + n);
    p += n;
    return v;
  };
  while (p < data.length) {
    at = p;
    const op = data[p++];
    switch (op) {
      case 0x80:
        need(1);
        p++;
        break; // PROTO
      case 0x95:
        need(8);
        p += 8;
        break; // FRAME
      case 0x2e:
        return pop(); // STOP
      case 0x28:
        stack.push(MARK);
        break;
      case 0x4e:
        stack.push(null);
        break;
      case 0x88:
        stack.push(true);
        break;
      case 0x89:
        stack.push(false);
        break;
      case 0x4a:
        need(4);
        stack.push(data.readInt32LE(p));
        p += 4;
        break; // BININT
      case 0x4b:
        need(1);
        stack.push(data[p]);
        p += 1;
        break; // BININT1
      case 0x4d:
        need(2);
        stack.push(data.readUInt16LE(p));
        p += 2;
        break; // BININT2
      case 0x8a: {
        // LONG1
        need(1);
        const n = data[p++];
        need(n);
        let v = 0n;
        for (let i = n - 1; i >= 0; i--) v = (v << 8n) | BigInt(data[p + i]);
        if (n > 0 && data[p + n - 1] & 0x80) v -= 1n << BigInt(8 * n);
        p += n;
        stack.push(Number(v));
        break;
      }
      case 0x47:
        need(8);
        stack.push(data.readDoubleBE(p));
        p += 8;
        break; // BINFLOAT
      case 0x58: {
        need(4);
        const n = data.readUInt32LE(p);
        p += 4;
        stack.push(str(n, "utf8"));
        break;
      } // BINUNICODE
      case 0x8c: {
        need(1);
        const n = data[p++];
        stack.push(str(n, "utf8"));
        break;
      } // SHORT_BINUNICODE
      case 0x54: {
        need(4);
        const n = data.readUInt32LE(p);
        p += 4;
        stack.push(str(n, "latin1"));
        break;
      } // BINSTRING
      case 0x55: {
        need(1);
        const n = data[p++];
        stack.push(str(n, "latin1"));
        break;
      } // SHORT_BINSTRING
      case 0x29:
        stack.push([]);
        break; // EMPTY_TUPLE
      case 0x74:
        stack.push(popMark());
        break; // TUPLE
      case 0x85:
        stack.push([pop()]);
        break;
      case 0x86: {
        const b = pop();
        const a = pop();
        stack.push([a, b]);
        break;
      }
      case 0x87: {
        const c = pop();
        const b = pop();
        const a = pop();
        stack.push([a, b, c]);
        break;
      }
      case 0x5d:
        stack.push([]);
        break; // EMPTY_LIST
      case 0x6c:
        stack.push(popMark());
        break; // LIST
      case 0x61: {
        const v = pop();
        list().push(v);
        break;
      } // APPEND
      case 0x65: {
        const items = popMark();
        list().push(...items);
        break;
      } // APPENDS
      case 0x7d:
        stack.push({});
        break; // EMPTY_DICT
      case 0x64: {
        const items = popMark();
        const d: Record<string, unknown> = {};
        for (let i = 0; i < items.length; i += 2) d[String(items[i])] = items[i + 1];
        stack.push(d);
        break;
      }
      case 0x73: {
        const v = pop();
        const k = pop();
        setItem(top(), k, v);
        break;
      } // SETITEM
      case 0x75: {
        const items = popMark();
        const d = top();
        for (let i = 0; i < items.length; i += 2) setItem(d, items[i], items[i + 1]);
        break;
      }
      case 0x71:
        need(1);
        memo.set(data[p++], top());
        break; // BINPUT
      case 0x72:
        need(4);
        memo.set(data.readUInt32LE(p), top());
        p += 4;
        break; // LONG_BINPUT
      case 0x94:
        memo.set(memo.size, top());
        break; // MEMOIZE
      case 0x68: {
        need(1);
        const k = data[p++];
        if (!memo.has(k)) throw bad(`memo ${k} was never set`);
        stack.push(memo.get(k));
        break;
      } // BINGET
      case 0x6a: {
        need(4);
        const k = data.readUInt32LE(p);
        p += 4;
        if (!memo.has(k)) throw bad(`memo ${k} was never set`);
        stack.push(memo.get(k));
        break;
      } // LONG_BINGET
      case 0x63: {
        const module = line();
        const name = line();
        stack.push(new Global(module, name));
        break;
      } // GLOBAL
      case 0x93: {
        const name = pop();
        const module = pop();
        if (typeof name !== "string" || typeof module !== "string") throw bad("STACK_GLOBAL without a module and a name");
        stack.push(new Global(module, name));
        break;
      }
      case 0x51: {
        const pid = pop();
        if (!Array.isArray(pid)) throw bad("a persistent id that is not a tuple");
        stack.push(persistent(pid));
        break;
      } // BINPERSID
      case 0x52:
      case 0x81: {
        const args = pop();
        const fn = pop();
        if (!Array.isArray(args)) throw bad("a call whose arguments are not a tuple");
        stack.push(call(fn, args));
        break;
      } // REDUCE, NEWOBJ
      case 0x62:
        pop();
        break; // BUILD: object state (e.g. an OrderedDict's _metadata) is not needed
      default:
        throw new Error(`${file}: unsupported pickle opcode 0x${op.toString(16)} at byte ${p - 1}`);
    }
  }
  throw new Error(`${file}: the pickle ends without STOP (truncated?)`);
}
