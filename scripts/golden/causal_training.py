"""Golden of causal-LM training with gradient accumulation and HF's num_items_in_batch normalization
(transformers 5's Trainer with a model whose forward takes loss kwargs), in a plain PyTorch loop:

  Trainer._inner_training_loop: for each update step, batch_samples, num_items_in_batch =
      self.get_batch_samples(epoch_iterator, num_batches)   (num_batches = gradient_accumulation_steps, the last group the remainder)
  get_batch_samples: num_items_in_batch = sum([(batch["labels"].ne(-100)).sum() for batch in batch_samples])
  training_step: loss = compute_loss(model, inputs, num_items_in_batch=num_items_in_batch)  (passed to forward)
      no division by the accumulation steps when the model accepts loss kwargs and num_items_in_batch is set
  ForCausalLMLoss: float32 logits, labels padded with -100 and shifted, cross_entropy(reduction="sum") / num_items_in_batch
  then clip_grad_norm_(1.0), AdamW (torch's), the linear schedule without warmup, zero_grad.
  The train order: accelerate's SeedableRandomSampler, torch.randperm(n, generator=Generator().manual_seed(seed + epoch)).
  DataCollatorForLanguageModeling(mlm=False): padded right with pad_token_id 0, labels = input_ids with padding -100.

The model is the Llama-llama3 fixture of decoders.py (dropout 0). 20 rows of 2 to 11 tokens, batch 2, accumulation 2,
8 epochs: 40 steps of uneven label counts. Writes the rows, the loss of each step (the sum of its micro-batch
losses, as HF's tr_loss accumulates) and the final weights.

Run:  /usr/bin/python3 scripts/golden/causal_training.py
"""
import json
import os
import sys

import torch

sys.path.insert(0, os.path.dirname(__file__))
from decoders import CONFIGS, LlamaForCausalLM, causal_loss  # noqa: E402
from safetensors_io import load, save  # noqa: E402

HERE = os.path.dirname(__file__)
FIX = os.path.join(HERE, "..", "..", "test", "fixtures", "golden", "decoders")
SEED, BATCH, GA, EPOCHS, LR = 42, 2, 2, 8, 1e-3


def main():
    g = torch.Generator().manual_seed(7)
    rows = []
    for _ in range(20):
        n = int(torch.randint(2, 12, (1,), generator=g))
        rows.append(torch.randint(1, 97, (n,), generator=g).tolist())
    _, cfg = CONFIGS["llama-llama3"]
    model = LlamaForCausalLM(cfg)
    sd = load(os.path.join(FIX, "llama-llama3", "model.safetensors"))
    model.load_state_dict(sd)
    model.train()
    opt = torch.optim.AdamW(model.parameters(), lr=LR, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0)
    batches_per_epoch = (len(rows) + BATCH - 1) // BATCH
    updates_per_epoch = (batches_per_epoch + GA - 1) // GA
    total = updates_per_epoch * EPOCHS
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda step: max(0.0, float(total - step) / float(max(1, total))))
    losses = []
    for epoch in range(EPOCHS):
        order = torch.randperm(len(rows), generator=torch.Generator().manual_seed(SEED + epoch)).tolist()
        batches = [order[i:i + BATCH] for i in range(0, len(order), BATCH)]
        for s in range(0, len(batches), GA):
            group = []
            for idx in batches[s:s + GA]:
                L = max(len(rows[i]) for i in idx)
                ids = torch.tensor([rows[i] + [0] * (L - len(rows[i])) for i in idx])
                mask = (ids != 0).long()
                group.append((ids, mask, torch.where(mask.bool(), ids, torch.full_like(ids, -100))))
            num_items = sum([labels.ne(-100).sum() for _, _, labels in group])
            step_loss = 0.0
            for ids, mask, labels in group:
                loss = causal_loss(model(ids, mask), labels, num_items)
                loss.backward()
                step_loss += loss.item()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            opt.step()
            sched.step()
            opt.zero_grad()
            losses.append(step_loss)
    os.makedirs(os.path.join(FIX, "training"), exist_ok=True)
    with open(os.path.join(FIX, "training", "run.json"), "w") as f:
        json.dump({"rows": rows, "losses": losses, "seed": SEED, "batch": BATCH, "accumulation": GA, "epochs": EPOCHS, "lr": LR}, f)
        f.write("\n")
    save({k: v.detach().clone() for k, v in model.state_dict().items()}, os.path.join(FIX, "training", "final.safetensors"))
    print(len(losses), "steps; first", losses[0], "last", losses[-1])


if __name__ == "__main__":
    main()
