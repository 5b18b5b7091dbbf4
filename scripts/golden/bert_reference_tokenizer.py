"""An independent reference for BERT tokenization, used by the tokenizer tests as the source of truth.

Written from the BERT paper's tokenizer (BasicTokenizer + WordPiece, as in Google's tokenization.py)
and the Rust `tokenizers` crate's truncation and template rules. It shares no code with the
TypeScript under test (which runs @huggingface/tokenizers). Standard library only.

Usage: python3 bert_reference_tokenizer.py VOCAB_TXT [--lowercase] < requests.jsonl > encodings.jsonl
Each request: {"text": str, "pair": str|null, "truncation": "longest_first"|"only_first"|"only_second"|null,
"max_length": int|null}. Each answer: {"input_ids", "token_type_ids", "attention_mask"} or {"error": str}.
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
        out = []
        for c in text:
            cp = ord(c)
            if cp == 0 or cp == 0xFFFD or is_control(c):
                continue
            c = " " if is_whitespace(c) else c
            out.append(f" {c} " if is_chinese(cp) else c)
        text = "".join(out)
        if self.lowercase:  # BERT's uncased models lowercase and strip accents together
            text = "".join(ch for ch in unicodedata.normalize("NFD", text) if unicodedata.category(ch) != "Mn").lower()
        words = []
        for chunk in text.split():
            word = ""
            for c in chunk:
                if is_punctuation(c):
                    if word:
                        words.append(word)
                    words.append(c)
                    word = ""
                else:
                    word += c
            if word:
                words.append(word)
        return words

    def wordpiece(self, word):
        if len(word) > 100:
            return [self.vocab["[UNK]"]]
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
                return [self.vocab["[UNK]"]]
            pieces.append(found)
            start = end
        return pieces

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
                    n1, n2, swap = len(a), len(b), len(a) > len(b)
                    if swap:
                        n1, n2 = n2, n1
                    n2 = n1 if n1 > budget else max(n1, budget - n1)
                    if n1 + n2 > budget:
                        n1 = budget // 2
                        n2 = n1 + budget % 2
                    if swap:
                        n1, n2 = n2, n1
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


def main():
    ref = Reference(sys.argv[1], "--lowercase" in sys.argv[2:])
    for line in sys.stdin:
        req = json.loads(line)
        try:
            out = ref.encode(req["text"], req.get("pair"), req.get("truncation"), req.get("max_length"))
        except ValueError as e:
            out = {"error": str(e)}
        sys.stdout.write(json.dumps(out) + "\n")


if __name__ == "__main__":
    main()
