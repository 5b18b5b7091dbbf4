"""Golden fixture for the Trainer: the course's loop in plain PyTorch on MRPC with a tiny random BERT.

The same steps the Trainer takes: batches of 8 from torch.randperm under seed 42 + epoch, padded to the
longest, dropout 0, AdamW (lr 1e-3, weight decay 0.01 except biases and LayerNorm weights), linear
schedule with 10% warmup, gradient clipping at 1.0, 3 epochs over the first 800 training pairs (300
steps), evaluation loss on the first 104 validation pairs after each epoch. Tokenized with the
independent reference tokenizer (same ids as the tokenizer under test, proved in tokenizer.test.ts)
from GLUE's TSVs, whose rows equal the HF parquet files'.

Run with Debian's python3-torch:  /usr/bin/python3 scripts/golden/trainer_mrpc.py ../shared/data

On a GPU (scripts/gpu-check.sh):  python3 scripts/golden/trainer_mrpc.py ../shared/data --device cuda --out FILE
runs the same loop on that device from the committed checkpoint (TF32 off) and writes FILE instead
of the fixtures: test/cuda.test.ts compares the Trainer on the same GPU with it.
"""
import argparse
import json
import math
import os
import sys

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(__file__))
from bert_family import BertForSequenceClassification, init_weights  # noqa: E402
from bert_reference_tokenizer import Reference  # noqa: E402
from safetensors_io import load, save  # noqa: E402

SHARED = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "..", "..", "..", "shared", "data")
OUT = os.path.join(os.path.dirname(__file__), "..", "..", "test", "fixtures", "golden", "trainer")
N_TRAIN, N_EVAL, EPOCHS, BATCH, LR, WD, WARMUP_RATIO = 800, 104, 3, 8, 1e-3, 0.01, 0.1
CONFIG = dict(model_type="bert", architectures=["BertForSequenceClassification"], vocab_size=28996, hidden_size=8, num_hidden_layers=2,
              num_attention_heads=2, intermediate_size=16, hidden_act="gelu", hidden_dropout_prob=0.0, attention_probs_dropout_prob=0.0,
              max_position_embeddings=512, type_vocab_size=2, initializer_range=0.02, layer_norm_eps=1e-12, pad_token_id=0,
              id2label={"0": "LABEL_0", "1": "LABEL_1"}, label2id={"LABEL_0": 0, "LABEL_1": 1}, torch_dtype="float32")


def rows(path, n):
    with open(path, encoding="utf-8-sig") as f:
        lines = f.read().split("\n")[1:]
    out = []
    for line in lines[:n]:
        q, _, _, s1, s2 = line.split("\t")
        out.append((s1, s2, int(q)))
    return out


def encode(ref, data):
    return [(ref.encode(s1, s2, "longest_first", 512), label) for s1, s2, label in data]


DEVICE = "cpu"


def collate(items):
    width = max(len(e["input_ids"]) for e, _ in items)
    pad = lambda xs: xs + [0] * (width - len(xs))  # noqa: E731
    t = lambda rows: torch.tensor(rows, device=DEVICE)  # noqa: E731
    return (t([pad(e["input_ids"]) for e, _ in items]), t([pad(e["attention_mask"]) for e, _ in items]),
            t([pad(e["token_type_ids"]) for e, _ in items]), t([label for _, label in items]))


def adamw_linear(model, lr, weight_decay, warmup, total):
    """HF's default optimizer and schedule: AdamW without decay for biases and LayerNorm weights
    (trainer.py, get_decay_parameter_names) and get_linear_schedule_with_warmup (optimization.py)."""
    norm_params = {id(p) for m in model.modules() if isinstance(m, torch.nn.LayerNorm) for p in m.parameters()}
    named = list(model.named_parameters())
    decay = [p for n, p in named if not (n.endswith("bias") or id(p) in norm_params)]
    no_decay = [p for n, p in named if n.endswith("bias") or id(p) in norm_params]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": weight_decay}, {"params": no_decay, "weight_decay": 0.0}], lr=lr, betas=(0.9, 0.999), eps=1e-8)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: s / max(1, warmup) if s < warmup else max(0.0, (total - s) / max(1, total - warmup)))
    return opt, sched


def eval_loss(model, val, batch_size):
    """The loss over `val` in eval mode, the mean over samples (HF's evaluation_loop gathers
    loss.repeat(batch_size) and averages); the model is back in train mode afterwards."""
    model.eval()
    with torch.no_grad():
        total = 0.0
        for s in range(0, len(val), batch_size):
            batch = val[s:s + batch_size]
            ids, mask, types, labels = collate(batch)
            total += float(model(ids, mask, types, labels)[1]) * len(batch)
    model.train()
    return total / len(val)


def main():
    global DEVICE
    parser = argparse.ArgumentParser()
    parser.add_argument("shared", nargs="?", default=SHARED)
    parser.add_argument("--device", default=None, help="run from the committed checkpoint on this device, write --out")
    parser.add_argument("--out", default=None)
    cli = parser.parse_args()
    ref = Reference(os.path.join(cli.shared, "models", "bert-base-cased", "vocab.txt"), lowercase=False)
    train = encode(ref, rows(os.path.join(cli.shared, "glue", "MRPC", "train.tsv"), N_TRAIN))
    val = encode(ref, rows(os.path.join(cli.shared, "glue", "MRPC", "dev.tsv"), N_EVAL))
    ckpt = os.path.join(OUT, "tiny-bert-cased")
    if cli.device:
        DEVICE = cli.device
        torch.backends.cuda.matmul.allow_tf32 = False
        torch.backends.cudnn.allow_tf32 = False
        model = BertForSequenceClassification(dict(CONFIG, num_labels=2))
        model.load_state_dict(load(os.path.join(ckpt, "model.safetensors")))
        model.to(DEVICE)
    else:
        os.makedirs(OUT, exist_ok=True)
        torch.manual_seed(0)
        model = BertForSequenceClassification(dict(CONFIG, num_labels=2))
        init_weights(model, 0.02)
        os.makedirs(ckpt, exist_ok=True)
        save(dict(model.state_dict()), os.path.join(ckpt, "model.safetensors"), {"format": "pt"})
        with open(os.path.join(ckpt, "config.json"), "w") as f:
            json.dump(CONFIG, f, indent=2, sort_keys=True)
            f.write("\n")

    steps_per_epoch = math.ceil(N_TRAIN / BATCH)
    total = steps_per_epoch * EPOCHS
    warmup = math.ceil(total * WARMUP_RATIO)
    opt, sched = adamw_linear(model, LR, WD, warmup, total)
    losses, norms, lrs, eval_losses = [], [], [], []
    model.train()
    for epoch in range(EPOCHS):
        g = torch.Generator()
        g.manual_seed(42 + epoch)
        perm = torch.randperm(N_TRAIN, generator=g).tolist()
        for s in range(0, N_TRAIN, BATCH):
            ids, mask, types, labels = collate([train[i] for i in perm[s:s + BATCH]])
            _, loss = model(ids, mask, types, labels)
            loss.backward()
            norms.append(float(torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)))
            opt.step()
            # HF logs the learning rate the step used, read before the schedule moves on.
            lrs.append(sched.get_last_lr()[0])
            sched.step()
            opt.zero_grad(set_to_none=True)
            losses.append(float(loss))
        eval_losses.append(eval_loss(model, val, BATCH))
    with open(cli.out or os.path.join(OUT, "mrpc_losses.json"), "w") as f:
        json.dump({**({"device": DEVICE} if cli.device else {}), "n_train": N_TRAIN, "n_eval": N_EVAL, "epochs": EPOCHS, "batch": BATCH, "learning_rate": LR, "weight_decay": WD,
                   "warmup_ratio": WARMUP_RATIO, "losses": losses, "grad_norms": norms, "learning_rates": lrs, "eval_losses": eval_losses}, f)
        f.write("\n")


if __name__ == "__main__":
    main()
