"""Golden fixtures for RNG parity: the same seed gives the same draws and the same initialised layers.

Run with Debian's python3-torch:  /usr/bin/python3 scripts/golden/rng.py
"""
import os
import sys

import torch

sys.path.insert(0, os.path.dirname(__file__))
from safetensors_io import save  # noqa: E402

OUT = os.path.join(os.path.dirname(__file__), "..", "..", "test", "fixtures", "golden")

torch.manual_seed(1234)
out = {
    "randn": torch.randn(5),
    "rand": torch.rand(2, 3),
    "randint": torch.randint(0, 10, (6,)),
    "randperm": torch.randperm(7),
}
lin = torch.nn.Linear(4, 3)
out["linear.weight"], out["linear.bias"] = lin.weight.detach(), lin.bias.detach()
emb = torch.nn.Embedding(6, 4, padding_idx=0)
out["embedding.weight"] = emb.weight.detach()
out["dropout"] = torch.nn.functional.dropout(torch.ones(2, 5), 0.5, True)
save(out, os.path.join(OUT, "rng.safetensors"))
