"""Golden batches of transformers' DataCollatorForLanguageModeling, with Debian's python3-torch.

The examples are WikiText-2 validation lines tokenized by the independent reference tokenizer
(bert_reference_tokenizer.py, bert-base-uncased's vocab) with [CLS]/[SEP] and character offsets; the
collator below follows transformers' data/data_collator.py (v4.57 / v5: whole_word_mask inside
DataCollatorForLanguageModeling, mask_replace_prob/random_replace_prob, seed) line by line:

  torch_call:  if self.seed and self.generator is None: self.create_rng()   # torch.Generator().manual_seed(seed)
               batch = pad(...); special_tokens_mask = batch.pop("special_tokens_mask", None)
               offset_mapping = batch.pop("offset_mapping", None)
               mlm: batch["input_ids"], batch["labels"] = self.torch_mask_tokens(...)
               else: labels = batch["input_ids"].clone(); labels[labels == pad_token_id] = -100
  torch_mask_tokens:
               probability_matrix = torch.full(labels.shape, self.mlm_probability)
               special_tokens_mask = [get_special_tokens_mask(val, already_has_special_tokens=True) ...]
               (whole_word_mask: word_ids, no_mask_mask = self._calc_word_ids_and_prob_mask(offsets, special))
               probability_matrix.masked_fill_(no_mask_mask, value=0.0)
               masked_indices = torch.bernoulli(probability_matrix, generator=self.generator).bool()
               (whole_word_mask: masked_indices = torch.BoolTensor(self._whole_word_mask(word_ids, masked_indices)))
               labels[~masked_indices] = -100
               indices_replaced = torch.bernoulli(torch.full(labels.shape, self.mask_replace_prob), generator=...).bool() & masked_indices
               inputs[indices_replaced] = mask_token_id
               if self.mask_replace_prob == 1 or self.random_replace_prob == 0: return inputs, labels
               random_replace_prob_scaled = self.random_replace_prob / (1 - self.mask_replace_prob)
               indices_random = torch.bernoulli(torch.full(labels.shape, random_replace_prob_scaled), generator=...).bool()
                                & masked_indices & ~indices_replaced
               random_words = torch.randint(len(self.tokenizer), labels.shape, dtype=torch.long, generator=...)
               inputs[indices_random] = random_words[indices_random]
  _calc_word_ids_and_prob_mask: is_new_word = ~special & ((starts != prev_ends) | prev_special);
               word_ids = cumsum(is_new_word); word_ids[special] = -1; prob_mask = ~is_new_word
  _whole_word_mask: any token of the same (valid) word masked → masked

Run:  /usr/bin/python3 scripts/golden/lm_collator.py   (needs ../shared/data)
"""
import json
import os
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(__file__))
from bert_reference_tokenizer import Reference  # noqa: E402

HERE = os.path.dirname(__file__)
SHARED = os.path.join(HERE, "..", "..", "..", "shared", "data")
OUT = os.path.join(HERE, "..", "..", "test", "fixtures", "golden", "collators", "language_modeling.json")

ref = Reference(os.path.join(SHARED, "models", "bert-base-uncased", "vocab.txt"), True)
PAD, CLS, SEP, MASK, UNK = (ref.vocab[t] for t in ("[PAD]", "[CLS]", "[SEP]", "[MASK]", "[UNK]"))
SPECIAL = {PAD, CLS, SEP, MASK, UNK}
VOCAB_LEN = len(ref.vocab)


def encode(text):
    ids, offs, _ = ref.encode_with_offsets(text)
    return [CLS] + ids + [SEP], [[0, 0]] + [list(o) for o in offs] + [[0, 0]]


def pad(examples, multiple=None):
    longest = max(len(e["input_ids"]) for e in examples)
    if multiple and longest % multiple:
        longest = (longest // multiple + 1) * multiple
    batch = {"input_ids": [], "attention_mask": []}
    for e in examples:
        n = longest - len(e["input_ids"])
        batch["input_ids"].append(e["input_ids"] + [PAD] * n)
        batch["attention_mask"].append([1] * len(e["input_ids"]) + [0] * n)
        for k in ("special_tokens_mask", "labels"):
            if k in e:
                batch.setdefault(k, []).append(e[k] + ([1] * n if k == "special_tokens_mask" else []))
        if "offset_mapping" in e:  # tokenizer.pad leaves it as it is
            batch.setdefault("offset_mapping", []).append(e["offset_mapping"])
    return {k: torch.tensor(v) for k, v in batch.items()}


def calc_word_ids_and_prob_mask(offsets, special):
    starts, ends = offsets[:, :, 0], offsets[:, :, 1]
    prev_ends = np.roll(ends, 1, axis=1)
    prev_ends[:, 0] = -1
    prev_special = np.roll(special, 1, axis=1)
    prev_special[:, 0] = 0
    special = special.astype(bool)
    is_new = (~special) & ((starts != prev_ends) | (prev_special == 1))
    word_ids = np.cumsum(is_new, axis=1)
    word_ids[special] = -1
    return word_ids, ~is_new


def whole_word(word_ids, mask):
    mask = mask.numpy()
    valid = word_ids != -1
    same = (word_ids[:, :, None] == word_ids[:, None, :]) & valid[:, :, None] & valid[:, None, :]
    return np.any(same & mask[:, None, :], axis=2)


class Collator:
    def __init__(self, mlm=True, whole_word_mask=False, mlm_probability=0.15, mask_replace_prob=0.8, random_replace_prob=0.1,
                 pad_to_multiple_of=None, seed=None):
        self.mlm, self.wwm, self.p = mlm, whole_word_mask, mlm_probability
        self.mask_replace_prob, self.random_replace_prob = float(mask_replace_prob), float(random_replace_prob)
        if whole_word_mask and mask_replace_prob < 1:
            self.mask_replace_prob, self.random_replace_prob = 1.0, 0.0  # HF: float(...)
        self.multiple, self.seed, self.generator = pad_to_multiple_of, seed, None

    def __call__(self, examples):
        if self.seed and self.generator is None:
            self.generator = torch.Generator().manual_seed(self.seed)
        batch = pad(examples, self.multiple)
        special = batch.pop("special_tokens_mask", None)
        offsets = batch.pop("offset_mapping", None)
        if self.mlm:
            batch["input_ids"], batch["labels"] = self.mask(batch["input_ids"], special, offsets)
        else:
            labels = batch["input_ids"].clone()
            labels[labels == PAD] = -100
            batch["labels"] = labels
        return batch

    def mask(self, inputs, special, offsets):
        labels = inputs.clone()
        probability_matrix = torch.full(labels.shape, self.p)
        if special is None:
            special = [[1 if t in SPECIAL else 0 for t in row] for row in labels.tolist()]
        if self.wwm:
            word_ids, no_mask = calc_word_ids_and_prob_mask(np.array(offsets), np.array(special))
            no_mask = torch.tensor(no_mask, dtype=torch.bool)
        else:
            no_mask = special.bool() if isinstance(special, torch.Tensor) else torch.tensor(special, dtype=torch.bool)
        probability_matrix.masked_fill_(no_mask, value=0.0)
        masked = torch.bernoulli(probability_matrix, generator=self.generator).bool()
        if self.wwm:
            masked = torch.BoolTensor(whole_word(word_ids, masked))
        labels[~masked] = -100
        replaced = torch.bernoulli(torch.full(labels.shape, self.mask_replace_prob), generator=self.generator).bool() & masked
        inputs[replaced] = MASK
        if self.mask_replace_prob == 1 or self.random_replace_prob == 0:
            return inputs, labels
        scaled = self.random_replace_prob / (1 - self.mask_replace_prob)
        random = torch.bernoulli(torch.full(labels.shape, scaled), generator=self.generator).bool() & masked & ~replaced
        words = torch.randint(VOCAB_LEN, labels.shape, dtype=torch.long, generator=self.generator)
        inputs[random] = words[random]
        return inputs, labels


def main():
    with open(os.path.join(SHARED, "wikitext-2", "valid.txt"), encoding="utf-8") as f:
        lines = [l.strip() for l in f if l.strip() and not l.strip().startswith("=")][:40]
    rows = [encode(l) for l in lines]
    ragged = [{"input_ids": ids[:48]} for ids, _ in rows[:16]]
    # The course's group_texts: concatenated, cut in chunks of 32 (the remainder dropped), labels = ids.
    ids_all = sum((ids for ids, _ in rows), [])
    offs_all = sum((offs for _, offs in rows), [])
    chunks = [{"input_ids": ids_all[i:i + 32], "offset_mapping": offs_all[i:i + 32], "labels": ids_all[i:i + 32]}
              for i in range(0, len(ids_all) // 32 * 32, 32)][:16]
    with_special = [dict(e, special_tokens_mask=[1 if t in SPECIAL else 0 for t in e["input_ids"]]) for e in ragged[:8]]
    cases = []

    def run(name, options, batches, global_seed=None):
        c = Collator(**{k: v for k, v in options.items()})
        if global_seed is not None:
            torch.manual_seed(global_seed)
        out = []
        for b in batches:
            r = c([dict(e) for e in b])
            out.append({k: v.tolist() for k, v in r.items()})
        cases.append({"name": name, "options": options, "global_seed": global_seed, "batches": batches, "expected": out})

    run("mlm, global generator, dynamic padding, two batches", {}, [ragged[:8], ragged[8:16]], global_seed=42)
    run("mlm, seed 7 (own generator), pad to a multiple of 8", {"seed": 7, "pad_to_multiple_of": 8}, [ragged[:8], ragged[8:16]])
    run("mlm, probability 0.5, replace 0.5 / random 0.4", {"seed": 3, "mlm_probability": 0.5, "mask_replace_prob": 0.5, "random_replace_prob": 0.4}, [ragged[:8]])
    run("mlm, special_tokens_mask given by the examples", {"seed": 11}, [with_special])
    run("whole word mask on group_texts chunks (offsets), probability 0.3", {"seed": 5, "whole_word_mask": True, "mlm_probability": 0.3}, [chunks[:8], chunks[8:16]])
    run("causal LM (mlm false): labels = inputs, padding -100", {"mlm": False}, [ragged[:8]])
    with open(OUT, "w") as f:
        json.dump({"vocab_len": VOCAB_LEN, "cases": cases}, f, separators=(",", ":"))
        f.write("\n")


if __name__ == "__main__":
    main()
