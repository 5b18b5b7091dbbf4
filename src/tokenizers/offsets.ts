// Character offsets of WordPiece tokens in the original text. @huggingface/tokenizers returns no
// offsets, so this replays BERT's normalizer with an alignment (each normalized character knows the
// original character it came from) and walks the tokens along the words. Offsets count Unicode
// code points, as Python's str indices (and so Hugging Face's offset_mapping) do.

export interface BertNormalization {
  cleanText: boolean;
  handleChineseChars: boolean;
  stripAccents: boolean;
  lowercase: boolean;
}

const isWhitespace = (c: string) => c === " " || c === "\t" || c === "\n" || c === "\r" || /\p{Zs}/u.test(c);
const isControl = (c: string) => c !== "\t" && c !== "\n" && c !== "\r" && /\p{C}/u.test(c);
export const isPunctuation = (c: string) => {
  const cp = c.codePointAt(0)!;
  return (cp >= 33 && cp <= 47) || (cp >= 58 && cp <= 64) || (cp >= 91 && cp <= 96) || (cp >= 123 && cp <= 126) || /\p{P}/u.test(c);
};
export const isChinese = (cp: number): boolean =>
  (cp >= 0x4e00 && cp <= 0x9fff) ||
  (cp >= 0x3400 && cp <= 0x4dbf) ||
  (cp >= 0x20000 && cp <= 0x2a6df) ||
  (cp >= 0x2a700 && cp <= 0x2b73f) ||
  (cp >= 0x2b740 && cp <= 0x2b81f) ||
  (cp >= 0x2b820 && cp <= 0x2ceaf) ||
  (cp >= 0xf900 && cp <= 0xfaff) ||
  (cp >= 0x2f800 && cp <= 0x2fa1f);

interface Aligned {
  ch: string;
  orig: number;
}

function normalize(chars: string[], base: number, n: BertNormalization): Aligned[] {
  const out: Aligned[] = [];
  chars.forEach((c, k) => {
    const orig = base + k;
    const cp = c.codePointAt(0)!;
    if (n.cleanText) {
      if (cp === 0 || cp === 0xfffd || isControl(c)) return;
      if (isWhitespace(c)) c = " ";
    }
    const pieces = n.handleChineseChars && isChinese(cp) ? [" ", c, " "] : [c];
    for (let p of pieces) {
      if (n.stripAccents) p = [...p.normalize("NFD")].filter((x) => !/\p{Mn}/u.test(x)).join("");
      if (n.lowercase) p = p.toLowerCase();
      for (const x of p) out.push({ ch: x, orig });
    }
  });
  return out;
}

function words(norm: Aligned[]): Aligned[][] {
  const out: Aligned[][] = [];
  let cur: Aligned[] = [];
  const flush = () => {
    if (cur.length) out.push(cur);
    cur = [];
  };
  for (const a of norm) {
    if (isWhitespace(a.ch)) flush();
    else if (isPunctuation(a.ch)) {
      flush();
      out.push([a]);
    } else cur.push(a);
  }
  flush();
  return out;
}

/**
 * [start, end) code-point offsets of `tokens` (WordPiece output without special tokens added by
 * the post-processor) in `text`. Special tokens written literally in the text get their own span.
 */
export function wordPieceOffsets(
  text: string,
  tokens: string[],
  n: BertNormalization,
  o: { prefix: string; unk: string; specials: string[] },
): [number, number][] {
  const chars = Array.from(text);
  // Split the raw text on literal special tokens, as the tokenizer does before normalizing; the
  // rest becomes words. Each token then starts a new unit or continues the current word.
  type Unit = { special: string; start: number } | { word: Aligned[] };
  const units: Unit[] = [];
  const specials = o.specials.filter((s) => s.length > 0).sort((x, y) => y.length - x.length);
  let start = 0;
  for (let i = 0; i <= chars.length;) {
    const hit = i < chars.length ? specials.find((s) => chars.slice(i, i + Array.from(s).length).join("") === s) : undefined;
    if (!hit && i < chars.length) {
      i++;
      continue;
    }
    if (i > start) for (const w of words(normalize(chars.slice(start, i), start, n))) units.push({ word: w });
    if (!hit) break;
    units.push({ special: hit, start: i });
    i += Array.from(hit).length;
    start = i;
  }
  const out: [number, number][] = [];
  let u = -1;
  let pos = 0;
  const fail = (t: string): never => {
    throw new Error(`offsets: token '${t}' does not line up with the text ${JSON.stringify(text)}`);
  };
  for (const t of tokens) {
    const cur = units[u];
    const cont = t.startsWith(o.prefix) && cur !== undefined && "word" in cur && pos < cur.word.length;
    if (!cont) {
      u++;
      pos = 0;
    }
    const unit = units[u];
    if (!unit) fail(t);
    if ("special" in unit) {
      if (t !== unit.special) fail(t);
      out.push([unit.start, unit.start + Array.from(t).length]);
      continue;
    }
    const piece = cont ? t.slice(o.prefix.length) : t;
    const len = t === o.unk && !cont ? unit.word.length - pos : Array.from(piece).length;
    if (
      t !== o.unk &&
      unit.word
        .slice(pos, pos + len)
        .map((a) => a.ch)
        .join("") !== piece
    )
      fail(t);
    out.push([unit.word[pos].orig, unit.word[pos + len - 1].orig + 1]);
    pos += len;
  }
  return out;
}
