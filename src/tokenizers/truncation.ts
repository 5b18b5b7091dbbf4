// Truncation as the Rust tokenizers (and so transformers' fast tokenizers) do it, on sequences
// before special tokens are added; maxLength here already excludes the special tokens.

export type TruncationStrategy = "longest_first" | "only_first" | "only_second" | "do_not_truncate";

export interface Windows {
  /** The kept part of each sequence. */
  first: number[][];
  second: number[][] | null;
}

/** The windows of a sequence cut to `max` with `stride` tokens of overlap: the kept part, then the overflow. */
export function windowsOf(ids: number[], max: number, stride: number, side: "right" | "left"): number[][] {
  if (ids.length <= max) return [ids];
  if (max === 0) return [[], ids];
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
  return ranges.map(([s, e]) => ids.slice(s, e));
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
  if (strategy === "do_not_truncate" || total <= maxLength) return { first: [a], second: b ? [b] : null };
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
  return strategy === "only_first" ? { first: cut, second: [b] } : { first: [a], second: cut };
}
