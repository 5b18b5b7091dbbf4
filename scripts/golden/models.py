"""Golden fixtures for src/models: tiny random BERT, DistilBERT and RoBERTa sequence classifiers saved
as Hugging Face folders (config.json + model.safetensors), a padded batch with attention mask and
token types, and the logits, loss and every parameter's gradient, in eval mode and in train mode with
dropout 0. Also a pytorch_model.bin (torch.save, zip) of the BERT, and an encoder-only checkpoint (keys
like bert-base-cased's: bert.*, cls.*, no classifier).

Run with Debian's python3-torch:  /usr/bin/python3 scripts/golden/models.py
"""
import json
import os
import sys

import torch

sys.path.insert(0, os.path.dirname(__file__))
from bert_family import (  # noqa: E402
    BertForSequenceClassification, DistilBertForSequenceClassification, RobertaForSequenceClassification, init_weights,
)
from safetensors_io import save  # noqa: E402

OUT = os.path.join(os.path.dirname(__file__), "..", "..", "test", "fixtures", "golden", "models")

BERT = dict(model_type="bert", architectures=["BertForSequenceClassification"], vocab_size=99, hidden_size=32, num_hidden_layers=2,
            num_attention_heads=4, intermediate_size=37, hidden_act="gelu", hidden_dropout_prob=0.1, attention_probs_dropout_prob=0.1,
            max_position_embeddings=64, type_vocab_size=2, initializer_range=0.02, layer_norm_eps=1e-12, pad_token_id=0,
            position_embedding_type="absolute", classifier_dropout=None, id2label={"0": "LABEL_0", "1": "LABEL_1", "2": "LABEL_2"},
            label2id={"LABEL_0": 0, "LABEL_1": 1, "LABEL_2": 2}, torch_dtype="float32", transformers_version="4.46.0")
ROBERTA = dict(BERT, model_type="roberta", architectures=["RobertaForSequenceClassification"], pad_token_id=1, bos_token_id=0,
               eos_token_id=2, type_vocab_size=1, max_position_embeddings=66, layer_norm_eps=1e-5)
DISTIL = dict(model_type="distilbert", architectures=["DistilBertForSequenceClassification"], vocab_size=99, dim=32, n_layers=2, n_heads=4,
              hidden_dim=37, activation="gelu", dropout=0.1, attention_dropout=0.1, max_position_embeddings=64, initializer_range=0.02,
              pad_token_id=0, qa_dropout=0.1, seq_classif_dropout=0.2, sinusoidal_pos_embds=False, tie_weights_=True,
              id2label=BERT["id2label"], label2id=BERT["label2id"], torch_dtype="float32", transformers_version="4.46.0")


def for_torch(c):
    c = dict(c, num_labels=len(c["id2label"]))
    return c


def no_dropout(c):
    c = dict(c)
    for k in ("hidden_dropout_prob", "attention_probs_dropout_prob", "dropout", "attention_dropout", "seq_classif_dropout"):
        if k in c:
            c[k] = 0.0
    return c


def write(name, cls, config, input_ids, attention_mask, token_type_ids, labels, bin_too=False):
    d = os.path.join(OUT, name)
    os.makedirs(d, exist_ok=True)
    torch.manual_seed(0)
    model = cls(for_torch(config))
    init_weights(model, 0.2)  # larger than HF's 0.02 so that the gradients are not all tiny
    with open(os.path.join(d, "config.json"), "w") as f:
        json.dump(config, f, indent=2, sort_keys=True)
        f.write("\n")
    sd = {k: v for k, v in model.state_dict().items()}
    save(sd, os.path.join(d, "model.safetensors"), {"format": "pt"})
    if bin_too:
        bd = os.path.join(OUT, name + "-bin")
        os.makedirs(bd, exist_ok=True)
        torch.save(sd, os.path.join(bd, "pytorch_model.bin"))
        with open(os.path.join(bd, "config.json"), "w") as f:
            json.dump(config, f, indent=2, sort_keys=True)
            f.write("\n")
    expected = {}
    for mode in ("eval", "train"):
        m = cls(for_torch(no_dropout(config)))
        m.load_state_dict(sd)
        m.train(mode == "train")
        logits, loss = m(input_ids, attention_mask, token_type_ids, labels)
        loss.backward()
        expected[f"{mode}.logits"] = logits.detach()
        expected[f"{mode}.loss"] = loss.detach().reshape(1)
        for n, p in m.named_parameters():
            expected[f"{mode}.grad.{n}"] = p.grad.detach().clone()
    save(expected, os.path.join(d, "expected.safetensors"))
    return sd


def main():
    os.makedirs(OUT, exist_ok=True)
    input_ids = torch.tensor([[2, 45, 17, 8, 93, 21, 3, 0, 0, 0], [2, 11, 56, 3, 70, 64, 5, 88, 31, 3], [2, 7, 3, 9, 3, 0, 0, 0, 0, 0]])
    attention_mask = (input_ids != 0).long()
    token_type_ids = torch.tensor([[0, 0, 0, 0, 1, 1, 1, 0, 0, 0], [0, 0, 0, 0, 1, 1, 1, 1, 1, 1], [0, 0, 0, 1, 1, 0, 0, 0, 0, 0]])
    labels = torch.tensor([2, 0, 1])
    save({"input_ids": input_ids, "attention_mask": attention_mask, "token_type_ids": token_type_ids, "labels": labels},
         os.path.join(OUT, "inputs.safetensors"))
    bert_sd = write("tiny-bert", BertForSequenceClassification, BERT, input_ids, attention_mask, token_type_ids, labels, bin_too=True)
    write("tiny-distilbert", DistilBertForSequenceClassification, DISTIL, input_ids, attention_mask, None, labels)
    # RoBERTa pads with 1: shift ids so that 1 is the padding and no real token is 1.
    rob_ids = torch.where(attention_mask.bool(), input_ids + 2, torch.ones_like(input_ids)).clamp(max=98)
    write("tiny-roberta", RobertaForSequenceClassification, ROBERTA, rob_ids, attention_mask, torch.zeros_like(input_ids), labels)
    save({"input_ids": rob_ids}, os.path.join(OUT, "roberta_inputs.safetensors"))

    # An encoder-only checkpoint like bert-base-cased's: bert.* plus pre-training heads (cls.*), no classifier.
    d = os.path.join(OUT, "tiny-bert-pretraining")
    os.makedirs(d, exist_ok=True)
    enc = {k: v for k, v in bert_sd.items() if k.startswith("bert.")}
    h, vocab = BERT["hidden_size"], BERT["vocab_size"]
    enc.update({"cls.predictions.bias": torch.zeros(vocab), "cls.predictions.transform.dense.weight": torch.randn(h, h),
                "cls.predictions.transform.dense.bias": torch.zeros(h), "cls.predictions.transform.LayerNorm.weight": torch.ones(h),
                "cls.predictions.transform.LayerNorm.bias": torch.zeros(h), "cls.seq_relationship.weight": torch.randn(2, h),
                "cls.seq_relationship.bias": torch.zeros(2)})
    # Old checkpoints name LayerNorm parameters gamma/beta: one of them is renamed that way here.
    enc["bert.embeddings.LayerNorm.gamma"] = enc.pop("bert.embeddings.LayerNorm.weight")
    enc["bert.embeddings.LayerNorm.beta"] = enc.pop("bert.embeddings.LayerNorm.bias")
    save(enc, os.path.join(d, "model.safetensors"), {"format": "pt"})
    cfg = {k: v for k, v in BERT.items() if k not in ("id2label", "label2id")}
    cfg["architectures"] = ["BertForPreTraining"]
    with open(os.path.join(d, "config.json"), "w") as f:
        json.dump(cfg, f, indent=2, sort_keys=True)
        f.write("\n")


if __name__ == "__main__":
    main()
