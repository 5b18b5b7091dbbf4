"""Golden for group_by_length: the first epoch's row order of HF's LengthGroupedSampler in the Trainer.

Written from transformers' trainer_pt_utils.py (get_length_grouped_indices) and trainer.py
(_get_train_sampler), read for this port:

    mega_batch_mult = min(len(lengths) // (batch_size * 4), 50)
    if mega_batch_mult == 0: mega_batch_mult = 1
    indices = torch.randperm(len(lengths), generator=generator)
    megabatch_size = mega_batch_mult * batch_size
    megabatches = [indices[i : i + megabatch_size].tolist() for i in range(0, len(lengths), megabatch_size)]
    megabatches = [list(sorted(megabatch, key=lambda i: lengths[i], reverse=True)) for megabatch in megabatches]
    megabatch_maximums = [lengths[megabatch[0]] for megabatch in megabatches]
    max_idx = torch.argmax(torch.tensor(megabatch_maximums)).item()
    megabatches[0][0], megabatches[max_idx][0] = megabatches[max_idx][0], megabatches[0][0]

    return LengthGroupedSampler(self.args.train_batch_size * self.args.gradient_accumulation_steps, ...)

The Trainer passes no generator, so randperm draws from the global one, after the DataLoader
iterator's base-seed draw (torch.empty((), dtype=torch.int64).random_()), once per epoch.

Run with Debian's python3-torch:  /usr/bin/python3 scripts/golden/length_grouped.py
"""
import json
import os

import torch

OUT = os.path.join(os.path.dirname(__file__), "..", "..", "test", "fixtures", "golden", "length_grouped.json")


def get_length_grouped_indices(lengths, batch_size):
    mega_batch_mult = min(len(lengths) // (batch_size * 4), 50)
    if mega_batch_mult == 0:
        mega_batch_mult = 1
    indices = torch.randperm(len(lengths), generator=None)
    megabatch_size = mega_batch_mult * batch_size
    megabatches = [indices[i : i + megabatch_size].tolist() for i in range(0, len(lengths), megabatch_size)]
    megabatches = [list(sorted(megabatch, key=lambda i: lengths[i], reverse=True)) for megabatch in megabatches]
    megabatch_maximums = [lengths[megabatch[0]] for megabatch in megabatches]
    max_idx = torch.argmax(torch.tensor(megabatch_maximums)).item()
    megabatches[0][0], megabatches[max_idx][0] = megabatches[max_idx][0], megabatches[0][0]
    return [i for megabatch in megabatches for i in megabatch]


cases = []
# (rows, per-device batch, accumulation, seed): megabatch multiples of 1 (tiny), 3 and the cap of 50.
for n, batch, ga, seed in [(10, 4, 1, 42), (100, 4, 2, 42), (3000, 4, 3, 7)]:
    lengths = [3 + (i * 37 + (i * i) % 13) % 29 for i in range(n)]
    torch.manual_seed(seed)
    torch.empty((), dtype=torch.int64).random_()  # the DataLoader iterator's base seed
    order = get_length_grouped_indices(lengths, batch * ga)
    cases.append({"rows": n, "batch": batch, "accumulation": ga, "seed": seed, "lengths": lengths, "order": order})

with open(OUT, "w") as f:
    json.dump(cases, f)
print(f"wrote {OUT}")
