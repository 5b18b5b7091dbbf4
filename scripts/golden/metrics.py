"""Golden fixtures for the metrics: scikit-learn's and scipy's values on fixed and random inputs.

Run with Debian's python3-sklearn:  /usr/bin/python3 scripts/golden/metrics.py
Writes test/fixtures/golden/metrics.json.
"""
import json
import os

import numpy as np
from scipy.stats import pearsonr, spearmanr
from sklearn.metrics import accuracy_score, f1_score, matthews_corrcoef, precision_score, recall_score

OUT = os.path.join(os.path.dirname(__file__), "..", "..", "test", "fixtures", "golden", "metrics.json")
rng = np.random.default_rng(1234)

cases = []


def classification(name, p, r, w=None):
    c = {"name": name, "predictions": [int(x) for x in p], "references": [int(x) for x in r]}
    if w is not None:
        c["sample_weight"] = [float(x) for x in w]
    kw = {"sample_weight": w}
    c["accuracy"] = accuracy_score(r, p, **kw)
    c["matthews_correlation"] = matthews_corrcoef(r, p, **kw)
    binary = set(p) | set(r) <= {0, 1}
    for avg in (["binary"] if binary else []) + ["micro", "macro", "weighted"]:
        c[f"f1_{avg}"] = f1_score(r, p, average=avg, zero_division=0, **kw)
        c[f"precision_{avg}"] = precision_score(r, p, average=avg, zero_division=0, **kw)
        c[f"recall_{avg}"] = recall_score(r, p, average=avg, zero_division=0, **kw)
    if binary:
        c["f1_binary_pos0"] = f1_score(r, p, average="binary", pos_label=0, zero_division=0, **kw)
    cases.append(c)


classification("fixed binary", [0, 1, 1, 0, 1, 1, 0, 0], [0, 1, 0, 0, 1, 1, 1, 0])
classification("fixed multiclass", [0, 2, 1, 2, 0, 1, 2, 2], [0, 1, 1, 2, 0, 2, 2, 0])
classification("all wrong", [1, 1, 1], [0, 0, 0])
classification("no positives predicted", [0, 0, 0, 0], [1, 0, 1, 0])
for i in range(5):
    n = int(rng.integers(20, 400))
    classification(f"random binary {i}", rng.integers(0, 2, n), rng.integers(0, 2, n))
    k = int(rng.integers(3, 7))
    classification(f"random {k}-class {i}", rng.integers(0, k, n), rng.integers(0, k, n))
classification("weighted binary", rng.integers(0, 2, 50), rng.integers(0, 2, 50), rng.random(50))

regression = []
for i, (x, y) in enumerate([
    ([1.0, 2.0, 3.0, 4.0, 5.0], [2.0, 1.0, 4.0, 3.0, 5.0]),
    ([0.5, 0.5, 1.5, 2.0, 2.0, 3.0], [1.0, 2.0, 2.0, 3.5, 3.0, 5.0]),  # ties
] + [(list(rng.normal(size=60)), list(rng.normal(size=60))) for _ in range(3)] + [(list(rng.uniform(0, 5, 100)), list(rng.uniform(0, 5, 100)))]):
    regression.append({"name": f"regression {i}", "predictions": [float(v) for v in x], "references": [float(v) for v in y],
                       "pearsonr": float(pearsonr(x, y)[0]), "spearmanr": float(spearmanr(x, y)[0])})

with open(OUT, "w") as f:
    json.dump({"classification": cases, "regression": regression}, f, indent=1)
    f.write("\n")
