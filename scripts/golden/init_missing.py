"""Golden fixture: what HF's from_pretrained draws for the weights a checkpoint lacks.

transformers builds the model under no_init_weights (torch.nn.init's functions do nothing, so the
constructor draws no random numbers), then _initialize_missing_keys runs `_init_weights` over the
modules in post-order (children before parents, Module.apply's order), skipping modules whose
weights the checkpoint holds; BERT's `_init_weights` is `module.weight.data.normal_(0.0,
initializer_range)` and `bias.zero_()` for a Linear. So after torch.manual_seed(s) the only draws
are those normal_ calls, in module order. This script makes the draws with plain torch:

  - tiny-bert-pretraining (pooler present) → BertForSequenceClassification(num_labels=3): only
    classifier.weight is drawn;
  - the same checkpoint without bert.pooler.* → pooler.dense.weight first (bert comes before the
    classifier), then classifier.weight.

Run with Debian's python3-torch:  /usr/bin/python3 scripts/golden/init_missing.py
"""
import os
import sys

import torch

sys.path.insert(0, os.path.dirname(__file__))
from safetensors_io import save  # noqa: E402

OUT = os.path.join(os.path.dirname(__file__), "..", "..", "test", "fixtures", "golden", "models", "init_missing.safetensors")
SEED, HIDDEN, LABELS, STD = 1234, 32, 3, 0.02


def main():
    torch.manual_seed(SEED)
    classifier_only = torch.empty(LABELS, HIDDEN).normal_(0.0, STD)
    # The generator's next draw: nothing else may have consumed it (the constructor draws nothing).
    classifier_only_next = torch.rand(4)
    torch.manual_seed(SEED)
    pooler = torch.empty(HIDDEN, HIDDEN).normal_(0.0, STD)
    classifier_after_pooler = torch.empty(LABELS, HIDDEN).normal_(0.0, STD)
    with_pooler_next = torch.rand(4)
    save({
        "classifier_only.classifier.weight": classifier_only,
        "classifier_only.next": classifier_only_next,
        "with_pooler.bert.pooler.dense.weight": pooler,
        "with_pooler.classifier.weight": classifier_after_pooler,
        "with_pooler.next": with_pooler_next,
    }, OUT, {"seed": str(SEED), "torch": torch.__version__})


if __name__ == "__main__":
    main()
