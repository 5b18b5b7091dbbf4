"""Golden of the course's question-answering pre- and postprocessing (Hugging Face course, chapter 7,
"Question answering"), with Debian's python3-torch and numpy.

Windows: SQuAD v1.1 dev questions (stripped) with their contexts, bert-base-cased's vocab, through the
independent reference tokenizer (bert_reference_tokenizer.overflow_rows: max_length 384, stride 128,
truncation only_second) — the course's preprocess_validation_examples:
    inputs["offset_mapping"][i] = [o if sequence_ids[k] == 1 else None for k, o in enumerate(offset)]
    example_ids.append(examples["id"][sample_map[i]])
(padding="max_length" adds padding tokens whose offsets are None.)
Logits: torch.randn per window, with the gold answer's first and last context tokens raised for some
examples so that both right and wrong spans win. Postprocessing: the course's compute_metrics, line by line:
    start_indexes = np.argsort(start_logit)[-1 : -n_best - 1 : -1].tolist()  (and end_indexes)
    if offsets[start_index] is None or offsets[end_index] is None: continue
    if end_index < start_index or end_index - start_index + 1 > max_answer_length: continue
    answer = {"text": context[offsets[start_index][0] : offsets[end_index][1]], "logit_score": start_logit[start_index] + end_logit[end_index]}
    best_answer = max(answers, key=lambda x: x["logit_score"]); else prediction_text ""
Also the course's preprocess_training_examples' start/end positions for the same windows.

Run:  /usr/bin/python3 scripts/golden/qa_postprocessing.py   (needs ../shared/data)
"""
import json
import os
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(__file__))
from bert_reference_tokenizer import Reference, overflow_rows  # noqa: E402
from safetensors_io import save  # noqa: E402

HERE = os.path.dirname(__file__)
SHARED = os.path.join(HERE, "..", "..", "..", "shared", "data")
OUT = os.path.join(HERE, "..", "..", "test", "fixtures", "golden", "qa")
MAX_LENGTH, STRIDE, N_BEST, MAX_ANSWER = 384, 128, 20, 30


def main():
    os.makedirs(OUT, exist_ok=True)
    ref = Reference(os.path.join(SHARED, "models", "bert-base-cased", "vocab.txt"), False)
    with open(os.path.join(SHARED, "squad", "dev-v1.1.json"), encoding="utf-8") as f:
        data = json.load(f)["data"]
    rows = []
    for article in data:
        for paragraph in article["paragraphs"]:
            for qa in paragraph["qas"]:
                rows.append({"id": qa["id"], "question": qa["question"], "context": paragraph["context"],
                             "answers": {"text": [a["text"] for a in qa["answers"]], "answer_start": [a["answer_start"] for a in qa["answers"]]}})
    long_rows = [i for i, r in enumerate(rows) if len(r["context"]) > 2200]
    chosen = list(range(12)) + long_rows[:: max(1, len(long_rows) // 10)][:10]
    examples = [rows[i] for i in chosen]
    feature_ids, offsets, starts, ends = [], [], [], []
    for ex in examples:
        out = overflow_rows(ref, {"text": ex["question"].strip(), "pair": ex["context"], "truncation": "only_second", "max_length": MAX_LENGTH,
                                  "stride": STRIDE, "overflow": True})
        for row in out["rows"]:
            seq = row["sequence_ids"] + [None] * (MAX_LENGTH - len(row["sequence_ids"]))
            offs = row["offset_mapping"] + [[0, 0]] * (MAX_LENGTH - len(row["offset_mapping"]))
            feature_ids.append(ex["id"])
            offsets.append([o if seq[k] == 1 else None for k, o in enumerate(offs)])
            # preprocess_training_examples
            start_char = ex["answers"]["answer_start"][0]
            end_char = start_char + len(ex["answers"]["text"][0])
            idx = 0
            while seq[idx] != 1:
                idx += 1
            context_start = idx
            while seq[idx] == 1:
                idx += 1
            context_end = idx - 1
            if offs[context_start][0] > start_char or offs[context_end][1] < end_char:
                starts.append(0)
                ends.append(0)
            else:
                idx = context_start
                while idx <= context_end and offs[idx][0] <= start_char:
                    idx += 1
                starts.append(idx - 1)
                idx = context_end
                while idx >= context_start and offs[idx][1] >= end_char:
                    idx -= 1
                ends.append(idx + 1)
    torch.manual_seed(0)
    n = len(feature_ids)
    start_logits = torch.randn(n, MAX_LENGTH)
    end_logits = torch.randn(n, MAX_LENGTH)
    for i in range(n):
        if starts[i] and i % 3 != 2:
            start_logits[i, starts[i]] += 4.0
            end_logits[i, ends[i]] += 4.0
    start_np, end_np = start_logits.numpy(), end_logits.numpy()
    example_to_features = {}
    for idx, fid in enumerate(feature_ids):
        example_to_features.setdefault(fid, []).append(idx)
    predicted = []
    for ex in examples:
        answers = []
        for fi in example_to_features[ex["id"]]:
            start_logit, end_logit, offs = start_np[fi], end_np[fi], offsets[fi]
            start_indexes = np.argsort(start_logit)[-1: -N_BEST - 1: -1].tolist()
            end_indexes = np.argsort(end_logit)[-1: -N_BEST - 1: -1].tolist()
            for s in start_indexes:
                for e in end_indexes:
                    if offs[s] is None or offs[e] is None:
                        continue
                    if e < s or e - s + 1 > MAX_ANSWER:
                        continue
                    answers.append({"text": ex["context"][offs[s][0]: offs[e][1]], "logit_score": start_logit[s] + end_logit[e]})
        if answers:
            predicted.append({"id": ex["id"], "prediction_text": max(answers, key=lambda x: x["logit_score"])["text"]})
        else:
            predicted.append({"id": ex["id"], "prediction_text": ""})
    save({"start_logits": start_logits, "end_logits": end_logits}, os.path.join(OUT, "logits.safetensors"))
    with open(os.path.join(OUT, "expected.json"), "w", encoding="utf-8") as f:
        json.dump({"example_rows": chosen, "example_ids": [e["id"] for e in examples], "feature_example_ids": feature_ids,
                   "offset_mapping": offsets, "start_positions": starts, "end_positions": ends, "predictions": predicted},
                  f, ensure_ascii=False, separators=(",", ":"))
        f.write("\n")
    print(n, "windows;", sum(1 for p, e in zip(predicted, examples) if p["prediction_text"] in e["answers"]["text"]), "of", len(examples), "right")


if __name__ == "__main__":
    main()
