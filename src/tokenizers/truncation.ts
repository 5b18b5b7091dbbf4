// Truncation as the Rust tokenizers (and so transformers' fast tokenizers) do it, on sequences
// before special tokens are added; maxLength here already excludes the special tokens.

export type TruncationStrategy = "longest_first" | "only_first" | "only_second" | "do_not_truncate";

/** One window of a sequence: its ids and where they start in the whole sequence (to slice its offsets). */
export interface Window {
  ids: number[];
  start: number;
}

export interface Windows {
  /** Each sequence's windows: the kept part first, then the overflow (Rust's Encoding::truncate order). */
  first: Window[];
  second: Window[] | null;
}

const whole = (ids: number[]): Window[] => [{ ids, start: 0 }];

/** The windows of a sequence cut to `max` with `stride` tokens of overlap: the kept part, then the overflow. */
export function windowsOf(ids: number[], max: number, stride: number, side: "right" | "left"): Window[] {
  if (ids.length <= max) return whole(ids);
  if (max === 0)
    return [
      { ids: [], start: 0 },
      { ids, start: 0 },
    ];
  if (stride >= max) throw new RangeError(`stride (${stride}) must be smaller than the truncated length (${max})`);
  const step = max - stride;
  const ranges: [number, number][] = [];
  if (side === "right") {
    for (let start = 0; ; start += step) {
      const stop = Math.min(start + max, ids.length);
      ranges.push([start, stop]);
      if (stop === ids.length) break;
    }
  } else {
    for (let stop = ids.length; ; stop -= step) {
      const start = Math.max(stop - max, 0);
      ranges.push([start, stop]);
      if (start === 0) break;
    }
  }
  return ranges.map(([s, e]) => ({ ids: ids.slice(s, e), start: s }));
}

/**
 * Cuts one or two sequences so that together they hold at most maxLength ids. Longest-first is
 * the Rust algorithm (not the slow tokenizers' one-at-a-time removal): the shorter sequence keeps
 * its length when the longer one can absorb the cut, otherwise both get half.
 */
export function truncatePair(
  a: number[],
  b: number[] | null,
  maxLength: number,
  strategy: TruncationStrategy,
  stride: number,
  side: "right" | "left",
): Windows {
  const total = a.length + (b?.length ?? 0);
  if (strategy === "do_not_truncate" || total <= maxLength) return { first: whole(a), second: b ? whole(b) : null };
  const removed = total - maxLength;
  if (!b) {
    if (strategy === "only_second") throw new Error("truncation 'only_second' needs a second sequence (textPair)");
    return { first: windowsOf(a, maxLength, stride, side), second: null };
  }
  if (strategy === "longest_first") {
    let n1 = a.length;
    let n2 = b.length;
    const swap = n1 > n2;
    if (swap) [n1, n2] = [n2, n1];
    n2 = n1 > maxLength ? n1 : Math.max(n1, maxLength - n1);
    if (n1 + n2 > maxLength) {
      n1 = Math.floor(maxLength / 2);
      n2 = n1 + (maxLength % 2);
    }
    if (swap) [n1, n2] = [n2, n1];
    return { first: windowsOf(a, n1, stride, side), second: windowsOf(b, n2, stride, side) };
  }
  const target = strategy === "only_first" ? a : b;
  if (target.length <= removed) {
    throw new Error(
      `truncation '${strategy}': the ${strategy === "only_first" ? "first" : "second"} sequence has ${target.length} tokens, ` +
        `too few to remove the ${removed} needed to fit maxLength; use 'longest_first' or a larger maxLength`,
    );
  }
  const cut = windowsOf(target, target.length - removed, stride, side);
  return strategy === "only_first" ? { first: cut, second: whole(b) } : { first: whole(a), second: cut };
}

/**
 * The (first, second) window pairs that become rows, in the order the Rust tokenizer's
 * Encoding::merge_with lists a pair's overflow and transformers flattens it ([encoding] +
 * encoding.overflowing): the kept pair; then each overflowing first window with the kept second
 * window and with each overflowing second window; then the kept first window with each overflowing
 * second window.
 */
export function windowPairs(w: Windows): [Window, Window | null][] {
  const [a0, ...aRest] = w.first;
  if (!w.second) return w.first.map((a) => [a, null]);
  const [b0, ...bRest] = w.second;
  const out: [Window, Window | null][] = [[a0, b0]];
  for (const a of aRest) {
    out.push([a, b0]);
    for (const b of bRest) out.push([a, b]);
  }
  for (const b of bRest) out.push([a0, b]);
  return out;
}
