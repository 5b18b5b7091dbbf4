"""Golden of TRL's pack_dataset (trl/data_utils.py, TRL 1.10.0.dev0), its pyarrow steps written with lists.
The lines followed (_pack_bfd):

    lengths = pc.list_value_length(columns[0]); non_empty_mask = pc.greater(lengths, 0)      # drop empty rows
    if on_seq_length_overflow == "truncate": columns = [pc.list_slice(column, 0, seq_length) ...]
    elif "split": num_fragments = ceil(lengths / seq_length) ... offsets -= diff                  # pieces of seq_length, the last shorter
    lengths = pc.make_struct(lengths, ids).sort("descending", by=0)                              # stable
    segment_tree = _SegmentTree(seq_length); segment_tree.add(seq_length); space_to_bin = defaultdict(deque)
    for length, idx in ...:
        space = segment_tree.search(length)
        if space < seq_length: bin = space_to_bin[space].popleft()
        else: bin = {"ids": [], "length": 0}; bins.append(bin)
        bin["ids"].append(idx); bin["length"] += length
        if space < seq_length and not space_to_bin[space]: segment_tree.remove(space)
        space = space - length; space_to_bin[space].append(bin)
        if space > 0: segment_tree.add(space)
  _pack_wrapped: all values run together, offsets every seq_length.
  pack_dataset: dataset.map(_pack_bfd, batched=True, ...) -- datasets' default batch_size 1000.

Run:  python3 scripts/golden/pack_bfd.py
"""
import json
import os
import random
from collections import defaultdict, deque

OUT = os.path.join(os.path.dirname(__file__), "..", "..", "test", "fixtures", "golden", "trl", "pack.json")


class SegmentTree:
    def __init__(self, maxval):
        self.maxval = maxval
        self.tree_size = 1 << (maxval - 1).bit_length()
        self.tree = [0] * (2 * self.tree_size)

    def add(self, val):
        i = self.tree_size + val - 1
        self.tree[i] = val
        while i > 1:
            i >>= 1
            left, right = self.tree[i << 1], self.tree[(i << 1) + 1]
            self.tree[i] = left if left >= right else right

    def remove(self, val):
        i = self.tree_size + val - 1
        self.tree[i] = 0
        while i > 1:
            i >>= 1
            left, right = self.tree[i << 1], self.tree[(i << 1) + 1]
            self.tree[i] = left if left >= right else right

    def search(self, val):
        i = 1
        while i < self.tree_size:
            i = i << 1 if self.tree[i << 1] >= val else (i << 1) + 1
        return self.tree[i]


def pack_bfd(columns, seq_length, overflow):
    names = list(columns)
    keep = [i for i, r in enumerate(columns[names[0]]) if len(r) > 0]
    cols = {c: [columns[c][i] for i in keep] for c in names}
    if overflow == "truncate":
        cols = {c: [r[:seq_length] for r in v] for c, v in cols.items()}
    else:
        cols = {c: [r[s:s + seq_length] for r in v for s in range(0, len(r), seq_length)] for c, v in cols.items()}
    lengths = [len(r) for r in cols[names[0]]]
    order = sorted(range(len(lengths)), key=lambda i: -lengths[i])  # Python's sort is stable, as Arrow's
    tree = SegmentTree(seq_length)
    tree.add(seq_length)
    space_to_bin = defaultdict(deque)
    bins = []
    for idx in order:
        length = lengths[idx]
        space = tree.search(length)
        if space < seq_length:
            b = space_to_bin[space].popleft()
        else:
            b = {"ids": [], "length": 0}
            bins.append(b)
        b["ids"].append(idx)
        b["length"] += length
        if space < seq_length and not space_to_bin[space]:
            tree.remove(space)
        space = space - length
        space_to_bin[space].append(b)
        if space > 0:
            tree.add(space)
    out = {c: [[t for i in b["ids"] for t in cols[c][i]] for b in bins] for c in names}
    out["seq_lengths"] = [[lengths[i] for i in b["ids"]] for b in bins]
    return out


def pack_wrapped(columns, seq_length):
    out = {}
    for c, rows in columns.items():
        flat = [t for r in rows for t in r]
        out[c] = [flat[s:s + seq_length] for s in range(0, len(flat), seq_length)]
    return out


def batched(fn, columns, batch_size=1000):
    n = len(next(iter(columns.values())))
    out = defaultdict(list)
    for s in range(0, n, batch_size):
        part = fn({c: v[s:s + batch_size] for c, v in columns.items()})
        for c, v in part.items():
            out[c].extend(v)
    return dict(out)


def main():
    rng = random.Random(3)
    ids = [[rng.randrange(1000) for _ in range(rng.choice([0, 1, 2, 3, rng.randrange(1, 100)]))] for _ in range(2100)]
    columns = {"input_ids": ids, "completion_mask": [[t % 2 for t in r] for r in ids]}
    seq = 64
    result = {
        "columns": columns,
        "seq_length": seq,
        "bfd": batched(lambda b: pack_bfd(b, seq, "truncate"), columns),
        "bfd_split": batched(lambda b: pack_bfd(b, seq, "split"), columns),
        "wrapped": batched(lambda b: pack_wrapped(b, seq), columns),
    }
    os.makedirs(os.path.dirname(OUT), exist_ok=True)
    with open(OUT, "w") as f:
        json.dump(result, f, separators=(",", ":"))
        f.write("\n")
    print({k: len(v["input_ids"]) for k, v in result.items() if isinstance(v, dict) and "input_ids" in v and k != "columns"})


if __name__ == "__main__":
    main()
