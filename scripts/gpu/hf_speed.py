"""The GPU speed bench's Python peers (scripts/gpu-check.sh, step "speed"): the course's whole run —
bert-base (bert-base-cased's config, seeded random weights) on MRPC, batch 32, dynamic padding,
evaluation each epoch, fp16 or bf16 — through transformers' Trainer (--impl hf) or a plain PyTorch
loop (--impl loop: DataLoader, torch.optim.AdamW(fused=True), the linear schedule, autocast, a
GradScaler for fp16). Writes the JSON bench/gpu_speed.ts writes for finetune-ts: samples/s after
warm-up (steps 11 on, steps that follow an evaluation left out), total_flos, the train runtime and
the wall time from process start.

  python3 scripts/gpu/hf_speed.py --shared ../shared/data --impl hf --precision bf16 --epochs 3 --out hf_bf16.json
"""
import os
import time

# The wall time counts from the launch (gpu-check.sh passes its time), torch's and transformers'
# imports included, as finetune-ts's counts Node's start and the addon's load.
STARTED = float(os.environ.get("FT_PROCESS_START", time.time()))

import argparse  # noqa: E402
import json  # noqa: E402
import math  # noqa: E402
import tempfile  # noqa: E402

import torch  # noqa: E402
import transformers  # noqa: E402
from transformers import (AutoTokenizer, BertConfig, BertForSequenceClassification, DataCollatorWithPadding, Trainer,  # noqa: E402
                          TrainerCallback, TrainingArguments, get_linear_schedule_with_warmup)

from hf_judge import encode, mrpc  # noqa: E402  (this folder: the same rows and tokenization as the judge)

BATCH, WARMUP_STEPS, LR, SEED = 32, 10, 2e-5, 42


def steady(step_ends, after_eval):
    seconds, steps = 0.0, 0
    for s in range(WARMUP_STEPS + 1, len(step_ends)):
        if s in after_eval or step_ends[s] is None or step_ends[s - 1] is None:
            continue
        seconds += step_ends[s] - step_ends[s - 1]
        steps += 1
    return (steps * BATCH / seconds if steps else None), steps


class Timer(TrainerCallback):
    def __init__(self):
        self.step_ends, self.after_eval = [None], set()

    def on_step_end(self, args, state, control, **kwargs):
        torch.cuda.synchronize()
        self.step_ends.append(time.perf_counter())

    def on_evaluate(self, args, state, control, **kwargs):
        self.after_eval.add(state.global_step + 1)


def run_hf(model, tokenizer, train, val, precision, epochs):
    timer = Timer()
    args = TrainingArguments(output_dir=tempfile.mkdtemp(prefix="speed-"), num_train_epochs=epochs, per_device_train_batch_size=BATCH,
                             per_device_eval_batch_size=BATCH, learning_rate=LR, eval_strategy="epoch", save_strategy="no",
                             logging_strategy="epoch", fp16=precision == "fp16", bf16=precision == "bf16", report_to="none",
                             disable_tqdm=True, seed=SEED, dataloader_num_workers=0)
    trainer = Trainer(model=model, args=args, train_dataset=train, eval_dataset=val, processing_class=tokenizer,
                      data_collator=DataCollatorWithPadding(tokenizer), callbacks=[timer])
    result = trainer.train()
    sps, steps = steady(timer.step_ends, timer.after_eval)
    evals = [e["eval_loss"] for e in trainer.state.log_history if "eval_loss" in e]
    return dict(samples_per_second=sps, timed_steps=steps, global_step=result.global_step, total_flos=result.metrics["total_flos"],
                train_runtime=result.metrics["train_runtime"], train_loss=result.training_loss, eval_losses=evals)


def run_loop(model, tokenizer, train, val, precision, epochs):
    device = torch.device("cuda")
    model.to(device)
    collate = DataCollatorWithPadding(tokenizer)
    g = torch.Generator()
    g.manual_seed(SEED)
    loader = torch.utils.data.DataLoader(train, batch_size=BATCH, shuffle=True, collate_fn=collate, generator=g)
    val_loader = torch.utils.data.DataLoader(val, batch_size=BATCH, collate_fn=collate)
    # transformers' defaults: weight decay 0, fused AdamW (torch >= 2.8), max_grad_norm 1.
    opt = torch.optim.AdamW(model.parameters(), lr=LR, weight_decay=0.0, fused=True)
    total = math.ceil(len(loader) * epochs)
    sched = get_linear_schedule_with_warmup(opt, 0, total)
    dtype = torch.float16 if precision == "fp16" else torch.bfloat16
    scaler = torch.amp.GradScaler("cuda", enabled=precision == "fp16")
    step_ends, after_eval, evals, losses, step, flos = [None], set(), [], [], 0, 0.0
    params = sum(p.numel() for n, p in model.named_parameters() if "embeddings" not in n)
    started = time.time()
    model.train()
    for epoch in range(math.ceil(epochs)):
        for batch in loader:
            if step >= total:
                break
            batch = {k: v.to(device, non_blocking=True) for k, v in batch.items()}
            with torch.autocast("cuda", dtype=dtype):
                loss = model(**batch).loss
            scaler.scale(loss).backward()
            scaler.unscale_(opt)
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            scaler.step(opt)
            scaler.update()
            sched.step()
            opt.zero_grad(set_to_none=True)
            losses.append(loss.detach())
            flos += 6 * params * batch["input_ids"].numel()  # HF's floating_point_ops: 6 · non-embedding parameters · tokens
            step += 1
            torch.cuda.synchronize()
            step_ends.append(time.perf_counter())
        model.eval()
        with torch.no_grad(), torch.autocast("cuda", dtype=dtype):
            total_loss, n = 0.0, 0
            for batch in val_loader:
                batch = {k: v.to(device) for k, v in batch.items()}
                total_loss += float(model(**batch).loss) * batch["labels"].shape[0]
                n += batch["labels"].shape[0]
        evals.append(total_loss / n)
        after_eval.add(step + 1)
        model.train()
    runtime = time.time() - started
    sps, timed = steady(step_ends, after_eval)
    return dict(samples_per_second=sps, timed_steps=timed, global_step=step, total_flos=flos, train_runtime=runtime,
                train_loss=float(torch.stack(losses).float().mean()), eval_losses=evals)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--shared", required=True)
    p.add_argument("--impl", choices=["hf", "loop"], required=True)
    p.add_argument("--precision", choices=["fp16", "bf16"], required=True)
    p.add_argument("--epochs", type=float, default=3)
    p.add_argument("--out", required=True)
    a = p.parse_args()
    tokenizer = AutoTokenizer.from_pretrained(os.path.join(a.shared, "models", "bert-base-cased"))
    train, val = encode(tokenizer, mrpc(a.shared, "train")), encode(tokenizer, mrpc(a.shared, "validation"))
    torch.manual_seed(SEED)
    config = BertConfig.from_pretrained(os.path.join(a.shared, "models", "bert-base-cased"), num_labels=2)
    model = BertForSequenceClassification(config)
    out = (run_hf if a.impl == "hf" else run_loop)(model, tokenizer, train, val, a.precision, a.epochs)
    wall = time.time() - STARTED
    with open(a.out, "w") as f:
        json.dump({"impl": "transformers Trainer" if a.impl == "hf" else "PyTorch loop", "precision": a.precision, "epochs": a.epochs,
                   "batch": BATCH, "device": torch.cuda.get_device_name(0), "wall_seconds": wall, "torch": torch.__version__,
                   "transformers": transformers.__version__, **out}, f, indent=1)
    print(f"{a.out}: {a.impl} {a.precision}, {out['global_step']} steps, {wall:.1f} s from process start")

if __name__ == "__main__":
    main()
