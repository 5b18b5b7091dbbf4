"""PyTorch's side of bench/sft_lora.ts: a plain LoRA training loop in PEFT's math on SmolLM2-135M's config
(random weights) in the golden tests' reference Llama (scripts/golden/decoders.py, written from
transformers' modeling_llama.py), trained on the batches the finetune-ts run collated (same rows, same
padding): r 16, alpha 32 on every linear layer but the head, AdamW (lr 2e-4) over the adapters only,
gradient clipping at 1.0 as the Trainer does, bf16 autocast. Timed from the first step.

Usage: python3 bench/sft_lora_torch.py THREADS BLAS_THREADS BATCHES.json [bf16|fp32]
"""
import ctypes
import json
import math
import os
import resource
import sys
import time

import torch
import torch.nn as nn

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "scripts", "golden"))
from decoders import LlamaForCausalLM, causal_loss  # noqa: E402

threads, blas = int(sys.argv[1]), int(sys.argv[2])
batches = json.load(open(sys.argv[3]))
bf16 = (sys.argv[4] if len(sys.argv) > 4 else "bf16") == "bf16"
torch.set_num_threads(threads)
try:
    ctypes.CDLL("libopenblas.so.0").openblas_set_num_threads(blas)
except OSError:
    pass

C = dict(model_type="llama", vocab_size=50257, hidden_size=576, intermediate_size=1536, num_hidden_layers=30, num_attention_heads=9,
         num_key_value_heads=3, hidden_act="silu", max_position_embeddings=8192, rms_norm_eps=1e-5, rope_theta=100000.0, tie_word_embeddings=True,
         pad_token_id=None)
R, ALPHA = 16, 32
TARGETS = ("q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj")


class LoraLinear(nn.Module):
    """PEFT's lora.Linear (tuners/lora/layer.py, PEFT 0.20) for one adapter without dropout:
        result = self.base_layer(x, *args, **kwargs)
        ...
        result = result + lora_B(lora_A(dropout(x))) * scaling
    with lora_A kaiming-uniform(a=√5) and lora_B zeros (reset_lora_parameters), scaling = alpha / r."""

    def __init__(self, base):
        super().__init__()
        self.base_layer = base
        self.lora_A = nn.Linear(base.in_features, R, bias=False)
        self.lora_B = nn.Linear(R, base.out_features, bias=False)
        nn.init.kaiming_uniform_(self.lora_A.weight, a=math.sqrt(5))
        nn.init.zeros_(self.lora_B.weight)
        self.scaling = ALPHA / R

    def forward(self, x):
        result = self.base_layer(x)
        return result + self.lora_B(self.lora_A(x)) * self.scaling


torch.manual_seed(0)
model = LlamaForCausalLM(C)
for p in model.parameters():
    nn.init.normal_(p, 0, 0.02)
    p.requires_grad_(False)
for layer in model.model.layers:
    for parent in (layer.self_attn, layer.mlp):
        for name in TARGETS:
            if hasattr(parent, name):
                setattr(parent, name, LoraLinear(getattr(parent, name)))
trainable = [p for p in model.parameters() if p.requires_grad]
opt = torch.optim.AdamW(trainable, lr=2e-4, weight_decay=0.0)
model.train()

tensors = [{k: torch.tensor(v) for k, v in b.items()} for b in batches]
tokens = sum(int(b["attention_mask"].sum()) for b in tensors)
t = time.perf_counter()
for b in tensors:
    with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
        loss = causal_loss(model(b["input_ids"], b["attention_mask"]), b["labels"])
    loss.backward()
    torch.nn.utils.clip_grad_norm_(trainable, 1.0)
    opt.step()
    opt.zero_grad(set_to_none=True)
seconds = time.perf_counter() - t
state = sum(v.numel() * v.element_size() for s in opt.state.values() for v in s.values() if torch.is_tensor(v) and v.dim() > 0)
print(json.dumps({
    "tokens_per_s": tokens / seconds, "tokens": tokens, "seconds": seconds, "trainable": sum(p.numel() for p in trainable),
    "optimizer_state_bytes": state, "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, "torch_version": torch.__version__,
}))
