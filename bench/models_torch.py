"""PyTorch's side of bench/models.ts: a bert-base-sized BertForSequenceClassification (the golden
tests' reference model, scripts/golden/bert_family.py), forward+backward at batch 8 x seq 128.

Usage: python3 bench/models_torch.py THREADS BLAS_THREADS STEPS
"""
import ctypes
import json
import os
import sys
import time

import torch

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "scripts", "golden"))
from bert_family import BertForSequenceClassification  # noqa: E402

threads, blas, steps = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
torch.set_num_threads(threads)
try:
    ctypes.CDLL("libopenblas.so.0").openblas_set_num_threads(blas)
except OSError:
    pass
c = dict(vocab_size=28996, hidden_size=768, num_hidden_layers=12, num_attention_heads=12, intermediate_size=3072, hidden_act="gelu",
         hidden_dropout_prob=0.1, attention_probs_dropout_prob=0.1, max_position_embeddings=512, type_vocab_size=2, layer_norm_eps=1e-12,
         pad_token_id=0, num_labels=2)
torch.manual_seed(0)
model = BertForSequenceClassification(c).train()
ids = torch.randint(1, c["vocab_size"], (8, 128))
mask = torch.ones(8, 128, dtype=torch.long)
types = torch.zeros(8, 128, dtype=torch.long)
labels = torch.randint(0, 2, (8,))
out = {}
for name, bf16 in (("fp32", False), ("bf16", True)):
    def step():
        model.zero_grad(set_to_none=True)
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
            _, loss = model(ids, mask, types, labels)
        loss.backward()
    step()
    t = time.perf_counter()
    for _ in range(steps):
        step()
    out[name] = (time.perf_counter() - t) / steps
out["torch_version"] = torch.__version__
print(json.dumps(out))
