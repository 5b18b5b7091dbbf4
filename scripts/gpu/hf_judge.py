"""Hugging Face's own Trainer as the judge: the run of scripts/golden/hf_trainer_rng.py (MRPC, the
encoder-only tiny-bert-cased with dropout 0.1, shuffling, accumulation 2 with a short last group,
evaluation each epoch) through transformers' Trainer on this machine, on --device.

Writes the checkpoint both sides load (--ckpt) and, for each run of --runs (device and gradient
accumulation steps), a JSON file with the arguments as transformers resolved them, the log
history, and the versions. bench/hf_judge.ts then runs finetune-ts with the same arguments and
prints both histories side by side.

Needs transformers, torch, safetensors and pyarrow (the GPU machine has them; datasets is not needed:
the rows come from the parquet files of the HF cache under --shared).

  python3 scripts/gpu/hf_judge.py --shared ../shared/data --runs cpu:1,cpu:2,cuda:1 --ckpt /tmp/encoder --out-dir OUT
"""
import argparse
import glob
import json
import os
import tempfile
import time

import pyarrow.parquet as pq
import torch
import transformers
from safetensors.torch import load_file, save_file
from transformers import (AutoModelForSequenceClassification, AutoTokenizer, DataCollatorWithPadding, Trainer,
                          TrainingArguments)

HERE = os.path.dirname(os.path.abspath(__file__))
FIXTURE = os.path.join(HERE, "..", "..", "test", "fixtures", "golden", "trainer", "tiny-bert-cased")
SETUP = dict(n_train=325, n_eval=64, batch=8, eval_batch=8, gradient_accumulation_steps=2, epochs=2, learning_rate=5e-4,
             weight_decay=0.01, warmup_steps=0.1, max_grad_norm=1.0, model_seed=7, seed=42, num_labels=2)


def write_encoder_only(ckpt):
    """tiny-bert-cased without its classifier, with dropout 0.1: a base checkpoint, as bert-base-cased is."""
    os.makedirs(ckpt, exist_ok=True)
    weights = {k: v for k, v in load_file(os.path.join(FIXTURE, "model.safetensors")).items() if not k.startswith("classifier.")}
    save_file(weights, os.path.join(ckpt, "model.safetensors"), metadata={"format": "pt"})
    with open(os.path.join(FIXTURE, "config.json")) as f:
        config = json.load(f)
    config.update(hidden_dropout_prob=0.1, attention_probs_dropout_prob=0.1)
    with open(os.path.join(ckpt, "config.json"), "w") as f:
        json.dump(config, f, indent=2)


def mrpc(shared, split, n=None):
    """The first n rows (all: None) of an MRPC split, from the parquet file of the HF cache under shared."""
    files = glob.glob(os.path.join(shared, "hf-home", "hub", "datasets--nyu-mll--glue", "snapshots", "*", "mrpc", f"{split}-*.parquet"))
    if not files:
        raise SystemExit(f"no MRPC {split} parquet under {shared}/hf-home")
    table = pq.read_table(files[0])
    return (table if n is None else table.slice(0, n)).to_pylist()


class Rows(torch.utils.data.Dataset):
    def __init__(self, rows):
        self.rows = rows

    def __len__(self):
        return len(self.rows)

    def __getitem__(self, i):
        return self.rows[i]


def encode(tokenizer, rows):
    """The pairs tokenized as the course does (truncation, no padding), each with its label."""
    enc = tokenizer([r["sentence1"] for r in rows], [r["sentence2"] for r in rows], truncation=True)
    return [{**{k: enc[k][i] for k in enc.keys()}, "labels": r["label"]} for i, r in enumerate(rows)]


def run(shared, device, ga, ckpt, out):
    started = time.time()
    s = dict(SETUP, gradient_accumulation_steps=ga)
    tokenizer = AutoTokenizer.from_pretrained(os.path.join(shared, "models", "bert-base-cased"))
    train = Rows(encode(tokenizer, mrpc(shared, "train", s["n_train"])))
    val = Rows(encode(tokenizer, mrpc(shared, "validation", s["n_eval"])))
    torch.manual_seed(s["model_seed"])
    model = AutoModelForSequenceClassification.from_pretrained(ckpt, num_labels=s["num_labels"], attn_implementation="eager")
    args = TrainingArguments(
        output_dir=tempfile.mkdtemp(prefix="hf-judge-"), seed=s["seed"], num_train_epochs=s["epochs"],
        per_device_train_batch_size=s["batch"], per_device_eval_batch_size=s["eval_batch"],
        gradient_accumulation_steps=s["gradient_accumulation_steps"], learning_rate=s["learning_rate"],
        weight_decay=s["weight_decay"], warmup_steps=s["warmup_steps"], max_grad_norm=s["max_grad_norm"], logging_steps=1,
        eval_strategy="epoch", save_strategy="no", report_to="none", disable_tqdm=True, use_cpu=device == "cpu",
        dataloader_num_workers=0,
    )
    trainer = Trainer(model=model, args=args, train_dataset=train, eval_dataset=val, processing_class=tokenizer,
                      data_collator=DataCollatorWithPadding(tokenizer))
    result = trainer.train()
    inner = getattr(trainer.optimizer, "optimizer", trainer.optimizer)
    with open(out, "w") as f:
        json.dump({
            **s, "device": device, "optim": str(getattr(args.optim, "value", args.optim)), "optimizer": type(inner).__name__,
            "optimizer_defaults": {k: v for k, v in inner.defaults.items() if isinstance(v, (int, float, bool, str, type(None)))},
            # transformers divides the loss by the accumulation steps only for models that take no loss kwargs.
            "model_accepts_loss_kwargs": bool(getattr(trainer, "model_accepts_loss_kwargs", False)),
            "torch_threads": torch.get_num_threads(), "max_steps": trainer.state.max_steps, "global_step": result.global_step,
            "train_loss": result.training_loss, "log_history": trainer.state.log_history, "ckpt": ckpt,
            "torch": torch.__version__, "transformers": transformers.__version__, "seconds": time.time() - started,
        }, f, indent=1)
    print(f"{out}: {device}, accumulation {ga}, {result.global_step} steps in {time.time() - started:.1f} s")


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--shared", required=True)
    p.add_argument("--runs", default="cpu:1", help="device:accumulation_steps, comma-separated (cpu:1,cpu:2,cuda:1)")
    p.add_argument("--ckpt", required=True, help="where to write the encoder-only checkpoint both sides load")
    p.add_argument("--out-dir", required=True, help="writes hf_<device>_ga<N>.json there")
    a = p.parse_args()
    write_encoder_only(a.ckpt)
    for spec in a.runs.split(","):
        device, ga = spec.split(":")
        if device == "cuda" and not torch.cuda.is_available():
            raise SystemExit("--runs asks for cuda, but torch sees no GPU")
        run(a.shared, device, int(ga), a.ckpt, os.path.join(a.out_dir, f"hf_{device}_ga{ga}.json"))


if __name__ == "__main__":
    main()
