// TensorBoard event files without TensorFlow: TFRecord framing (length, masked CRC32C) around
// tensorflow.Event protobufs holding scalar summaries, hand-encoded (the format is small and stable).
import { closeSync, mkdirSync, openSync, writeSync, fsyncSync } from "node:fs";
import { hostname } from "node:os";
import { join } from "node:path";

const CRC_TABLE = (() => {
  const t = new Uint32Array(256);
  for (let i = 0; i < 256; i++) {
    let c = i;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0x82f63b78 ^ (c >>> 1) : c >>> 1;
    t[i] = c >>> 0;
  }
  return t;
})();

export function crc32c(buf: Uint8Array): number {
  let c = 0xffffffff;
  for (const b of buf) c = CRC_TABLE[(c ^ b) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

function masked(crc: number): number {
  return ((((crc >>> 15) | (crc << 17)) >>> 0) + 0xa282ead8) >>> 0;
}

function varint(n: number): number[] {
  const out: number[] = [];
  let v = BigInt(n);
  do {
    let b = Number(v & 0x7fn);
    v >>= 7n;
    if (v > 0n) b |= 0x80;
    out.push(b);
  } while (v > 0n);
  return out;
}
const key = (field: number, wire: number) => varint((field << 3) | wire);
const bytesField = (field: number, data: Uint8Array | number[]) => [...key(field, 2), ...varint(data.length), ...data];

function scalarEvent(tag: string, value: number, step: number, wallTime: number): Uint8Array {
  const f32 = Buffer.alloc(4);
  f32.writeFloatLE(value);
  const summaryValue = [...bytesField(1, Buffer.from(tag, "utf8")), ...key(2, 5), ...f32];
  const summary = bytesField(1, summaryValue);
  const wall = Buffer.alloc(8);
  wall.writeDoubleLE(wallTime);
  return Uint8Array.from([...key(1, 1), ...wall, ...key(2, 0), ...varint(step), ...bytesField(5, summary)]);
}

function versionEvent(wallTime: number): Uint8Array {
  const wall = Buffer.alloc(8);
  wall.writeDoubleLE(wallTime);
  return Uint8Array.from([...key(1, 1), ...wall, ...bytesField(3, Buffer.from("brain.Event:2"))]);
}

export class TensorBoardWriter {
  readonly path: string;
  #fd: number;

  constructor(dir: string) {
    mkdirSync(dir, { recursive: true });
    const now = Date.now() / 1000;
    this.path = join(dir, `events.out.tfevents.${Math.floor(now)}.${hostname()}.${process.pid}.0`);
    this.#fd = openSync(this.path, "a");
    this.#record(versionEvent(now));
  }

  #record(data: Uint8Array): void {
    const len = Buffer.alloc(8);
    len.writeBigUInt64LE(BigInt(data.length));
    const head = Buffer.alloc(4);
    head.writeUInt32LE(masked(crc32c(len)));
    const tail = Buffer.alloc(4);
    tail.writeUInt32LE(masked(crc32c(data)));
    writeSync(this.#fd, Buffer.concat([len, head, Buffer.from(data), tail]));
  }

  addScalar(tag: string, value: number, step: number): void {
    this.#record(scalarEvent(tag, value, step, Date.now() / 1000));
  }
  flush(): void {
    fsyncSync(this.#fd);
  }
  close(): void {
    closeSync(this.#fd);
  }
}
