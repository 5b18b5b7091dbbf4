"""Golden fixture: HF's Trainer on MRPC with every random draw in HF's order, in plain PyTorch.

A Python user who runs the course with a seed gets these numbers; finetune-ts must get the same
(test/trainer_rng.test.ts). transformers and accelerate are not installable here, so this script
replays what they do, step for step, with plain torch (1.13, as Debian ships it), and each step
quotes the lines of transformers 5's trainer.py / modeling_utils.py and accelerate's
data_loader.py it follows. Dropout is on (0.1), shuffling is on, evaluation runs each epoch,
gradient accumulation is 2, and an epoch has 41 batches, so its last accumulation group holds one
micro-batch (HF's `remainder`).

The model is test/fixtures/golden/trainer/tiny-bert-cased without its classifier (an encoder-only
checkpoint, as bert-base-cased is), with dropout 0.1 and eager attention.

Run with Debian's python3-torch:  /usr/bin/python3 scripts/golden/hf_trainer_rng.py ../shared/data
"""
import json
import math
import os
import sys

import torch

sys.path.insert(0, os.path.dirname(__file__))
from bert_family import BertForSequenceClassification  # noqa: E402
from bert_reference_tokenizer import Reference  # noqa: E402
from safetensors_io import load  # noqa: E402
from trainer_mrpc import adamw_linear, collate, encode, eval_loss, rows  # noqa: E402

SHARED = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "..", "..", "..", "shared", "data")
HERE = os.path.join(os.path.dirname(__file__), "..", "..", "test", "fixtures", "golden", "trainer")
N_TRAIN, N_EVAL, BATCH, EVAL_BATCH, GA, EPOCHS = 325, 64, 8, 8, 2, 2
LR, WD, WARMUP_RATIO, MAX_GRAD_NORM = 5e-4, 0.01, 0.1, 1.0
MODEL_SEED, TRAINER_SEED, NUM_LABELS = 7, 42, 2


def base_seed_draw():
    # torch/utils/data/dataloader.py, _BaseDataLoaderIter.__init__ (every iter(dataloader)):
    #     self._base_seed = loader._get_shared_seed()
    #   = torch.empty((), dtype=torch.int64).random_(generator=loader.generator).item()
    # HF's DataLoader has no generator (its sampler has one), so this draws from the global one.
    torch.empty((), dtype=torch.int64).random_()


def main():
    ref = Reference(os.path.join(SHARED, "models", "bert-base-cased", "vocab.txt"), lowercase=False)
    train = encode(ref, rows(os.path.join(SHARED, "glue", "MRPC", "train.tsv"), N_TRAIN))
    val = encode(ref, rows(os.path.join(SHARED, "glue", "MRPC", "dev.tsv"), N_EVAL))
    with open(os.path.join(HERE, "tiny-bert-cased", "config.json")) as f:
        config = json.load(f)
    config.update(hidden_dropout_prob=0.1, attention_probs_dropout_prob=0.1, num_labels=NUM_LABELS)
    weights = {k: v for k, v in load(os.path.join(HERE, "tiny-bert-cased", "model.safetensors")).items() if not k.startswith("classifier.")}

    # modeling_utils.py, from_pretrained: the model is built under `no_init_weights` (torch.nn.init's
    # functions patched to do nothing: no draws), then `_initialize_missing_keys` runs
    # `_init_weights` over modules whose weights the checkpoint lacks — here only the classifier:
    #     module.weight.data.normal_(mean=0.0, std=self.config.initializer_range); bias.zero_()
    model = BertForSequenceClassification(config)  # its own init draws are replaced below
    torch.manual_seed(MODEL_SEED)
    with torch.no_grad():
        model.classifier.weight.normal_(0.0, config["initializer_range"])
        model.classifier.bias.zero_()
    missing = model.load_state_dict(weights, strict=False)
    assert missing.missing_keys == ["classifier.weight", "classifier.bias"] and not missing.unexpected_keys, missing

    # trainer.py, Trainer.__init__:  enable_full_determinism(...) if ... else set_seed(self.args.seed)
    torch.manual_seed(TRAINER_SEED)

    # trainer.py, set_initial_training_values:
    #     num_update_steps_per_epoch = len_dataloader // GA + int(len_dataloader % GA > 0)
    #     max_steps = math.ceil(args.num_train_epochs * num_update_steps_per_epoch)
    batches_per_epoch = math.ceil(N_TRAIN / BATCH)
    updates_per_epoch = batches_per_epoch // GA + int(batches_per_epoch % GA > 0)
    max_steps = EPOCHS * updates_per_epoch
    warmup = math.ceil(max_steps * WARMUP_RATIO)
    # trainer.py, get_decay_parameter_names (no decay for biases and LayerNorm weights), and
    # optimization.py, get_linear_schedule_with_warmup.
    opt, sched = adamw_linear(model, LR, WD, warmup, max_steps)

    logs, eval_losses = [], []
    # trainer.py: tr_loss = torch.tensor(0.0) … tr_loss = tr_loss + tr_loss_step (a float32 tensor on the device)
    tr_loss = torch.tensor(0.0)
    model.train()
    opt.zero_grad(set_to_none=True)
    for epoch in range(EPOCHS):
        # accelerate/data_loader.py, SeedableRandomSampler.__iter__:
        #     seed = self.epoch + self.initial_seed; self.generator.manual_seed(seed)
        #     yield from torch.randperm(n, generator=self.generator).tolist()
        # (initial_seed = torch.random.initial_seed() = the Trainer's seed; set_epoch(epoch) each epoch)
        g = torch.Generator()
        g.manual_seed(TRAINER_SEED + epoch)
        perm = torch.randperm(N_TRAIN, generator=g).tolist()
        base_seed_draw()  # trainer.py: epoch_iterator = iter(epoch_dataloader)
        batches = [perm[s:s + BATCH] for s in range(0, N_TRAIN, BATCH)]
        # trainer.py, _inner_training_loop:
        #     remainder = steps_in_epoch % args.gradient_accumulation_steps  (0 → GA)
        #     total_updates = steps_in_epoch // GA + int(remainder < GA)
        #     num_batches = GA if update_step != (total_updates - 1) else remainder
        for start in range(0, len(batches), GA):
            group = batches[start:start + GA]
            for idx in group:
                ids, mask, types, labels = collate([train[i] for i in idx])
                _, loss = model(ids, mask, types, labels)
                # trainer.py, training_step (a model without loss kwargs):
                #     loss = loss / self.current_gradient_accumulation_steps   (= len(batch_samples))
                loss = loss / len(group)
                loss.backward()
                tr_loss = tr_loss + loss.detach()
            # trainer.py: _grad_norm = self.accelerator.clip_grad_norm_(model.parameters(), args.max_grad_norm)
            grad_norm = float(torch.nn.utils.clip_grad_norm_(model.parameters(), MAX_GRAD_NORM))
            opt.step()
            # trainer.py: learning_rate = self._get_learning_rate()  — read before lr_scheduler.step()
            learning_rate = sched.get_last_lr()[0]
            sched.step()
            opt.zero_grad(set_to_none=True)
            # trainer.py, _maybe_log_save_evaluate (logging_steps=1):
            #     tr_loss_scalar = self._nested_gather(tr_loss).mean().item()
            #     logs["loss"] = tr_loss_scalar / (self.state.global_step - self._globalstep_last_logged)
            # (transformers 5 logs the full value; 4.x wrapped it in round(…, 4).)
            logs.append({"loss": tr_loss.item(), "grad_norm": grad_norm, "learning_rate": learning_rate})
            tr_loss = torch.tensor(0.0)
        # trainer_callback.py, DefaultFlowCallback.on_epoch_end: eval_strategy "epoch" → evaluate.
        base_seed_draw()  # trainer.py, evaluation_loop: for step, inputs in enumerate(dataloader)
        eval_losses.append(eval_loss(model, val, EVAL_BATCH))

    with open(os.path.join(HERE, "hf_trainer_rng.json"), "w") as f:
        json.dump({
            "n_train": N_TRAIN, "n_eval": N_EVAL, "batch": BATCH, "eval_batch": EVAL_BATCH, "gradient_accumulation_steps": GA,
            "epochs": EPOCHS, "learning_rate": LR, "weight_decay": WD, "warmup_ratio": WARMUP_RATIO, "max_grad_norm": MAX_GRAD_NORM,
            "model_seed": MODEL_SEED, "seed": TRAINER_SEED, "num_labels": NUM_LABELS, "max_steps": max_steps, "torch": torch.__version__,
            "logs": logs, "eval_losses": eval_losses,
        }, f, indent=1)
        f.write("\n")


if __name__ == "__main__":
    main()
