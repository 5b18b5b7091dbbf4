"""Golden fixtures for the tensor engine: a tiny 2-layer transformer encoder in plain PyTorch.

Run with Debian's python3-torch:  /usr/bin/python3 scripts/golden/tiny_encoder.py
Writes test/fixtures/golden/tiny_encoder/: the weights, a padded batch, the logits, the loss, the
gradient of every parameter, and the losses and parameters after 20 AdamW steps with linear
warmup/decay (Hugging Face's formula) and gradient clipping. The TypeScript model in
examples/tiny_encoder.ts uses the same parameter names.
"""
import json
import math
import os
import sys

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(__file__))
from safetensors_io import save  # noqa: E402

OUT = os.path.join(os.path.dirname(__file__), "..", "..", "test", "fixtures", "golden", "tiny_encoder")
CONFIG = dict(vocab_size=50, hidden_size=16, num_layers=2, num_heads=2, intermediate_size=32,
              max_positions=12, num_labels=3, layer_norm_eps=1e-12, pad_token_id=0)


class Layer(torch.nn.Module):
    def __init__(self, c):
        super().__init__()
        h, i = c["hidden_size"], c["intermediate_size"]
        self.heads = c["num_heads"]
        self.query = torch.nn.Linear(h, h)
        self.key = torch.nn.Linear(h, h)
        self.value = torch.nn.Linear(h, h)
        self.attention_output = torch.nn.Linear(h, h)
        self.attention_norm = torch.nn.LayerNorm(h, eps=c["layer_norm_eps"])
        self.intermediate = torch.nn.Linear(h, i)
        self.output = torch.nn.Linear(i, h)
        self.output_norm = torch.nn.LayerNorm(h, eps=c["layer_norm_eps"])

    def split(self, x):
        b, l, h = x.shape
        return x.view(b, l, self.heads, h // self.heads).permute(0, 2, 1, 3)

    def forward(self, x, additive_mask):
        q, k, v = self.split(self.query(x)), self.split(self.key(x)), self.split(self.value(x))
        scores = q @ k.transpose(-2, -1) / math.sqrt(q.shape[-1]) + additive_mask
        ctx = scores.softmax(-1) @ v
        b, _, l, _ = ctx.shape
        ctx = ctx.permute(0, 2, 1, 3).reshape(b, l, -1)
        x = self.attention_norm(self.attention_output(ctx) + x)
        return self.output_norm(self.output(F.gelu(self.intermediate(x))) + x)


class TinyEncoder(torch.nn.Module):
    def __init__(self, c):
        super().__init__()
        self.word_embeddings = torch.nn.Embedding(c["vocab_size"], c["hidden_size"], padding_idx=c["pad_token_id"])
        self.position_embeddings = torch.nn.Embedding(c["max_positions"], c["hidden_size"])
        self.embeddings_norm = torch.nn.LayerNorm(c["hidden_size"], eps=c["layer_norm_eps"])
        self.layers = torch.nn.ModuleList([Layer(c) for _ in range(c["num_layers"])])
        self.classifier = torch.nn.Linear(c["hidden_size"], c["num_labels"])

    def forward(self, input_ids, attention_mask, labels):
        pos = torch.arange(input_ids.shape[1]).unsqueeze(0)
        x = self.embeddings_norm(self.word_embeddings(input_ids) + self.position_embeddings(pos))
        additive = (1.0 - attention_mask[:, None, None, :].float()) * torch.finfo(torch.float32).min
        for layer in self.layers:
            x = layer(x, additive)
        logits = self.classifier(x[:, 0])
        return logits, F.cross_entropy(logits, labels)


def linear_with_warmup(warmup, total):
    return lambda s: s / max(1, warmup) if s < warmup else max(0.0, (total - s) / max(1, total - warmup))


def main():
    os.makedirs(OUT, exist_ok=True)
    torch.manual_seed(0)
    model = TinyEncoder(CONFIG)
    with torch.no_grad():  # larger weights than the default init make the gradients less uniform
        for name, p in model.named_parameters():
            if name.endswith("bias") and "norm" not in name:
                p.normal_(0, 0.1)
    model.eval()
    save({k: v for k, v in model.state_dict().items()}, os.path.join(OUT, "weights.safetensors"), {"format": "pt"})

    input_ids = torch.tensor([[1, 7, 12, 33, 4, 9, 2, 0], [1, 5, 5, 48, 2, 0, 0, 0], [1, 21, 17, 30, 11, 6, 49, 2]])
    attention_mask = (input_ids != 0).long()
    labels = torch.tensor([2, 0, 1])
    save({"input_ids": input_ids, "attention_mask": attention_mask, "labels": labels}, os.path.join(OUT, "inputs.safetensors"))

    logits, loss = model(input_ids, attention_mask, labels)
    loss.backward()
    expected = {"logits": logits.detach(), "loss": loss.detach().reshape(1)}
    for name, p in model.named_parameters():
        expected["grad." + name] = p.grad.detach().clone()
    save(expected, os.path.join(OUT, "forward_backward.safetensors"))

    # 20 AdamW steps: no weight decay on biases and LayerNorm weights (HF's grouping), linear
    # warmup over 5 steps then decay to 0 at step 20, gradients clipped to norm 1.0.
    decay = [p for n, p in model.named_parameters() if not (n.endswith("bias") or "norm" in n)]
    no_decay = [p for n, p in model.named_parameters() if n.endswith("bias") or "norm" in n]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": 0.01}, {"params": no_decay, "weight_decay": 0.0}],
                            lr=5e-3, betas=(0.9, 0.999), eps=1e-8)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, linear_with_warmup(5, 20))
    losses, norms, lrs = [], [], []
    for _ in range(20):
        opt.zero_grad(set_to_none=True)
        _, loss = model(input_ids, attention_mask, labels)
        loss.backward()
        norms.append(float(torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)))
        lrs.append(sched.get_last_lr()[0])
        opt.step()
        sched.step()
        losses.append(float(loss))
    trained = {name: p.detach().clone() for name, p in model.named_parameters()}
    save(trained, os.path.join(OUT, "after_adamw.safetensors"))
    with open(os.path.join(OUT, "meta.json"), "w") as f:
        json.dump({"config": CONFIG, "torch_version": torch.__version__, "losses": losses, "grad_norms": norms, "lrs": lrs}, f, indent=1)
        f.write("\n")


if __name__ == "__main__":
    main()
