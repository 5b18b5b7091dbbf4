"""Golden fixtures for ModernBERT: tiny random models in plain PyTorch (Debian's python3-torch 1.13)
written from transformers 5's modeling_modernbert.py (eager attention path), saved as Hugging Face
folders, with their logits, loss and every parameter's gradient.

The lines followed (modeling_modernbert.py / configuration_modernbert.py):
  ModernBertEmbeddings: self.drop(self.norm(self.tok_embeddings(input_ids)))   (norm: LayerNorm(eps=norm_eps, bias=norm_bias))
  ModernBertRotaryEmbedding (default): inv_freq = 1.0 / (base ** (torch.arange(0, dim, 2, dtype=torch.int64).float() / dim))
      freqs = (inv_freq[None, :, None] @ position_ids[:, None, :].float()).transpose(1, 2); emb = cat((freqs, freqs), -1); cos, sin
      base = rope_parameters[layer_type]["rope_theta"] (old configs: global_rope_theta / local_rope_theta; defaults 160000 / 10000)
  layer_types: "sliding_attention" if i % global_attn_every_n_layers else "full_attention"
  ModernBertAttention: Wqkv (bias=attention_bias) → view(bs, L, 3, heads, hd); local when layer_id % global_attn_every_n_layers != 0
  eager_attention_forward: query, key, value = qkv.transpose(3, 1).unbind(dim=2); apply_rotary_pos_emb (q*cos + rotate_half(q)*sin)
      attn_weights = q @ k^T * head_dim**-0.5 + (sliding_window_mask if local else attention_mask)
      softmax(dim=-1, dtype=float32) → dropout → @ v → transpose(1, 2) → view(bs, -1, dim); Wo; out_drop
  _update_attention_mask: global = _prepare_4d_attention_mask(mask) (finfo.min where padding);
      sliding = global.masked_fill(|i - j| > local_attention // 2, finfo.min)
  ModernBertEncoderLayer: attn_norm = Identity for layer 0; h = x + attn(attn_norm(x)); h = h + mlp(mlp_norm(h))
  ModernBertMLP: input, gate = Wi(x).chunk(2, -1); Wo(drop(act(input) * gate))
  ModernBertModel: final_norm after the layers
  ModernBertPredictionHead: norm(act(dense(x)))  (dense bias=classifier_bias, act=classifier_activation)
  ForMaskedLM: decoder(head(h)), decoder tied to tok_embeddings, bias=decoder_bias; loss ForMaskedLMLoss (logits.float(), CE -100)
  ForSequenceClassification: cls → h[:, 0]; mean → (h * mask[..., None]).sum(1) / mask.sum(1, keepdim=True); classifier(drop(head(pooled)))
  ForTokenClassification / ForQuestionAnswering: classifier(drop(head(h))); QA: split, squeeze, clamp/ignored-index CE averaged

Run:  /usr/bin/python3 scripts/golden/modernbert.py
  sdpa (expected_sdpa.safetensors): transformers hands torch's SDPA a boolean mask, and from torch 2.5 on torch gives 0
      for a query row with every key masked (a padded query whose window holds only padding): the same attention with
      those rows' probabilities zeroed.
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

OUT = os.path.join(os.path.dirname(__file__), "..", "..", "test", "fixtures", "golden", "modernbert")

BASE = dict(model_type="modernbert", vocab_size=99, hidden_size=32, intermediate_size=24, num_hidden_layers=4, num_attention_heads=4,
            hidden_activation="gelu", max_position_embeddings=64, initializer_range=0.02, initializer_cutoff_factor=2.0, norm_eps=1e-5,
            norm_bias=False, pad_token_id=0, bos_token_id=2, eos_token_id=3, cls_token_id=2, sep_token_id=3, attention_bias=False,
            attention_dropout=0.0, local_attention=4, embedding_dropout=0.0, mlp_bias=False, mlp_dropout=0.0, decoder_bias=True,
            classifier_pooling="cls", classifier_dropout=0.0, classifier_bias=False, classifier_activation="gelu", global_attn_every_n_layers=3,
            tie_word_embeddings=True, transformers_version="5.0.0")


def thetas(c):
    rp = c.get("rope_parameters") or {}
    return {"full_attention": (rp.get("full_attention") or {}).get("rope_theta", c.get("global_rope_theta", 160000.0)),
            "sliding_attention": (rp.get("sliding_attention") or {}).get("rope_theta", c.get("local_rope_theta", 10000.0))}


class Norm(nn.Module):
    """LayerNorm with bias=norm_bias (torch 1.13's nn.LayerNorm has no bias=False)."""

    def __init__(self, c):
        super().__init__()
        self.eps = c["norm_eps"]
        self.weight = nn.Parameter(torch.ones(c["hidden_size"]))
        self.bias = nn.Parameter(torch.zeros(c["hidden_size"])) if c["norm_bias"] else None

    def forward(self, x):
        return F.layer_norm(x, (x.shape[-1],), self.weight, self.bias, self.eps)


class Embeddings(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.tok_embeddings = nn.Embedding(c["vocab_size"], c["hidden_size"], padding_idx=c["pad_token_id"])
        self.norm = Norm(c)

    def forward(self, ids):
        return self.norm(self.tok_embeddings(ids))


SDPA = False  # True: the numbers of attn_implementation="sdpa" on torch >= 2.5


def rotate_half(x):
    h = x.shape[-1] // 2
    return torch.cat((-x[..., h:], x[..., :h]), dim=-1)


class Attention(nn.Module):
    def __init__(self, c, layer_id):
        super().__init__()
        self.heads, self.hd = c["num_attention_heads"], c["hidden_size"] // c["num_attention_heads"]
        self.Wqkv = nn.Linear(c["hidden_size"], 3 * c["hidden_size"], bias=c["attention_bias"])
        self.Wo = nn.Linear(c["hidden_size"], c["hidden_size"], bias=c["attention_bias"])
        self.local = layer_id % c["global_attn_every_n_layers"] != 0

    def forward(self, x, cos, sin, global_mask, sliding_mask):
        bs, L, d = x.shape
        qkv = self.Wqkv(x).view(bs, -1, 3, self.heads, self.hd)
        q, k, v = qkv.transpose(3, 1).unbind(dim=2)
        cos, sin = cos.unsqueeze(1), sin.unsqueeze(1)
        q, k = q * cos + rotate_half(q) * sin, k * cos + rotate_half(k) * sin
        w = torch.matmul(q, k.transpose(2, 3)) * self.hd ** -0.5
        mask = sliding_mask if self.local else global_mask
        w = F.softmax(w + mask, dim=-1, dtype=torch.float32)
        if SDPA:
            w = w.masked_fill((mask == torch.finfo(torch.float32).min).all(-1, keepdim=True), 0.0)
        w = w.to(q.dtype)
        out = torch.matmul(w, v).transpose(1, 2).contiguous().view(bs, -1, d)
        return self.Wo(out)


class MLP(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.Wi = nn.Linear(c["hidden_size"], 2 * c["intermediate_size"], bias=c["mlp_bias"])
        self.Wo = nn.Linear(c["intermediate_size"], c["hidden_size"], bias=c["mlp_bias"])

    def forward(self, x):
        inp, gate = self.Wi(x).chunk(2, dim=-1)
        return self.Wo(F.gelu(inp) * gate)


class Layer(nn.Module):
    def __init__(self, c, i):
        super().__init__()
        self.attn_norm = nn.Identity() if i == 0 else Norm(c)
        self.attn = Attention(c, i)
        self.mlp_norm = Norm(c)
        self.mlp = MLP(c)
        self.type = "sliding_attention" if i % c["global_attn_every_n_layers"] else "full_attention"

    def forward(self, x, rope, gm, sm):
        x = x + self.attn(self.attn_norm(x), *rope[self.type], gm, sm)
        return x + self.mlp(self.mlp_norm(x))


class Model(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.c = c
        self.embeddings = Embeddings(c)
        self.layers = nn.ModuleList([Layer(c, i) for i in range(c["num_hidden_layers"])])
        self.final_norm = Norm(c)

    def forward(self, ids, mask):
        bs, L = ids.shape
        hd = self.c["hidden_size"] // self.c["num_attention_heads"]
        pos = torch.arange(L).unsqueeze(0)
        rope = {}
        for t, base in thetas(self.c).items():
            inv = 1.0 / (base ** (torch.arange(0, hd, 2, dtype=torch.int64).float() / hd))
            freqs = (inv[None, :, None].float().expand(1, -1, 1) @ pos[:, None, :].float()).transpose(1, 2)
            emb = torch.cat((freqs, freqs), dim=-1)
            rope[t] = (emb.cos(), emb.sin())
        dtype = torch.float32
        expanded = mask[:, None, None, :].expand(bs, 1, L, L).to(dtype)
        inverted = 1.0 - expanded
        gm = inverted.masked_fill(inverted.to(torch.bool), torch.finfo(dtype).min)
        rows = torch.arange(L).unsqueeze(0)
        window = (torch.abs(rows - rows.T) <= self.c["local_attention"] // 2).unsqueeze(0).unsqueeze(0)
        sm = gm.masked_fill(window.logical_not(), torch.finfo(dtype).min)
        x = self.embeddings(ids)
        for layer in self.layers:
            x = layer(x, rope, gm, sm)
        return self.final_norm(x)


class Head(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.dense = nn.Linear(c["hidden_size"], c["hidden_size"], bias=c["classifier_bias"])
        self.norm = Norm(c)

    def forward(self, x):
        return self.norm(F.gelu(self.dense(x)))


class ForMaskedLM(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.model, self.head = Model(c), Head(c)
        self.decoder = nn.Linear(c["hidden_size"], c["vocab_size"], bias=c["decoder_bias"])
        self.decoder.weight = self.model.embeddings.tok_embeddings.weight

    def forward(self, ids, mask, labels, starts, ends):
        logits = self.decoder(self.head(self.model(ids, mask)))
        return logits, F.cross_entropy(logits.float().view(-1, logits.shape[-1]), labels.view(-1), ignore_index=-100)


class WithClassifier(nn.Module):
    def __init__(self, c, n):
        super().__init__()
        self.c = c
        self.model, self.head = Model(c), Head(c)
        self.classifier = nn.Linear(c["hidden_size"], n)


class ForSequenceClassification(WithClassifier):
    def __init__(self, c):
        super().__init__(c, c["num_labels"])

    def forward(self, ids, mask, labels, starts, ends):
        h = self.model(ids, mask)
        if self.c["classifier_pooling"] == "cls":
            pooled = h[:, 0]
        else:
            pooled = (h * mask.unsqueeze(-1)).sum(dim=1) / mask.sum(dim=1, keepdim=True)
        logits = self.classifier(self.head(pooled))
        return logits, F.cross_entropy(logits.view(-1, self.c["num_labels"]), labels.view(-1))


class ForTokenClassification(WithClassifier):
    def __init__(self, c):
        super().__init__(c, c["num_labels"])

    def forward(self, ids, mask, labels, starts, ends):
        logits = self.classifier(self.head(self.model(ids, mask)))
        return logits, F.cross_entropy(logits.view(-1, self.c["num_labels"]), labels.view(-1))


class ForQuestionAnswering(WithClassifier):
    def __init__(self, c):
        super().__init__(c, 2)

    def forward(self, ids, mask, labels, starts, ends):
        logits = self.classifier(self.head(self.model(ids, mask)))
        s, e = (t.squeeze(-1).contiguous() for t in logits.split(1, dim=-1))
        ignored = s.size(1)
        loss = (F.cross_entropy(s, starts.clamp(0, ignored), ignore_index=ignored) + F.cross_entropy(e, ends.clamp(0, ignored), ignore_index=ignored)) / 2
        return torch.stack([s, e]), loss


def init(model):
    for n, p in model.named_parameters():
        with torch.no_grad():
            if n.endswith("norm.weight"):
                p.normal_(1.0, 0.1)
            else:
                p.normal_(0.0, 0.2)


def write(name, cls, config, arch, args):
    d = os.path.join(OUT, name)
    os.makedirs(d, exist_ok=True)
    torch.manual_seed(0)
    model = cls(config)
    init(model)
    seen, sd = set(), {}
    for k, v in model.state_dict(keep_vars=True).items():
        if id(v) not in seen:
            seen.add(id(v))
            sd[k] = v.detach().clone()
    cfg = {k: v for k, v in config.items() if k != "num_labels"}
    cfg["architectures"] = [arch]
    if "num_labels" in config:
        cfg["id2label"] = {str(i): f"LABEL_{i}" for i in range(config["num_labels"])}
        cfg["label2id"] = {f"LABEL_{i}": i for i in range(config["num_labels"])}
    with open(os.path.join(d, "config.json"), "w") as f:
        json.dump(cfg, f, indent=2, sort_keys=True)
        f.write("\n")
    save(sd, os.path.join(d, "model.safetensors"), {"format": "pt"})
    global SDPA
    for SDPA, file in ((False, "expected.safetensors"), (True, "expected_sdpa.safetensors")):
        model.zero_grad(set_to_none=True)
        logits, loss = model(*args)
        loss.backward()
        expected = {"logits": logits.detach(), "loss": loss.detach().reshape(1)}
        for n, p in model.named_parameters():
            expected[f"grad.{n}"] = p.grad.detach().clone()
        save(expected, os.path.join(d, file))


def main():
    os.makedirs(OUT, exist_ok=True)
    ids = torch.tensor([[2, 45, 17, 8, 93, 21, 33, 61, 72, 14, 55, 3], [2, 11, 56, 70, 64, 5, 3, 0, 0, 0, 0, 0], [2, 7, 9, 3, 0, 0, 0, 0, 0, 0, 0, 0]])
    mask = (ids != 0).long()
    seq_labels = torch.tensor([2, 0, 1])
    tok_labels = torch.where(mask.bool(), ids % 3, torch.full_like(ids, -100))
    mlm_labels = torch.full_like(ids, -100)
    mlm_labels[0, 3], mlm_labels[0, 9], mlm_labels[1, 2], mlm_labels[2, 2] = 8, 14, 56, 9
    starts, ends = torch.tensor([3, 2, 0]), torch.tensor([6, 20, 0])
    save({"input_ids": ids, "attention_mask": mask, "seq_labels": seq_labels, "tok_labels": tok_labels, "mlm_labels": mlm_labels,
          "start_positions": starts, "end_positions": ends}, os.path.join(OUT, "inputs.safetensors"))
    old_keys = dict(BASE, global_rope_theta=1000.0, local_rope_theta=100.0)
    new_keys = dict(BASE, rope_parameters={"full_attention": {"rope_type": "default", "rope_theta": 1000.0},
                                           "sliding_attention": {"rope_type": "default", "rope_theta": 100.0}},
                    layer_types=["full_attention", "sliding_attention", "sliding_attention", "full_attention"])
    write("mlm", ForMaskedLM, old_keys, "ModernBertForMaskedLM", (ids, mask, mlm_labels, starts, ends))
    write("seqcls-cls", ForSequenceClassification, dict(new_keys, num_labels=3), "ModernBertForSequenceClassification",
          (ids, mask, seq_labels, starts, ends))
    write("seqcls-mean", ForSequenceClassification, dict(old_keys, num_labels=3, classifier_pooling="mean", norm_bias=True, mlp_bias=True,
                                                         attention_bias=True, classifier_bias=True),
          "ModernBertForSequenceClassification", (ids, mask, seq_labels, starts, ends))
    write("tokcls", ForTokenClassification, dict(new_keys, num_labels=3), "ModernBertForTokenClassification", (ids, mask, tok_labels, starts, ends))
    write("qa", ForQuestionAnswering, dict(BASE, num_labels=2), "ModernBertForQuestionAnswering", (ids, mask, None, starts, ends))


if __name__ == "__main__":
    main()
