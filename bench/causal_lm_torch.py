"""PyTorch's side of bench/causal_lm.ts: SmolLM2-135M's config (random weights) in the golden tests'
reference Llama (scripts/golden/decoders.py, written from transformers' modeling_llama.py) —
a plain training loop (fwd + bwd + AdamW) on packed rows, and HF-style greedy generation with a KV cache.

Usage: python3 bench/causal_lm_torch.py THREADS BLAS_THREADS STEPS BATCH SEQ PROMPT NEW [PRECISIONS: fp32,bf16]
"""
import ctypes
import json
import os
import resource
import sys
import time

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "scripts", "golden"))
from decoders import LlamaForCausalLM, causal_loss, mask_for, rope, rotate_half  # noqa: E402

threads, blas, steps, batch, seq, prompt, new = (int(a) for a in sys.argv[1:8])
precisions = (sys.argv[8] if len(sys.argv) > 8 else "fp32,bf16").split(",")
torch.set_num_threads(threads)
try:
    ctypes.CDLL("libopenblas.so.0").openblas_set_num_threads(blas)
except OSError:
    pass
C = dict(model_type="llama", vocab_size=49152, hidden_size=576, intermediate_size=1536, num_hidden_layers=30, num_attention_heads=9,
         num_key_value_heads=3, hidden_act="silu", max_position_embeddings=8192, rms_norm_eps=1e-5, rope_theta=100000.0, tie_word_embeddings=True,
         pad_token_id=None)
torch.manual_seed(0)
model = LlamaForCausalLM(C)
for p in model.parameters():
    torch.nn.init.normal_(p, 0, 0.02)
out = {"torch_version": torch.__version__}


def train(bf16):
    model.train()
    opt = torch.optim.AdamW(model.parameters(), lr=1e-4)
    ids = torch.randint(0, C["vocab_size"], (batch, seq))
    mask = torch.ones(batch, seq, dtype=torch.long)

    def step():
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
            loss = causal_loss(model(ids, mask), ids)
        loss.backward()
        opt.step()
        opt.zero_grad(set_to_none=True)

    step()
    t = time.perf_counter()
    for _ in range(steps):
        step()
    return batch * seq * steps / (time.perf_counter() - t)


@torch.no_grad()
def generate(b):
    """HF's greedy loop with a KV cache: the prompt once, then one token a step attending to the cache."""
    model.eval()
    m = model.model
    d = C["hidden_size"] // C["num_attention_heads"]
    ids = torch.randint(0, C["vocab_size"], (b, prompt))
    cache = [None] * len(m.layers)
    x_ids, past = ids, 0
    t = time.perf_counter()
    for _ in range(new):
        L = x_ids.shape[1]
        pos = torch.arange(past, past + L).unsqueeze(0).expand(b, L)
        cos, sin = rope(C, d, pos)
        x = m.embed_tokens(x_ids)
        cos, sin = cos.to(x.dtype), sin.to(x.dtype)
        q_idx = torch.arange(past, past + L)[:, None]
        k_idx = torch.arange(past + L)[None, :]
        mask = torch.zeros(1, 1, L, past + L, dtype=x.dtype).masked_fill(k_idx > q_idx, torch.finfo(x.dtype).min)
        for i, layer in enumerate(m.layers):
            a = layer.self_attn
            h = layer.input_layernorm(x)
            q = a.q_proj(h).view(b, L, -1, a.d).transpose(1, 2)
            k = a.k_proj(h).view(b, L, -1, a.d).transpose(1, 2)
            v = a.v_proj(h).view(b, L, -1, a.d).transpose(1, 2)
            c_, s_ = cos.unsqueeze(1), sin.unsqueeze(1)
            q, k = q * c_ + rotate_half(q) * s_, k * c_ + rotate_half(k) * s_
            if cache[i] is not None:
                k, v = torch.cat([cache[i][0], k], 2), torch.cat([cache[i][1], v], 2)
            cache[i] = (k, v)
            n = a.h // a.kv
            kk = k[:, :, None].expand(b, a.kv, n, k.shape[2], a.d).reshape(b, a.h, k.shape[2], a.d)
            vv = v[:, :, None].expand(b, a.kv, n, v.shape[2], a.d).reshape(b, a.h, v.shape[2], a.d)
            # torch 1.13 has no F.scaled_dot_product_attention: the same math (as libtorch 1.13's composed path).
            att = torch.matmul(F.softmax(torch.matmul(q, kk.transpose(2, 3)) * a.d ** -0.5 + mask, dim=-1), vv)
            x = x + a.o_proj(att.transpose(1, 2).reshape(b, L, -1))
            x = x + layer.mlp(layer.post_attention_layernorm(x))
        logits = model.lm_head(m.norm(x[:, -1:, :]))[:, -1].float()
        x_ids = logits.argmax(-1, keepdim=True)
        past += L
    return b * new / (time.perf_counter() - t)


for name in precisions if steps > 0 else ():
    out[f"train_{name}"] = train(name == "bf16")
for b in (1, 8) if new > 0 else ():
    out[f"generate_b{b}_fp32"] = generate(b)
model.to(torch.bfloat16)
for b in (1, 8) if new > 0 else ():
    out[f"generate_b{b}_bf16"] = generate(b)
out["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps(out))
