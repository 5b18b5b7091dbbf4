"""Hugging Face's side of bench/trainer.ts: the course's chapter 3 run as a new user writes it —
load_dataset("glue", "mrpc"), the tokenizer mapped over it (batched, truncation), DataCollatorWithPadding,
transformers' Trainer with its defaults (AdamW, linear schedule, clipping at 1.0, dropout, attention
as transformers picks it) — on a seeded random BERT of the bench's shape, timed from the first step.

Usage: PYTHON_WITH_TRANSFORMERS bench/trainer_hf.py SHARED_DATA SIZE(tiny|mini|base) STEPS THREADS PRECISION(fp32|bf16) BATCH
Prints one JSON line (samples/s, first step ms, peak RSS, the versions).
"""
import glob
import json
import math
import os
import resource
import sys
import tempfile
import time

shared, size, steps, threads, precision, batch = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), sys.argv[5], int(sys.argv[6])
# Hermetic: the bench's data only, whatever the caller's shell has.
os.environ.update(HF_HOME=os.path.join(shared, "hf-home"), HF_HUB_OFFLINE="1", HF_DATASETS_CACHE=tempfile.mkdtemp(prefix="bench-hf-"),
                  TRANSFORMERS_VERBOSITY="error", HF_DATASETS_DISABLE_PROGRESS_BARS="1")

import torch  # noqa: E402
import transformers  # noqa: E402
from datasets import load_dataset  # noqa: E402
from transformers import (AutoTokenizer, BertConfig, BertForSequenceClassification, DataCollatorWithPadding, Trainer,  # noqa: E402
                          TrainerCallback, TrainingArguments)

torch.set_num_threads(threads)
SIZES = {"tiny": dict(hidden_size=128, num_hidden_layers=2, num_attention_heads=2, intermediate_size=512),
         "mini": dict(hidden_size=256, num_hidden_layers=4, num_attention_heads=4, intermediate_size=1024),
         "base": dict(hidden_size=768, num_hidden_layers=12, num_attention_heads=12, intermediate_size=3072)}

# load_dataset("glue", "mrpc") asks the hub which files the config has, which offline it cannot: the
# same parquet file from the hub cache, through the same Arrow-backed Dataset.
parquet = glob.glob(os.path.join(shared, "hf-home", "hub", "datasets--nyu-mll--glue", "snapshots", "*", "mrpc", "train-*.parquet"))
raw = load_dataset("parquet", data_files={"train": parquet}, split="train")
tokenizer = AutoTokenizer.from_pretrained(os.path.join(shared, "models", "bert-base-cased"))
train = raw.map(lambda ex: tokenizer(ex["sentence1"], ex["sentence2"], truncation=True), batched=True)
torch.manual_seed(42)
model = BertForSequenceClassification(BertConfig(vocab_size=28996, num_labels=2, **SIZES[size]))


class Timer(TrainerCallback):
    def __init__(self):
        self.begin, self.ends = 0.0, {}

    def on_train_begin(self, args, state, control, **kwargs):
        self.begin = time.perf_counter()

    def on_step_end(self, args, state, control, **kwargs):
        self.ends[state.global_step] = time.perf_counter()


class TimedCollator(DataCollatorWithPadding):
    seconds = 0.0

    def __call__(self, features):
        t = time.perf_counter()
        try:
            return super().__call__(features)
        finally:
            TimedCollator.seconds += time.perf_counter() - t


timer = Timer()
args = TrainingArguments(output_dir=tempfile.mkdtemp(prefix="bench-hf-out-"), max_steps=steps, per_device_train_batch_size=batch,
                         learning_rate=5e-5, save_strategy="no", logging_strategy="no", report_to="none", disable_tqdm=True,
                         bf16=precision == "bf16", use_cpu=True, seed=42)
trainer = Trainer(model=model, args=args, train_dataset=train, data_collator=TimedCollator(tokenizer),
                  processing_class=tokenizer, callbacks=[timer])
trainer.train()
elapsed = timer.ends[steps] - timer.begin
# The samples of the steps: full batches but for each epoch's last (the remainder).
per_epoch = math.ceil(len(train) / batch)
samples = sum(batch if s % per_epoch < per_epoch - 1 or len(train) % batch == 0 else len(train) % batch for s in range(steps))
print(json.dumps({"samples_per_second": samples / elapsed, "collate_ms_per_step": TimedCollator.seconds * 1000 / steps,
                  "step_ms": elapsed * 1000 / steps, "optim": args.optim, "first_step_ms": (timer.ends[1] - timer.begin) * 1000,
                  "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, "torch_version": torch.__version__,
                  "transformers_version": transformers.__version__, "attn_implementation": model.config._attn_implementation}))
