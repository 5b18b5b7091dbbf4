"""The goldens written on Debian's torch 1.13 from transformers' modeling files (scripts/golden/decoders.py,
scripts/golden/modernbert.py) checked against transformers itself: each fixture folder loaded with its Auto
class, eager against expected.safetensors and sdpa against expected_sdpa.safetensors (torch >= 2.5), on the
same padded inputs, in train mode without dropout; logits, loss and every gradient. Exits 1 past the tolerance.

Run where transformers is installed (the GPU machine's python3, or a venv with torch >= 2.5):
  python3 scripts/golden/check_against_transformers.py
"""
import os
import sys

import torch
from safetensors.torch import load_file
from transformers import (AutoModelForCausalLM, AutoModelForMaskedLM, AutoModelForQuestionAnswering, AutoModelForSequenceClassification,
                          AutoModelForTokenClassification)

GOLDEN = os.path.join(os.path.dirname(__file__), "..", "..", "test", "fixtures", "golden")
TOL = 2e-5
DECODERS = [(f"decoders/{n}", AutoModelForCausalLM, "labels") for n in
            ["gpt2", "llama-llama3", "llama-linear", "llama-dynamic", "qwen2", "qwen3", "mistral"]]
MODERNBERT = [("modernbert/mlm", AutoModelForMaskedLM, "mlm_labels"), ("modernbert/seqcls-cls", AutoModelForSequenceClassification, "seq_labels"),
              ("modernbert/seqcls-mean", AutoModelForSequenceClassification, "seq_labels"),
              ("modernbert/tokcls", AutoModelForTokenClassification, "tok_labels"), ("modernbert/qa", AutoModelForQuestionAnswering, None)]
worst = 0.0
for case, auto, labels in DECODERS + MODERNBERT:
    inputs = load_file(os.path.join(GOLDEN, case.split("/")[0], "inputs.safetensors"))
    kwargs = dict(input_ids=inputs["input_ids"], attention_mask=inputs["attention_mask"])
    if labels:
        kwargs["labels"] = inputs[labels]
    else:
        kwargs.update(start_positions=inputs["start_positions"], end_positions=inputs["end_positions"])
    for impl, golden in (("eager", "expected"), ("sdpa", "expected_sdpa")):
        expected = load_file(os.path.join(GOLDEN, case, f"{golden}.safetensors"))
        model = auto.from_pretrained(os.path.join(GOLDEN, case), attn_implementation=impl)
        model.train()
        out = model(**kwargs)
        out.loss.backward()
        logits = out.logits if labels else torch.stack([out.start_logits, out.end_logits])
        diffs = {"logits": (logits - expected["logits"]).abs().max().item(), "loss": abs(out.loss.item() - expected["loss"].item()),
                 "grads": max((p.grad - expected[f"grad.{n}"]).abs().max().item() for n, p in model.named_parameters())}
        worst = max(worst, *diffs.values())
        print(f"{case:24} {impl:6} " + "  ".join(f"{k} {v:.2e}" for k, v in diffs.items()))
print(f"torch {torch.__version__}: largest difference {worst:.2e} (tolerance {TOL})")
sys.exit(0 if worst <= TOL else 1)
