// Fingerprints name a dataset's state: a hash of where it came from and every transform since, so
// that an identical map can be served from its cache file and a changed one cannot.
import { createHash } from "node:crypto";

export const FORMAT_VERSION = "finetune-ts-datasets-1";

export function hashOf(...parts: unknown[]): string {
  const h = createHash("sha256");
  h.update(FORMAT_VERSION);
  for (const p of parts) h.update("\u0000" + (typeof p === "string" ? p : (JSON.stringify(p) ?? String(p))));
  return h.digest("hex").slice(0, 16);
}

/** A seeded PRNG (mulberry32) for shuffles: reproducible across runs, not numpy's sequence. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function permutation(n: number, seed: number): Int32Array {
  const rnd = seededRandom(seed);
  const p = Int32Array.from({ length: n }, (_, i) => i);
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(rnd() * (i + 1));
    const t = p[i];
    p[i] = p[j];
    p[j] = t;
  }
  return p;
}
