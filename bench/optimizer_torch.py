"""PyTorch's side of bench/optimizer.ts: AdamW steps over bert-base-shaped parameters, plain and foreach.

Usage: python3 bench/optimizer_torch.py STEPS THREADS
"""
import json
import os
import sys
import time

import torch

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "scripts", "golden"))
from bert_family import BertForSequenceClassification  # noqa: E402

steps, threads = int(sys.argv[1]), int(sys.argv[2])
torch.set_num_threads(threads)
torch.manual_seed(0)
c = dict(vocab_size=28996, hidden_size=768, num_hidden_layers=12, num_attention_heads=12, intermediate_size=3072, hidden_act="gelu",
         hidden_dropout_prob=0.1, attention_probs_dropout_prob=0.1, max_position_embeddings=512, type_vocab_size=2, layer_norm_eps=1e-12,
         pad_token_id=0, num_labels=2)
params = list(BertForSequenceClassification(c).parameters())
for p in params:
    p.grad = torch.randn_like(p) * 1e-3
out = {}
for name, foreach in (("plain", False), ("foreach", True)):
    opt = torch.optim.AdamW(params, lr=1e-4, weight_decay=0.01, foreach=foreach)
    opt.step()
    t = time.perf_counter()
    for _ in range(steps):
        opt.step()
    out[f"{name}_ms"] = (time.perf_counter() - t) / steps * 1000
t = time.perf_counter()
for _ in range(steps):
    torch.nn.utils.clip_grad_norm_(params, 1.0)
out["clip_ms"] = (time.perf_counter() - t) / steps * 1000
print(json.dumps(out))
