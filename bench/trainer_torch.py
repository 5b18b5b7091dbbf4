"""PyTorch's side of bench/trainer.ts: the course's training loop on MRPC in plain PyTorch (the golden
test's loop: same batches, AdamW — fused where this torch has it for the CPU (2.4 on), as a PyTorch
user at their best would pick — linear schedule, clipping), timed from the first step.

Usage: python3 bench/trainer_torch.py SHARED_DATA SIZE(tiny|mini|base) STEPS THREADS BLAS_THREADS PRECISION(fp32|bf16) BATCH
"""
import ctypes
import json
import os
import resource
import sys
import time

import torch

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "scripts", "golden"))
from bert_family import BertForSequenceClassification, init_weights  # noqa: E402
from bert_reference_tokenizer import Reference  # noqa: E402
from trainer_mrpc import collate, encode, rows  # noqa: E402

shared, size, steps, threads, blas, precision, batch = (sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5]),
                                                        sys.argv[6], int(sys.argv[7]))
torch.set_num_threads(threads)
try:
    ctypes.CDLL("libopenblas.so.0").openblas_set_num_threads(blas)
except OSError:
    pass
SIZES = {"tiny": dict(hidden_size=128, num_hidden_layers=2, num_attention_heads=2, intermediate_size=512),
         "mini": dict(hidden_size=256, num_hidden_layers=4, num_attention_heads=4, intermediate_size=1024),
         "base": dict(hidden_size=768, num_hidden_layers=12, num_attention_heads=12, intermediate_size=3072)}
c = dict(vocab_size=28996, hidden_act="gelu", hidden_dropout_prob=0.1, attention_probs_dropout_prob=0.1, max_position_embeddings=512,
         type_vocab_size=2, layer_norm_eps=1e-12, pad_token_id=0, num_labels=2, **SIZES[size])
ref = Reference(os.path.join(shared, "models", "bert-base-cased", "vocab.txt"), lowercase=False)
train = encode(ref, rows(os.path.join(shared, "glue", "MRPC", "train.tsv"), 3668))
torch.manual_seed(42)
model = BertForSequenceClassification(c)
init_weights(model, 0.02)
model.train()
norm = {id(p) for m in model.modules() if isinstance(m, torch.nn.LayerNorm) for p in m.parameters()}
named = list(model.named_parameters())
opt = torch.optim.AdamW([{"params": [p for n, p in named if not (n.endswith("bias") or id(p) in norm)], "weight_decay": 0.0},
                         {"params": [p for n, p in named if n.endswith("bias") or id(p) in norm], "weight_decay": 0.0}], lr=5e-5,
                        **({"fused": True} if tuple(int(v) for v in torch.__version__.split(".")[:2]) >= (2, 4) else {}))
sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: max(0.0, (steps - s) / max(1, steps)))
g = torch.Generator()
g.manual_seed(42)
perm = torch.randperm(len(train), generator=g).tolist()
batches = [perm[s:s + batch] for s in range(0, len(train), batch)]
samples = sum(len(batches[i % len(batches)]) for i in range(steps))
collate_seconds = 0.0


def step(i):
    global collate_seconds
    t0 = time.perf_counter()
    ids, mask, types, labels = collate([train[k] for k in batches[i % len(batches)]])
    collate_seconds += time.perf_counter() - t0
    with torch.autocast("cpu", dtype=torch.bfloat16, enabled=precision == "bf16"):
        _, loss = model(ids, mask, types, labels)
    loss.backward()
    torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
    opt.step()
    sched.step()
    opt.zero_grad(set_to_none=True)


# Timed from the first step, as the Trainer side is: a warm-up would hide the allocator's first steps.
t = time.perf_counter()
step(0)
first = time.perf_counter() - t
for i in range(1, steps):
    step(i)
elapsed = time.perf_counter() - t
print(json.dumps({"samples_per_second": samples / elapsed, "first_step_ms": first * 1000, "torch_version": torch.__version__,
                  "collate_ms_per_step": collate_seconds * 1000 / steps, "step_ms": elapsed * 1000 / steps,
                  "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
