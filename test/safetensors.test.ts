// safetensors: round trips of every dtype, files written by an independent Python writer, and
// malformed files that must fail with an error naming the problem.
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, readdirSync, readFileSync, writeFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as torch from "../src/torch/index.js";
import type { DType } from "../src/torch/index.js";
import { fixture } from "./helpers.js";

const dir = mkdtempSync(join(tmpdir(), "ft-safetensors-"));
process.on("exit", () => rmSync(dir, { recursive: true, force: true }));

test("every dtype and __metadata__ round-trip; non-contiguous tensors are written in C order", () => {
  const dtypes: DType[] = ["float32", "float16", "bfloat16", "float64", "int64", "int32", "int16", "int8", "uint8", "bool"];
  torch.tidy(() => {
    const tensors = new Map<string, torch.Tensor>();
    for (const d of dtypes)
      tensors.set(
        `t.${d}`,
        torch.tensor(
          [
            [0, 1, 1],
            [1, 0, 1],
          ],
          { dtype: d },
        ),
      );
    tensors.set("transposed", torch.arange(6, undefined, 1, { dtype: "float32" }).reshape(2, 3).t());
    tensors.set("empty", torch.zeros([0, 3]));
    tensors.set("scalar", torch.tensor(2.5));
    const path = join(dir, "all.safetensors");
    torch.saveFile(tensors, path, { format: "pt", note: "ünïcode" });
    const back = torch.loadFile(path);
    assert.deepEqual([...back.keys()], [...tensors.keys()]);
    for (const [k, t] of tensors) {
      const b = back.get(k)!;
      assert.equal(b.dtype, t.dtype, k);
      assert.ok(b.equal(t), k);
    }
    assert.deepEqual(torch.loadMetadata(path), { format: "pt", note: "ünïcode" });
    const raw = readFileSync(path);
    assert.equal((8 + Number(raw.readBigUInt64LE(0))) % 8, 0, "data section is 8-byte aligned");
    assert.deepEqual(
      readdirSync(dir).filter((f) => f.includes(".tmp-")),
      [],
      "no temporary file left",
    );
    torch.dispose(back);
  });
});

test("reads files written by PyTorch's side (fixtures), lazily by name", () => {
  const f = new torch.SafetensorsFile(fixture("golden", "tiny_encoder", "inputs.safetensors"));
  assert.deepEqual(f.keys().sort(), ["attention_mask", "input_ids", "labels"]);
  assert.deepEqual(f.info("labels"), { dtype: "int64", shape: [3], dataOffsets: f.info("labels").dataOffsets });
  const labels = f.getTensor("labels");
  assert.deepEqual(labels.toArray(), [2, 0, 1]);
  assert.throws(() => f.getTensor("nope"), /no tensor named 'nope'/);
  f.close();
  labels.dispose();
});

function header(obj: unknown, dataBytes: number, extra: { lengthOverride?: bigint; rawHeader?: string } = {}): Buffer {
  const json = Buffer.from(extra.rawHeader ?? JSON.stringify(obj));
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(extra.lengthOverride ?? BigInt(json.length));
  return Buffer.concat([len, json, Buffer.alloc(dataBytes)]);
}

function expectBad(name: string, bytes: Buffer, re: RegExp): void {
  const p = join(dir, `${name}.safetensors`);
  writeFileSync(p, bytes);
  assert.throws(
    () => torch.loadFile(p),
    (e: Error) => {
      assert.equal(e.name, "SafetensorsError", `${name}: ${e.message}`);
      assert.match(e.message, re, name);
      assert.ok(e.message.startsWith(p), "the error names the file");
      return true;
    },
  );
}

test("malformed files fail with an error that says which problem", () => {
  const ok = { a: { dtype: "F32", shape: [2], data_offsets: [0, 8] } };
  expectBad("short", Buffer.from([1, 2, 3]), /too short for the 8-byte header length/);
  expectBad("header-beyond", header(ok, 8, { lengthOverride: 5000n }), /header length 5000 runs beyond the end of the file/);
  expectBad("huge-header", header(ok, 8, { lengthOverride: 1n << 40n }), /over the 100000000-byte limit/);
  expectBad("bad-json", header(null, 8, { rawHeader: "{not json" }), /header is not valid JSON/);
  expectBad("not-object", header([1, 2], 0), /header is not a JSON object/);
  expectBad("unknown-dtype", header({ a: { dtype: "F8_E4M3", shape: [2], data_offsets: [0, 2] } }, 2), /tensor 'a' has unknown dtype "F8_E4M3"/);
  expectBad("bad-shape", header({ a: { dtype: "F32", shape: [-1], data_offsets: [0, 4] } }, 4), /invalid shape/);
  expectBad("size-mismatch", header({ a: { dtype: "F32", shape: [3], data_offsets: [0, 8] } }, 8), /needs 12 bytes/);
  expectBad(
    "out-of-range",
    header({ a: { dtype: "F32", shape: [4], data_offsets: [0, 16] } }, 8),
    /ends at byte 16 but the data section holds 8 bytes \(truncated file\?\)/,
  );
  expectBad(
    "overlap",
    header({ a: { dtype: "F32", shape: [2], data_offsets: [0, 8] }, b: { dtype: "F32", shape: [2], data_offsets: [4, 12] } }, 12),
    /overlaps the previous tensor/,
  );
  expectBad("gap", header({ a: { dtype: "F32", shape: [1], data_offsets: [4, 8] } }, 8), /gap in the data section before tensor 'a'/);
  expectBad("trailing", header(ok, 12), /trailing bytes/);
  expectBad("bad-metadata", header({ __metadata__: { n: 1 }, ...ok }, 8), /__metadata__ must map strings to strings/);
  // A real file cut short: the header is intact, the data is not.
  const good = join(dir, "good.safetensors");
  torch.tidy(() => torch.saveFile({ w: torch.ones([64]) }, good));
  expectBad("truncated", readFileSync(good).subarray(0, readFileSync(good).length - 10), /truncated/);
});

test("a failed save leaves the previous file intact and no temporary file", () => {
  const p = join(dir, "keep.safetensors");
  torch.tidy(() => torch.saveFile({ w: torch.ones([2]) }, p));
  const before = readFileSync(p);
  const disposed = torch.ones([2]);
  disposed.dispose();
  assert.throws(() => torch.saveFile({ w: torch.ones([2]), x: disposed }, p), /disposed/);
  assert.deepEqual(readFileSync(p), before);
  assert.deepEqual(
    readdirSync(dir).filter((f) => f.includes(".tmp-")),
    [],
  );
});
