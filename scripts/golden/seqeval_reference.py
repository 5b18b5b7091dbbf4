"""Golden for evaluate's "seqeval" metric, computed by the seqeval library itself.

Run where seqeval is installed (pip install seqeval==1.2.2; it needs numpy and scikit-learn):
    python3 scripts/golden/seqeval_reference.py ../shared/data/conll2003 > test/fixtures/golden/seqeval.json

Each case's result follows evaluate's metrics/seqeval/seqeval.py _compute:
    report = classification_report(y_true=references, y_pred=predictions, suffix=suffix, output_dict=True,
                                   scheme=scheme, mode=mode, sample_weight=sample_weight, zero_division=zero_division)
    report.pop("macro avg"); report.pop("weighted avg"); overall_score = report.pop("micro avg")
    scores = {type_name: {"precision": score["precision"], "recall": score["recall"], "f1": score["f1-score"],
              "number": score["support"]} for type_name, score in report.items()}
    scores["overall_precision"] = overall_score["precision"] ... scores["overall_accuracy"] = accuracy_score(...)

The CoNLL cases do not store their tags: both sides read the gold tags from the files and make the
predictions with perturb() below (test/seqeval.test.ts has the same rule).
"""
import json
import os
import sys
import warnings

from seqeval.metrics import accuracy_score, classification_report

TYPES = ["PER", "ORG", "LOC", "MISC"]


def read_conll(path):
    """NER tags per sentence of a CoNLL-2003 file: -DOCSTART- lines skipped, sentences cut at empty lines."""
    sentences, current = [], []
    with open(path, encoding="utf-8") as f:
        for line in f:
            line = line.rstrip("\n")
            if not line or line.startswith("-DOCSTART-"):
                if current:
                    sentences.append(current)
                current = []
                continue
            current.append(line.split(" ")[-1])
    if current:
        sentences.append(current)
    return sentences


def perturb(sentences):
    """Deterministic mistakes by token position k over the whole file: B- read as I-, another type, an O, a spurious entity."""
    out, k = [], 0
    for s in sentences:
        row = []
        for t in s:
            if t != "O" and k % 17 == 3:
                t = "I" + t[1:]
            elif t != "O" and k % 23 == 5:
                t = t[:2] + TYPES[(TYPES.index(t[2:]) + 1) % 4]
            elif t != "O" and k % 29 == 7:
                t = "O"
            elif t == "O" and k % 41 == 11:
                t = "B-" + TYPES[k % 4]
            row.append(t)
            k += 1
        out.append(row)
    return out


def scores(references, predictions, **kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        report = classification_report(y_true=references, y_pred=predictions, output_dict=True, **kw)
    report.pop("macro avg")
    report.pop("weighted avg")
    overall = report.pop("micro avg")
    out = {name: {"precision": float(s["precision"]), "recall": float(s["recall"]), "f1": float(s["f1-score"]), "number": int(s["support"])} for name, s in report.items()}
    out["overall_precision"] = float(overall["precision"])
    out["overall_recall"] = float(overall["recall"])
    out["overall_f1"] = float(overall["f1-score"])
    out["overall_accuracy"] = float(accuracy_score(y_true=references, y_pred=predictions))
    return out


def main():
    conll = sys.argv[1]
    cases = []
    doc_refs = [["O", "O", "O", "B-MISC", "I-MISC", "I-MISC", "O"], ["B-PER", "I-PER", "O"]]
    doc_preds = [["O", "O", "B-MISC", "I-MISC", "I-MISC", "I-MISC", "O"], ["B-PER", "I-PER", "O"]]
    cases.append({"name": "evaluate's docstring", "references": doc_refs, "predictions": doc_preds, "options": {}, "result": scores(doc_refs, doc_preds)})
    suf_refs = [[t if t == "O" else t[2:] + "-" + t[0] for t in s] for s in doc_refs]
    suf_preds = [[t if t == "O" else t[2:] + "-" + t[0] for t in s] for s in doc_preds]
    cases.append({"name": "suffix tags", "references": suf_refs, "predictions": suf_preds, "options": {"suffix": True}, "result": scores(suf_refs, suf_preds, suffix=True)})
    odd_refs = [["B", "I", "O", "B-PER-X", "I-PER-X", "S-LOC", "E-LOC", "I-ORG", "I-ORG", "O", ".", "I-MISC"]]
    odd_preds = [["B", "B", "O", "B-PER-X", "I-PER", "S-LOC", "B-LOC", "I-ORG", "B-ORG", "I-ORG", "O", "I-MISC"]]
    cases.append({"name": "untyped, dashed, IOBES and IOB1 tags", "references": odd_refs, "predictions": odd_preds, "options": {}, "result": scores(odd_refs, odd_preds)})
    none_preds = [["O"] * len(s) for s in doc_refs]
    for zd in (0, 1):
        cases.append({"name": f"no predicted entity, zero_division {zd}", "references": doc_refs, "predictions": none_preds, "options": {"zero_division": zd}, "result": scores(doc_refs, none_preds, zero_division=zd)})
    for name, path in [("CoNLL-2003 valid.txt (IOB2)", "valid.txt"), ("CoNLL-2003 eng.testa (IOB1)", "original-iob1/eng.testa")]:
        refs = read_conll(os.path.join(conll, path))
        cases.append({"name": name, "file": path, "options": {}, "result": scores(refs, perturb(refs)), "identity": scores(refs, refs)})
    json.dump(cases, sys.stdout, indent=1)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
