"""Golden fixtures for the causal LMs: tiny random GPT-2, Llama (GQA; default, linear, dynamic and llama3
RoPE), Qwen2 (q/k/v biases, a sliding-window layer), Qwen3 (q/k norms, explicit head_dim) and Mistral
(sliding window) in plain PyTorch (Debian's python3-torch 1.13), written from transformers 5's modeling
files, saved as Hugging Face folders with their logits, losses and every gradient.

Lines followed (transformers 5):
  LlamaRMSNorm: h = x.to(float32); h * torch.rsqrt(h.pow(2).mean(-1, keepdim=True) + eps); weight * h.to(input_dtype)
  modeling_rope_utils: default inv_freq = 1.0 / (base ** (torch.arange(0, dim, 2, dtype=torch.int64).float() / dim));
      linear: inv_freq /= factor; dynamic: base * ((factor * seq_len / max_position_embeddings) - (factor - 1)) ** (dim / (dim - 2))
      with seq_len = max(torch.max(position_ids) + 1, max_position_embeddings) (dynamic_rope_update, a 0-dim tensor);
      llama3: wavelen = 2 * math.pi / inv_freq; where(wavelen > low_freq_wavelen, inv_freq / factor, inv_freq);
      smooth = (old_context_len / wavelen - low) / (high - low); smoothed = (1 - smooth) * f / factor + smooth * f; medium → smoothed
  LlamaRotaryEmbedding.forward: freqs = (inv_freq[None, :, None] @ position_ids[:, None, :].float()).transpose(1, 2);
      emb = cat((freqs, freqs), -1); cos = emb.cos() * attention_scaling
  LlamaAttention: q/k/v_proj(x).view(*input_shape, -1, head_dim).transpose(1, 2) (Qwen3: q_norm/k_norm on the view first);
      apply_rotary_pos_emb; repeat_kv; eager: q @ k^T * head_dim**-0.5 + causal_mask; softmax(float32); @ v; o_proj
  Qwen2: q/k/v bias=True, o_proj bias=False; layer_types sliding from max_window_layers when use_sliding_window
  masking_utils: causal kv_idx <= q_idx; sliding_window_overlay kv_idx > q_idx - sliding_window; padding from attention_mask
  sdpa (expected_sdpa.safetensors): sdpa_mask hands torch a boolean mask, and from torch 2.5 on (no allow_torch_fix
      there) torch's SDPA gives 0 for a query row with every key masked (a left-padded position): the same
      attention with those rows' probabilities zeroed. (Eager's float mask gives them a uniform average instead.)
  LlamaDecoderLayer: x + self_attn(input_layernorm(x)); h + mlp(post_attention_layernorm(h)); LlamaMLP: down(act(gate(x)) * up(x))
  GPT2: Conv1D (addmm(bias, x, weight), weight [in, out]); c_attn split into q, k, v; eager attn q @ k^T / full([], v.size(-1) ** 0.5);
      softmax; GPT2Block x + attn(ln_1(x)); h + mlp(ln_2(h)); mlp = c_proj(gelu_new(c_fc(x))); wte + wpe; ln_f; lm_head tied to wte
  loss_utils.ForCausalLMLoss: logits.float(); labels = pad(labels, (0, 1), value=-100); shift_labels = labels[..., 1:];
      fixed_cross_entropy: reduction "sum" / num_items_in_batch when given, else "mean"

Run:  /usr/bin/python3 scripts/golden/decoders.py
"""
import json
import math
import os
import sys

import torch
import torch.nn.functional as F
from torch import nn

sys.path.insert(0, os.path.dirname(__file__))
from safetensors_io import save  # noqa: E402

OUT = os.path.join(os.path.dirname(__file__), "..", "..", "test", "fixtures", "golden", "decoders")
ACT = {"silu": F.silu, "gelu_new": lambda x: F.gelu(x, approximate="tanh")}


class RMSNorm(nn.Module):
    def __init__(self, n, eps):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(n))
        self.eps = eps

    def forward(self, x):
        dt = x.dtype
        h = x.to(torch.float32)
        h = h * torch.rsqrt(h.pow(2).mean(-1, keepdim=True) + self.eps)
        return self.weight * h.to(dt)


def rope_params(c):
    p = dict(c.get("rope_scaling") or {})
    p.update(c.get("rope_parameters") or {})
    p.setdefault("rope_type", p.get("type", "default"))
    p.setdefault("rope_theta", c.get("rope_theta", 10000.0))
    return p


def default_inv_freq(base, dim):
    return 1.0 / (base ** (torch.arange(0, dim, 2, dtype=torch.int64).float() / dim))


def inv_freq_for(c, dim, seq_len=None):
    p = rope_params(c)
    t, base = p["rope_type"], p["rope_theta"]
    if t == "default":
        return default_inv_freq(base, dim)
    if t == "linear":
        f = default_inv_freq(base, dim)
        f /= p["factor"]
        return f
    if t == "dynamic":
        mp, factor = c["max_position_embeddings"], p["factor"]
        if seq_len is None:
            seq_len = mp
        elif isinstance(seq_len, torch.Tensor):
            seq_len = torch.maximum(seq_len, torch.tensor(mp, dtype=seq_len.dtype))
        base = base * ((factor * seq_len / mp) - (factor - 1)) ** (dim / (dim - 2))
        return 1.0 / (base ** (torch.arange(0, dim, 2, dtype=torch.int64).float() / dim))
    if t == "llama3":
        inv_freq = default_inv_freq(base, dim)
        factor, low, high, old = p["factor"], p["low_freq_factor"], p["high_freq_factor"], p["original_max_position_embeddings"]
        low_wl, high_wl = old / low, old / high
        wavelen = 2 * math.pi / inv_freq
        f = torch.where(wavelen > low_wl, inv_freq / factor, inv_freq)
        smooth = (old / wavelen - low) / (high - low)
        smoothed = (1 - smooth) * f / factor + smooth * f
        medium = ~(wavelen < high_wl) * ~(wavelen > low_wl)
        return torch.where(medium, smoothed, f)
    raise ValueError(t)


def rope(c, dim, position_ids):
    inv = inv_freq_for(c, dim)
    if rope_params(c)["rope_type"] == "dynamic":
        seq_len = torch.max(position_ids) + 1
        if seq_len > c["max_position_embeddings"]:
            inv = inv_freq_for(c, dim, seq_len)
    freqs = (inv[None, :, None].float().expand(position_ids.shape[0], -1, 1) @ position_ids[:, None, :].float()).transpose(1, 2)
    emb = torch.cat((freqs, freqs), dim=-1)
    return emb.cos(), emb.sin()


def rotate_half(x):
    h = x.shape[-1] // 2
    return torch.cat((-x[..., h:], x[..., :h]), dim=-1)


SDPA = False  # True: the numbers of attn_implementation="sdpa" on torch >= 2.5


def mask_for(attention_mask, L, window):
    q = torch.arange(L)[:, None]
    k = torch.arange(L)[None, :]
    ok = k <= q
    if window is not None:
        ok = ok & (k > q - window)
    ok = ok[None, None] & attention_mask[:, None, None, :].bool()
    return torch.zeros(ok.shape).masked_fill(~ok, torch.finfo(torch.float32).min)


def attend(w, mask):
    """Softmax probabilities of the masked scores (float32, as eager); under SDPA the rows with every key masked are 0."""
    p = F.softmax(w + mask, dim=-1, dtype=torch.float32)
    if SDPA:
        p = p.masked_fill((mask == torch.finfo(torch.float32).min).all(-1, keepdim=True), 0.0)
    return p


class Attention(nn.Module):
    def __init__(self, c, qkv_bias, o_bias, qk_norm):
        super().__init__()
        self.h, self.kv = c["num_attention_heads"], c.get("num_key_value_heads") or c["num_attention_heads"]
        self.d = c.get("head_dim") or c["hidden_size"] // self.h
        H = c["hidden_size"]
        self.q_proj = nn.Linear(H, self.h * self.d, bias=qkv_bias)
        self.k_proj = nn.Linear(H, self.kv * self.d, bias=qkv_bias)
        self.v_proj = nn.Linear(H, self.kv * self.d, bias=qkv_bias)
        self.o_proj = nn.Linear(self.h * self.d, H, bias=o_bias)
        if qk_norm:
            self.q_norm = RMSNorm(self.d, c["rms_norm_eps"])
            self.k_norm = RMSNorm(self.d, c["rms_norm_eps"])
        self.qk_norm = qk_norm

    def forward(self, x, cos, sin, mask):
        b, L, _ = x.shape
        shape = (b, L, -1, self.d)
        q, k, v = self.q_proj(x).view(shape), self.k_proj(x).view(shape), self.v_proj(x).view(shape)
        if self.qk_norm:
            q, k = self.q_norm(q), self.k_norm(k)
        q, k, v = q.transpose(1, 2), k.transpose(1, 2), v.transpose(1, 2)
        c_, s_ = cos.unsqueeze(1), sin.unsqueeze(1)
        q, k = q * c_ + rotate_half(q) * s_, k * c_ + rotate_half(k) * s_
        n = self.h // self.kv
        if n > 1:
            k = k[:, :, None].expand(b, self.kv, n, L, self.d).reshape(b, self.h, L, self.d)
            v = v[:, :, None].expand(b, self.kv, n, L, self.d).reshape(b, self.h, L, self.d)
        w = attend(torch.matmul(q, k.transpose(2, 3)) * self.d ** -0.5, mask).to(q.dtype)
        out = torch.matmul(w, v).transpose(1, 2).contiguous().reshape(b, L, -1)
        return self.o_proj(out)


class MLP(nn.Module):
    def __init__(self, c):
        super().__init__()
        H, I, bias = c["hidden_size"], c["intermediate_size"], c.get("mlp_bias", False)
        self.gate_proj, self.up_proj, self.down_proj = nn.Linear(H, I, bias=bias), nn.Linear(H, I, bias=bias), nn.Linear(I, H, bias=bias)
        self.act = ACT[c["hidden_act"]]

    def forward(self, x):
        return self.down_proj(self.act(self.gate_proj(x)) * self.up_proj(x))


class Layer(nn.Module):
    def __init__(self, c, v):
        super().__init__()
        self.self_attn = Attention(c, *v)
        self.mlp = MLP(c)
        self.input_layernorm = RMSNorm(c["hidden_size"], c["rms_norm_eps"])
        self.post_attention_layernorm = RMSNorm(c["hidden_size"], c["rms_norm_eps"])

    def forward(self, x, cos, sin, mask):
        h = x + self.self_attn(self.input_layernorm(x), cos, sin, mask)
        return h + self.mlp(self.post_attention_layernorm(h))


def windows(c):
    t = c["model_type"]
    n = c["num_hidden_layers"]
    if t == "mistral":
        return [c.get("sliding_window")] * n
    if t in ("qwen2", "qwen3"):
        return [c["sliding_window"] if c.get("use_sliding_window") and i >= c["max_window_layers"] else None for i in range(n)]
    return [None] * n


class LlamaModel(nn.Module):
    def __init__(self, c):
        super().__init__()
        t = c["model_type"]
        v = {"llama": (c.get("attention_bias", False),) * 2 + (False,), "mistral": (False, False, False), "qwen2": (True, False, False),
             "qwen3": (c.get("attention_bias", False),) * 2 + (True,)}[t]
        self.c = c
        self.embed_tokens = nn.Embedding(c["vocab_size"], c["hidden_size"], padding_idx=c.get("pad_token_id"))
        self.layers = nn.ModuleList([Layer(c, v) for _ in range(c["num_hidden_layers"])])
        self.norm = RMSNorm(c["hidden_size"], c["rms_norm_eps"])

    def forward(self, ids, attention_mask, pos=None):
        b, L = ids.shape
        if pos is None:
            pos = torch.arange(L).unsqueeze(0).expand(b, L)
        d = self.c.get("head_dim") or self.c["hidden_size"] // self.c["num_attention_heads"]
        cos, sin = rope(self.c, d, pos)
        x = self.embed_tokens(ids)
        for layer, w in zip(self.layers, windows(self.c)):
            x = layer(x, cos, sin, mask_for(attention_mask, L, w))
        return self.norm(x)


class LlamaForCausalLM(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.model = LlamaModel(c)
        self.lm_head = nn.Linear(c["hidden_size"], c["vocab_size"], bias=False)
        if c.get("tie_word_embeddings"):
            self.lm_head.weight = self.model.embed_tokens.weight

    def forward(self, ids, mask, pos=None):
        return self.lm_head(self.model(ids, mask, pos))


class Conv1D(nn.Module):
    def __init__(self, nf, nx):
        super().__init__()
        self.nf = nf
        self.weight = nn.Parameter(torch.empty(nx, nf))
        self.bias = nn.Parameter(torch.zeros(nf))

    def forward(self, x):
        out = x.size()[:-1] + (self.nf,)
        return torch.addmm(self.bias, x.view(-1, x.size(-1)), self.weight).view(out)


class GPT2Block(nn.Module):
    def __init__(self, c):
        super().__init__()
        d = c["n_embd"]
        self.h = c["n_head"]
        self.ln_1 = nn.LayerNorm(d, eps=c["layer_norm_epsilon"])
        self.attn = nn.Module()
        self.attn.c_attn, self.attn.c_proj = Conv1D(3 * d, d), Conv1D(d, d)
        self.ln_2 = nn.LayerNorm(d, eps=c["layer_norm_epsilon"])
        self.mlp = nn.Module()
        self.mlp.c_fc, self.mlp.c_proj = Conv1D(4 * d, d), Conv1D(d, 4 * d)

    def forward(self, x, mask):
        b, L, d = x.shape
        hd = d // self.h
        q, k, v = (t.view(b, L, -1, hd).transpose(1, 2) for t in self.attn.c_attn(self.ln_1(x)).split(d, dim=2))
        w = torch.matmul(q, k.transpose(-1, -2)) / torch.full([], v.size(-1) ** 0.5, dtype=w_dtype(v))
        w = attend(w, mask).type(v.dtype)
        a = torch.matmul(w, v).transpose(1, 2).reshape(b, L, -1).contiguous()
        h = x + self.attn.c_proj(a)
        return h + self.mlp.c_proj(F.gelu(self.mlp.c_fc(self.ln_2(h)), approximate="tanh"))


def w_dtype(v):
    return v.dtype


class GPT2LMHeadModel(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.transformer = nn.Module()
        t = self.transformer
        t.wte, t.wpe = nn.Embedding(c["vocab_size"], c["n_embd"]), nn.Embedding(c["n_positions"], c["n_embd"])
        t.h = nn.ModuleList([GPT2Block(c) for _ in range(c["n_layer"])])
        t.ln_f = nn.LayerNorm(c["n_embd"], eps=c["layer_norm_epsilon"])
        self.lm_head = nn.Linear(c["n_embd"], c["vocab_size"], bias=False)
        self.lm_head.weight = t.wte.weight

    def forward(self, ids, mask, pos=None):
        t = self.transformer
        L = ids.shape[1]
        x = t.wte(ids) + t.wpe(torch.arange(L).unsqueeze(0) if pos is None else pos)
        m = mask_for(mask, L, None)
        for block in t.h:
            x = block(x, m)
        return self.lm_head(t.ln_f(x))


def causal_loss(logits, labels, num_items=None):
    logits = logits.float()
    labels = F.pad(labels, (0, 1), value=-100)
    shift = labels[..., 1:].contiguous()
    loss = F.cross_entropy(logits.view(-1, logits.shape[-1]), shift.view(-1), ignore_index=-100, reduction="sum" if num_items is not None else "mean")
    return loss / num_items if num_items is not None else loss


LLAMA = dict(model_type="llama", vocab_size=97, hidden_size=32, intermediate_size=40, num_hidden_layers=2, num_attention_heads=4,
             num_key_value_heads=2, hidden_act="silu", max_position_embeddings=64, rms_norm_eps=1e-5, tie_word_embeddings=False,
             rope_theta=10000.0, attention_bias=False, mlp_bias=False, bos_token_id=1, eos_token_id=2, pad_token_id=0, initializer_range=0.02,
             transformers_version="5.0.0")
CONFIGS = {
    "llama-llama3": ("LlamaForCausalLM", dict(LLAMA, rope_theta=500000.0, rope_scaling={"rope_type": "llama3", "factor": 8.0, "low_freq_factor": 1.0,
                                                                                         "high_freq_factor": 4.0, "original_max_position_embeddings": 16})),
    "llama-linear": ("LlamaForCausalLM", dict(LLAMA, tie_word_embeddings=True, rope_parameters={"rope_type": "linear", "rope_theta": 1000.0, "factor": 2.0})),
    "llama-dynamic": ("LlamaForCausalLM", dict(LLAMA, max_position_embeddings=8, rope_scaling={"type": "dynamic", "factor": 2.0})),
    "qwen2": ("Qwen2ForCausalLM", dict(LLAMA, model_type="qwen2", use_sliding_window=True, sliding_window=3, max_window_layers=1, rope_theta=1000000.0)),
    "qwen3": ("Qwen3ForCausalLM", dict(LLAMA, model_type="qwen3", head_dim=16, use_sliding_window=False, sliding_window=None, max_window_layers=2,
                                       tie_word_embeddings=True, rms_norm_eps=1e-6)),
    "mistral": ("MistralForCausalLM", dict(LLAMA, model_type="mistral", sliding_window=4)),
    "gpt2": ("GPT2LMHeadModel", dict(model_type="gpt2", vocab_size=97, n_positions=32, n_embd=32, n_layer=2, n_head=4, n_inner=None,
                                      activation_function="gelu_new", resid_pdrop=0.0, embd_pdrop=0.0, attn_pdrop=0.0, layer_norm_epsilon=1e-5,
                                      initializer_range=0.02, bos_token_id=96, eos_token_id=96, transformers_version="5.0.0")),
}


def run(model, ids, mask, labels):
    """Logits, both losses and every gradient of one forward and backward."""
    model.zero_grad(set_to_none=True)
    logits = model(ids, mask)
    expected = {"logits": logits.detach()}
    loss = causal_loss(logits, labels)
    expected["loss"] = loss.detach().reshape(1)
    expected["loss_num_items_7"] = causal_loss(logits, labels, torch.tensor(7)).detach().reshape(1)
    loss.backward()
    for n, p in model.named_parameters():
        expected[f"grad.{n}"] = p.grad.detach().clone()
    return expected


def main():
    global SDPA
    os.makedirs(OUT, exist_ok=True)
    ids = torch.tensor([[5, 45, 17, 8, 93, 21, 33, 61, 72, 14], [5, 11, 56, 70, 64, 9, 0, 0, 0, 0], [0, 0, 0, 0, 5, 7, 9, 3, 4, 2]])
    mask = (ids != 0).long()
    labels = torch.where(mask.bool(), ids, torch.full_like(ids, -100))
    save({"input_ids": ids, "attention_mask": mask, "labels": labels}, os.path.join(OUT, "inputs.safetensors"))
    for name, (arch, cfg) in CONFIGS.items():
        d = os.path.join(OUT, name)
        os.makedirs(d, exist_ok=True)
        torch.manual_seed(0)
        model = (GPT2LMHeadModel if cfg["model_type"] == "gpt2" else LlamaForCausalLM)(cfg)
        with torch.no_grad():
            for n, p in model.named_parameters():
                if n.endswith("norm.weight") or ".ln_" in n or n.startswith("transformer.ln_f") or "layernorm" in n:
                    p.normal_(1.0, 0.1) if n.endswith("weight") else p.normal_(0.0, 0.1)
                else:
                    p.normal_(0.0, 0.2)
        seen, sd = set(), {}
        for k, v in model.state_dict(keep_vars=True).items():
            if id(v) not in seen:
                seen.add(id(v))
                sd[k] = v.detach().clone()
        with open(os.path.join(d, "config.json"), "w") as f:
            json.dump(dict(cfg, architectures=[arch]), f, indent=2, sort_keys=True)
            f.write("\n")
        save(sd, os.path.join(d, "model.safetensors"), {"format": "pt"})
        for SDPA, file in ((False, "expected.safetensors"), (True, "expected_sdpa.safetensors")):
            save(run(model, ids, mask, labels), os.path.join(d, file))


if __name__ == "__main__":
    main()
