"""An independent reference for BERT tokenization, used by the tokenizer tests as the source of truth.

Written from the BERT paper's tokenizer (BasicTokenizer + WordPiece, as in Google's tokenization.py)
and the Rust `tokenizers` crate's truncation and template rules. It shares no code with the
TypeScript under test (which runs @huggingface/tokenizers). Standard library only.

Usage: python3 bert_reference_tokenizer.py VOCAB_TXT [--lowercase] < requests.jsonl > encodings.jsonl
Each request: {"text": str, "pair": str|null, "truncation": "longest_first"|"only_first"|"only_second"|null,
"max_length": int|null}. Each answer: {"input_ids", "token_type_ids", "attention_mask"} or {"error": str}.
A request with "overflow": true (and optional "stride", "side": "right"|"left", and "split_into_words": true
with lists of words for "text" and "pair") answers {"rows": [...]}:
every window as the Rust crate makes them (Encoding::truncate, then Encoding::merge_with's order for the
overflow of a pair), each row with "offset_mapping" (character offsets in the original text, counted as
Python's str indices; within each word for split words), "sequence_ids" and "word_ids".
"""
import json
import sys
import unicodedata

SPECIALS = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]


def is_whitespace(c):
    return c in " \t\n\r" or unicodedata.category(c) == "Zs"


def is_control(c):
    return c not in "\t\n\r" and unicodedata.category(c).startswith("C")


def is_punctuation(c):
    cp = ord(c)
    if 33 <= cp <= 47 or 58 <= cp <= 64 or 91 <= cp <= 96 or 123 <= cp <= 126:
        return True
    return unicodedata.category(c).startswith("P")


def is_chinese(cp):
    return any(lo <= cp <= hi for lo, hi in [(0x4E00, 0x9FFF), (0x3400, 0x4DBF), (0x20000, 0x2A6DF), (0x2A700, 0x2B73F),
                                             (0x2B740, 0x2B81F), (0x2B820, 0x2CEAF), (0xF900, 0xFAFF), (0x2F800, 0x2FA1F)])


def longest_first(n1, n2, budget):
    """The Rust crate's LongestFirst lengths of a pair: the shorter keeps its length when the longer can absorb the cut, else both get half."""
    swap = n1 > n2
    if swap:
        n1, n2 = n2, n1
    n2 = n1 if n1 > budget else max(n1, budget - n1)
    if n1 + n2 > budget:
        n1 = budget // 2
        n2 = n1 + budget % 2
    return (n2, n1) if swap else (n1, n2)


class Reference:
    def __init__(self, vocab_path, lowercase):
        with open(vocab_path, encoding="utf-8") as f:
            tokens = f.read().split("\n")
        if tokens and tokens[-1] == "":
            tokens.pop()
        self.vocab = {}
        for i, t in enumerate(tokens):
            self.vocab.setdefault(t, i)
        self.lowercase = lowercase

    def basic(self, text):
        return [w for w, _ in self.basic_aligned(text, 0)]

    def basic_aligned(self, text, base):
        """The words of text, each with the original index (base + position in text) of each of its characters."""
        chars = []  # (normalized character, original index)
        for k, c in enumerate(text):
            cp = ord(c)
            if cp == 0 or cp == 0xFFFD or is_control(c):
                continue
            c = " " if is_whitespace(c) else c
            pieces = [" ", c, " "] if is_chinese(cp) else [c]
            for p in pieces:
                if self.lowercase:  # BERT's uncased models lowercase and strip accents together
                    p = "".join(ch for ch in unicodedata.normalize("NFD", p) if unicodedata.category(ch) != "Mn").lower()
                chars += [(ch, base + k) for ch in p]
        words = []
        word = []
        for ch, at in chars + [(" ", -1)]:
            if ch.isspace() or is_punctuation(ch):
                if word:
                    words.append(word)
                word = []
                if not ch.isspace():
                    words.append([(ch, at)])
            else:
                word.append((ch, at))
        return [("".join(c for c, _ in w), [a for _, a in w]) for w in words]

    def wordpiece(self, word):
        return [i for i, _ in self.wordpiece_spans(word)]

    def wordpiece_spans(self, word):
        """Each piece's id with its [start, end) in the word's characters; one [UNK] over the whole word when it fails."""
        if len(word) > 100:
            return [(self.vocab["[UNK]"], (0, len(word)))]
        pieces, start = [], 0
        while start < len(word):
            end, found = len(word), None
            while start < end:
                sub = ("##" if start > 0 else "") + word[start:end]
                if sub in self.vocab:
                    found = self.vocab[sub]
                    break
                end -= 1
            if found is None:
                return [(self.vocab["[UNK]"], (0, len(word)))]
            pieces.append((found, (start, end)))
            start = end
        return pieces

    def encode_with_offsets(self, text):
        """(ids, offsets, word ids) of text without special tokens around it; offsets in the original text,
        a word being what the pre-tokenizer splits (whitespace and punctuation) or a special token."""
        ids, offsets, word_ids, rest, base = [], [], [], text, 0

        def words(part, at):
            for w, origin in self.basic_aligned(part, at):
                n = len(set(word_ids))
                for i, (s, e) in self.wordpiece_spans(w):
                    ids.append(i)
                    offsets.append((origin[s], origin[e - 1] + 1))
                    word_ids.append(n)

        while rest:
            hits = [(rest.find(s), s) for s in SPECIALS if rest.find(s) >= 0]
            if not hits:
                break
            pos, s = min(hits)
            words(rest[:pos], base)
            ids.append(self.vocab[s])
            offsets.append((base + pos, base + pos + len(s)))
            word_ids.append(len(set(word_ids)))
            rest = rest[pos + len(s):]
            base += pos + len(s)
        words(rest, base)
        return ids, offsets, word_ids

    def encode_words(self, words):
        """A pre-split example (is_split_into_words): each word on its own, offsets within the word, its index as word id."""
        ids, offsets, word_ids = [], [], []
        for k, w in enumerate(words):
            i, o, _ = self.encode_with_offsets(w)
            ids += i
            offsets += o
            word_ids += [k] * len(i)
        return ids, offsets, word_ids

    def encode_plain(self, text):
        # Special tokens written in the text are kept whole, before any normalization.
        ids, rest = [], text
        while rest:
            hits = [(rest.find(s), s) for s in SPECIALS if rest.find(s) >= 0]
            if not hits:
                break
            pos, s = min(hits)
            ids += [i for w in self.basic(rest[:pos]) for i in self.wordpiece(w)]
            ids.append(self.vocab[s])
            rest = rest[pos + len(s):]
        return ids + [i for w in self.basic(rest) for i in self.wordpiece(w)]

    def encode(self, text, pair, truncation, max_length):
        a = self.encode_plain(text)
        b = self.encode_plain(pair) if pair is not None else None
        if truncation and max_length is not None:
            budget = max_length - (3 if b is not None else 2)
            total = len(a) + (len(b) if b is not None else 0)
            if total > budget:
                if b is None:
                    a = a[:budget]
                elif truncation == "longest_first":
                    n1, n2 = longest_first(len(a), len(b), budget)
                    a, b = a[:n1], b[:n2]
                else:
                    target = a if truncation == "only_first" else b
                    removed = total - budget
                    if len(target) <= removed:
                        raise ValueError("sequence too short to truncate")
                    if truncation == "only_first":
                        a = a[: len(a) - removed]
                    else:
                        b = b[: len(b) - removed]
        cls, sep = self.vocab["[CLS]"], self.vocab["[SEP]"]
        ids = [cls] + a + [sep]
        types = [0] * len(ids)
        if b is not None:
            ids += b + [sep]
            types += [1] * (len(b) + 1)
        return {"input_ids": ids, "token_type_ids": types, "attention_mask": [1] * len(ids)}


def windows(n, max_len, stride, side):
    """The [start, stop) ranges of Rust's Encoding::truncate: the kept window first, then the overflow."""
    if max_len >= n:
        return [(0, n)]
    if max_len == 0:
        return [(0, 0), (0, n)]
    if stride >= max_len:
        raise ValueError("stride must be smaller than max_len")
    step, out = max_len - stride, []
    if side == "right":
        for start in range(0, n, step):
            stop = min(start + max_len, n)
            out.append((start, stop))
            if stop == n:
                break
    else:
        for stop in range(n, 0, -step):
            start = max(stop - max_len, 0)
            out.append((start, stop))
            if start == 0:
                break
    return out


def overflow_rows(ref, req):
    enc = ref.encode_words if req.get("split_into_words") else ref.encode_with_offsets
    a, ao, aw = enc(req["text"])
    pair = req.get("pair")
    b, bo, bw = enc(pair) if pair is not None else (None, None, None)
    stride, side, strategy = req.get("stride", 0), req.get("side", "right"), req.get("truncation")
    budget = req["max_length"] - (3 if b is not None else 2)
    total = len(a) + (len(b) if b is not None else 0)
    wa, wb = [(0, len(a))], [(0, len(b))] if b is not None else None
    if total > budget:
        if b is None:
            wa = windows(len(a), budget, stride, side)
        elif strategy == "longest_first":
            n1, n2 = longest_first(len(a), len(b), budget)
            wa, wb = windows(len(a), n1, stride, side), windows(len(b), n2, stride, side)
        else:
            removed = total - budget
            if strategy == "only_first":
                wa = windows(len(a), len(a) - removed, stride, side)
            else:
                wb = windows(len(b), len(b) - removed, stride, side)
    # Encoding::merge_with: the kept pair, then each overflowing first window with the kept second and
    # with each overflowing second, then the kept first with each overflowing second.
    if wb is None:
        combos = [(x, None) for x in wa]
    else:
        combos = [(wa[0], wb[0])]
        for x in wa[1:]:
            combos += [(x, wb[0])] + [(x, y) for y in wb[1:]]
        combos += [(wa[0], y) for y in wb[1:]]
    cls, sep = ref.vocab["[CLS]"], ref.vocab["[SEP]"]
    rows = []
    for (s1, e1), second in combos:
        ids, offs, seq, types = [cls] + a[s1:e1] + [sep], [(0, 0)] + ao[s1:e1] + [(0, 0)], [None] + [0] * (e1 - s1) + [None], [0] * (e1 - s1 + 2)
        wids = [None] + aw[s1:e1] + [None]
        if second is not None:
            s2, e2 = second
            ids += b[s2:e2] + [sep]
            offs += bo[s2:e2] + [(0, 0)]
            seq += [1] * (e2 - s2) + [None]
            types += [1] * (e2 - s2 + 1)
            wids += bw[s2:e2] + [None]
        rows.append({"input_ids": ids, "token_type_ids": types, "offset_mapping": [list(o) for o in offs], "sequence_ids": seq, "word_ids": wids})
    return {"rows": rows}


def main():
    ref = Reference(sys.argv[1], "--lowercase" in sys.argv[2:])
    for line in sys.stdin:
        req = json.loads(line)
        try:
            if req.get("overflow"):
                out = overflow_rows(ref, req)
            else:
                out = ref.encode(req["text"], req.get("pair"), req.get("truncation"), req.get("max_length"))
        except ValueError as e:
            out = {"error": str(e)}
        sys.stdout.write(json.dumps(out) + "\n")


if __name__ == "__main__":
    main()
