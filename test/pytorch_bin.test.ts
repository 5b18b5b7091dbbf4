// pytorch_model.bin archives that lie about their sizes: a zip bomb is refused before it inflates,
// and a storage whose declared size does not fit its tensor is refused before anything is allocated.
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { deflateRawSync } from "node:zlib";
import { loadPytorchBin } from "../src/models/index.js";
import * as torch from "../src/torch/index.js";
import { fixture } from "./helpers.js";

const SOURCE = fixture("golden", "models", "tiny-bert-bin", "pytorch_model.bin");

interface Entry {
  name: string;
  data: Buffer;
  method?: number;
  declaredSize?: number;
}

/** The stored entries of a zip made by torch.save (method 0, no zip64). */
function readEntries(buf: Buffer): Entry[] {
  const eocd = buf.lastIndexOf(Buffer.from([0x50, 0x4b, 0x05, 0x06]));
  const count = buf.readUInt16LE(eocd + 10);
  let p = buf.readUInt32LE(eocd + 16);
  const out: Entry[] = [];
  for (let k = 0; k < count; k++) {
    const size = buf.readUInt32LE(p + 20);
    const nameLen = buf.readUInt16LE(p + 28);
    const local = buf.readUInt32LE(p + 42);
    const name = buf.toString("utf8", p + 46, p + 46 + nameLen);
    const start = local + 30 + buf.readUInt16LE(local + 26) + buf.readUInt16LE(local + 28);
    out.push({ name, data: buf.subarray(start, start + size) });
    p += 46 + nameLen + buf.readUInt16LE(p + 30) + buf.readUInt16LE(p + 32);
  }
  return out;
}

/** A zip of these entries; `data` is written as is, with the method and uncompressed size given. */
function writeZip(entries: Entry[]): Buffer {
  const locals: Buffer[] = [];
  const central: Buffer[] = [];
  let offset = 0;
  for (const e of entries) {
    const name = Buffer.from(e.name);
    const size = e.declaredSize ?? e.data.length;
    const lh = Buffer.alloc(30);
    lh.writeUInt32LE(0x04034b50, 0);
    lh.writeUInt16LE(e.method ?? 0, 8);
    lh.writeUInt32LE(e.data.length, 18);
    lh.writeUInt32LE(size, 22);
    lh.writeUInt16LE(name.length, 26);
    const ch = Buffer.alloc(46);
    ch.writeUInt32LE(0x02014b50, 0);
    ch.writeUInt16LE(e.method ?? 0, 10);
    ch.writeUInt32LE(e.data.length, 20);
    ch.writeUInt32LE(size, 24);
    ch.writeUInt16LE(name.length, 28);
    ch.writeUInt32LE(offset, 42);
    locals.push(lh, name, e.data);
    central.push(ch, name);
    offset += 30 + name.length + e.data.length;
  }
  const cd = Buffer.concat(central);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(entries.length, 8);
  end.writeUInt16LE(entries.length, 10);
  end.writeUInt32LE(cd.length, 12);
  end.writeUInt32LE(offset, 16);
  return Buffer.concat([...locals, cd, end]);
}

function write(entries: Entry[]): string {
  const p = join(mkdtempSync(join(tmpdir(), "ft-bin-")), "pytorch_model.bin");
  writeFileSync(p, writeZip(entries));
  return p;
}

test("a rebuilt archive loads (the zip writer of this test is sound), deflated entries too", () => {
  const entries = readEntries(readFileSync(SOURCE));
  const want = loadPytorchBin(SOURCE);
  const deflated = entries.map((e) => ({ name: e.name, data: deflateRawSync(e.data), method: 8, declaredSize: e.data.length }));
  for (const p of [write(entries), write(deflated)]) {
    const got = loadPytorchBin(p);
    assert.deepEqual([...got.keys()], [...want.keys()]);
    for (const [k, t] of got) assert.ok(t.equal(want.get(k)!), k);
    torch.dispose([...got.values()]);
  }
  torch.dispose([...want.values()]);
});

test("zip bombs and lying sizes are refused before they inflate or allocate", () => {
  const entries = readEntries(readFileSync(SOURCE));
  const storage = entries.find((e) => e.name === "pytorch_model/data/1")!;
  const replace = (e: Entry) => entries.map((x) => (x.name === e.name ? e : x));
  const rssBefore = process.memoryUsage().rss;

  // Declares 2 GB of a storage whose tensor needs 8 KB: refused from the header alone.
  const bomb = deflateRawSync(Buffer.alloc(64 << 20)); // 64 MB of zeros deflate to ~64 KB
  const t0 = performance.now();
  assert.throws(
    () => loadPytorchBin(write(replace({ name: storage.name, data: bomb, method: 8, declaredSize: 2 ** 31 }))),
    /entry pytorch_model\/data\/1 declares 2147483648 bytes, but its tensor needs 8192/,
  );
  // Declares the right size but inflates to far more: inflating stops at the declared size.
  assert.throws(
    () => loadPytorchBin(write(replace({ name: storage.name, data: bomb, method: 8, declaredSize: storage.data.length }))),
    /entry pytorch_model\/data\/1 does not inflate to its declared 8192 bytes/,
  );
  // Inflates to less than it declares.
  assert.throws(
    () => loadPytorchBin(write(replace({ name: storage.name, data: deflateRawSync(Buffer.alloc(100)), method: 8, declaredSize: storage.data.length }))),
    /holds 100 bytes, but the archive declares 8192/,
  );
  // The pickle itself as a bomb: over the limit from its declared size.
  const pkl = entries.find((e) => e.name.endsWith("data.pkl"))!;
  assert.throws(
    () => loadPytorchBin(write(entries.map((x) => (x === pkl ? { name: pkl.name, data: bomb, method: 8, declaredSize: 2 ** 32 - 1 } : x)))),
    /data.pkl declares 4294967295 bytes, more than the 1073741824 allowed/,
  );
  // A stored entry shorter than its tensor.
  assert.throws(
    () => loadPytorchBin(write(replace({ name: storage.name, data: storage.data.subarray(0, 100) }))),
    /declares 100 bytes, but its tensor needs 8192/,
  );
  assert.ok(performance.now() - t0 < 2000, "refused quickly");
  assert.ok(process.memoryUsage().rss - rssBefore < 512 << 20, "no gigabytes were allocated");
});

test("hostile pickles: every read is bounded and each failure names the byte (a GLOBAL without a newline does not loop)", () => {
  const entries = readEntries(readFileSync(SOURCE));
  const pkl = entries.find((e) => e.name.endsWith("data.pkl"))!;
  const withPickle = (data: Buffer) => write(entries.map((x) => (x === pkl ? { name: pkl.name, data } : x)));
  const rssBefore = process.memoryUsage().rss;
  const t0 = performance.now();
  // PROTO 2, then GLOBAL 'collections\nOrderedDict' with no newline after the name: no end of line anywhere.
  assert.throws(
    () => loadPytorchBin(withPickle(Buffer.from("\x80\x02ccollections\nOrderedDict", "latin1"))),
    /pytorch_model\.bin: malformed pickle at byte 2 \(opcode 0x63\): GLOBAL's name has no newline/,
  );
  // BININT with 2 of its 4 bytes; BINUNICODE claiming 1 GB; LONG1 past the end.
  assert.throws(
    () => loadPytorchBin(withPickle(Buffer.from([0x80, 0x02, 0x4a, 1, 2]))),
    /malformed pickle at byte 2 \(opcode 0x4a\): its 4-byte argument runs past the end of the pickle \(5 bytes\)/,
  );
  assert.throws(
    () => loadPytorchBin(withPickle(Buffer.from([0x80, 0x02, 0x58, 0, 0, 0, 0x40, 0x41]))),
    /malformed pickle at byte 2 \(opcode 0x58\): its 1073741824-byte argument runs past the end/,
  );
  assert.throws(() => loadPytorchBin(withPickle(Buffer.from([0x80, 0x02, 0x8a, 9, 1]))), /opcode 0x8a\): its 9-byte argument runs past the end/);
  // Structure misuse: APPEND to an int, SETITEM on an empty stack, a memo never set, a call without a tuple.
  assert.throws(
    () => loadPytorchBin(withPickle(Buffer.from([0x80, 0x02, 0x4b, 1, 0x4b, 2, 0x61, 0x2e]))),
    /byte 6 \(opcode 0x61\): appending to something that is not a list/,
  );
  assert.throws(() => loadPytorchBin(withPickle(Buffer.from([0x80, 0x02, 0x73, 0x2e]))), /byte 2 \(opcode 0x73\): the stack is empty/);
  assert.throws(() => loadPytorchBin(withPickle(Buffer.from([0x80, 0x02, 0x68, 7, 0x2e]))), /byte 2 \(opcode 0x68\): memo 7 was never set/);
  assert.throws(
    () => loadPytorchBin(withPickle(Buffer.from([0x80, 0x02, 0x4b, 1, 0x4b, 2, 0x52, 0x2e]))),
    /byte 6 \(opcode 0x52\): a call whose arguments are not a tuple/,
  );
  assert.throws(() => loadPytorchBin(withPickle(Buffer.from([0x80, 0x02, 0x4b, 1]))), /the pickle ends without STOP/);
  assert.ok(performance.now() - t0 < 2000, "refused quickly");
  assert.ok(process.memoryUsage().rss - rssBefore < 256 << 20, "memory did not grow");

  // A truncated archive names what runs past its end; a folder is not a file.
  const whole = readFileSync(write(entries));
  const cut = join(mkdtempSync(join(tmpdir(), "ft-bin-cut-")), "pytorch_model.bin");
  writeFileSync(cut, Buffer.concat([whole.subarray(0, 200), whole.subarray(whole.length - 22)]));
  assert.throws(() => loadPytorchBin(cut), /pytorch_model\.bin: the zip central directory at byte \d+ \(\d+ bytes\) runs past the end of the file/);
  assert.throws(() => loadPytorchBin(tmpdir()), new RegExp(`cannot read ${tmpdir()} \\(EISDIR`));
});
