"""Golden scores of evaluate's "squad" metric: the official SQuAD v1.1 evaluation (evaluate-v1.1.py, as
evaluate's metrics/squad/compute_score.py carries it), run on the SQuAD v1.1 dev set with predictions
made here from each question's answers (exact, cut, padded, lower/upper-cased, with articles and
punctuation, wrong, and some questions left unanswered), plus hand-written Unicode edge cases.

The scoring functions follow the official script line by line:
  normalize_answer(s): white_space_fix(remove_articles(remove_punc(lower(s))))
      remove_articles: re.sub(r"\b(a|an|the)\b", " ", text); white_space_fix: " ".join(text.split())
      remove_punc: "".join(ch for ch in text if ch not in set(string.punctuation))
  f1_score: common = Counter(prediction_tokens) & Counter(ground_truth_tokens); num_same = sum(common.values())
      if num_same == 0: return 0; precision = num_same / len(prediction_tokens); recall = ... ; 2pr/(p+r)
  exact_match_score: normalize_answer(prediction) == normalize_answer(ground_truth)
  evaluate: for each qa: total += 1; if qa["id"] not in predictions: continue (score 0)
      exact_match += max over ground truths; f1 += max over ground truths; both * 100 / total
evaluate's squad _compute: pred_dict = {p["id"]: p["prediction_text"]}; dataset = [{"paragraphs": [{"qas": [
      {"answers": [{"text": t} for t in ref["answers"]["text"]], "id": ref["id"]} for ref in references]}]}]

Run:  python3 scripts/golden/squad_reference.py   (needs ../shared/data/squad/dev-v1.1.json)
"""
import json
import os
import random
import re
import string
from collections import Counter

HERE = os.path.dirname(__file__)
DEV = os.path.join(HERE, "..", "..", "..", "shared", "data", "squad", "dev-v1.1.json")
OUT = os.path.join(HERE, "..", "..", "test", "fixtures", "golden", "squad.json")


def normalize_answer(s):
    def remove_articles(text):
        return re.sub(r"\b(a|an|the)\b", " ", text)

    def white_space_fix(text):
        return " ".join(text.split())

    def remove_punc(text):
        exclude = set(string.punctuation)
        return "".join(ch for ch in text if ch not in exclude)

    return white_space_fix(remove_articles(remove_punc(s.lower())))


def f1_score(prediction, ground_truth):
    prediction_tokens = normalize_answer(prediction).split()
    ground_truth_tokens = normalize_answer(ground_truth).split()
    common = Counter(prediction_tokens) & Counter(ground_truth_tokens)
    num_same = sum(common.values())
    if num_same == 0:
        return 0
    precision = 1.0 * num_same / len(prediction_tokens)
    recall = 1.0 * num_same / len(ground_truth_tokens)
    return (2 * precision * recall) / (precision + recall)


def exact_match_score(prediction, ground_truth):
    return normalize_answer(prediction) == normalize_answer(ground_truth)


def metric_max_over_ground_truths(metric_fn, prediction, ground_truths):
    return max(metric_fn(prediction, gt) for gt in ground_truths)


def evaluate(references, pred_dict):
    f1 = exact_match = total = 0
    for ref in references:
        total += 1
        if ref["id"] not in pred_dict:
            continue
        truths = ref["answers"]["text"]
        exact_match += metric_max_over_ground_truths(exact_match_score, pred_dict[ref["id"]], truths)
        f1 += metric_max_over_ground_truths(f1_score, pred_dict[ref["id"]], truths)
    return {"exact_match": 100.0 * exact_match / total, "f1": 100.0 * f1 / total}


def perturb(rng, answers, context):
    a = rng.choice(answers)
    k = rng.randrange(9)
    words = a.split()
    if k == 0:
        return a
    if k == 1:
        return " ".join(words[: max(1, len(words) // 2)])
    if k == 2:
        return "the " + a + "."
    if k == 3:
        return a.upper()
    if k == 4:
        start = max(0, context.find(a) - 15)
        return context[start: start + len(a) + 30]
    if k == 5:
        return rng.choice(context.split())
    if k == 6:
        return "  " + a.replace(" ", "\u00a0 ") + "\u3000"
    if k == 7:
        return a + " " + a
    return ""


def main():
    with open(DEV, encoding="utf-8") as f:
        data = json.load(f)["data"]
    rng = random.Random(0)
    references, predictions = [], []
    for article in data[:3]:
        for paragraph in article["paragraphs"]:
            for qa in paragraph["qas"]:
                answers = [a["text"] for a in qa["answers"]]
                references.append({"id": qa["id"], "answers": {"text": answers, "answer_start": [a["answer_start"] for a in qa["answers"]]}})
                if rng.random() < 0.03:
                    continue  # unanswered
                predictions.append({"id": qa["id"], "prediction_text": perturb(rng, answers, paragraph["context"])})
    pred_dict = {p["id"]: p["prediction_text"] for p in predictions}
    per_question = [[int(metric_max_over_ground_truths(exact_match_score, pred_dict[r["id"]], r["answers"]["text"])),
                     metric_max_over_ground_truths(f1_score, pred_dict[r["id"]], r["answers"]["text"])] if r["id"] in pred_dict else None
                    for r in references]
    # Unicode edges where Python and JavaScript differ: \b around non-ASCII letters and combining marks,
    # str.split()'s whitespace (\x1c-\x1f and \x85 split, \ufeff does not), non-ASCII punctuation kept.
    edges = [["éa b", "éa b"], ["a\u0301 the cat", "the cat"], ["x\x1cy", "x y"], ["x\ufeffy", "x y"], ["x\x85y", "x y"],
             ["The Ångström «unit»", "angström unit"], ["ΟΔΟΣ the", "οδος"], ["an_apple a", "an_apple"], ["1a 2an", "1a 2an"],
             ["İstanbul", "i̇stanbul"], ["the", ""], ["a an the", "the"], ["…", "..."]]
    edge_scores = [[int(exact_match_score(p, g)), f1_score(p, g), normalize_answer(p)] for p, g in edges]
    result = {"references": references, "predictions": predictions, "expected": evaluate(references, pred_dict),
              "per_question": per_question, "edges": edges, "edge_scores": edge_scores}
    with open(OUT, "w", encoding="utf-8") as f:
        json.dump(result, f, ensure_ascii=False, separators=(",", ":"))
        f.write("\n")
    print(result["expected"], len(references), len(predictions))


if __name__ == "__main__":
    main()
