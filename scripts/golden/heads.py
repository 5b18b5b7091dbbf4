"""Golden fixtures for the question-answering and masked-LM heads of BERT, DistilBERT and RoBERTa:
tiny random models saved as Hugging Face folders (config.json + model.safetensors, the tied decoder
weight left out as HF's save does), and their logits, loss and every parameter's gradient.

The heads follow transformers' modeling files (v4.46 / v5, unchanged in these lines):
  BertForQuestionAnswering / RobertaForQuestionAnswering:
      logits = self.qa_outputs(sequence_output); start_logits, end_logits = logits.split(1, dim=-1)
      ignored_index = start_logits.size(1); start_positions = start_positions.clamp(0, ignored_index)
      loss_fct = CrossEntropyLoss(ignore_index=ignored_index); total_loss = (start_loss + end_loss) / 2
  DistilBertForQuestionAnswering: hidden_states = self.dropout(hidden_states); logits = self.qa_outputs(hidden_states)
  BertLMPredictionHead: transform (dense → ACT2FN[hidden_act] → LayerNorm) → decoder (+ bias), decoder tied to word_embeddings
  DistilBertForMaskedLM: vocab_transform → activation → vocab_layer_norm (eps 1e-12) → vocab_projector (tied)
  RobertaLMHead: dense → gelu → layer_norm → decoder (self.decoder.bias = self.bias), decoder tied
  MaskedLM loss: CrossEntropyLoss()(prediction_scores.view(-1, vocab_size), labels.view(-1))

Run with Debian's python3-torch:  /usr/bin/python3 scripts/golden/heads.py
"""
import json
import os
import sys

import torch
import torch.nn.functional as F
from torch import nn

sys.path.insert(0, os.path.dirname(__file__))
from bert_family import ACT, BertModel, DistilBertModel, init_weights  # noqa: E402
from models import BERT, DISTIL, ROBERTA  # noqa: E402
from models import no_dropout as no_encoder_dropout  # noqa: E402
from safetensors_io import save  # noqa: E402

OUT = os.path.join(os.path.dirname(__file__), "..", "..", "test", "fixtures", "golden", "heads")


def no_dropout(c):
    return dict(no_encoder_dropout(c), qa_dropout=0.0) if "qa_dropout" in c else no_encoder_dropout(c)


def qa_loss(logits, start_positions, end_positions):
    start, end = (t.squeeze(-1).contiguous() for t in logits.split(1, dim=-1))
    ignored = start.size(1)
    s, e = start_positions.clamp(0, ignored), end_positions.clamp(0, ignored)
    loss = (F.cross_entropy(start, s, ignore_index=ignored) + F.cross_entropy(end, e, ignore_index=ignored)) / 2
    return torch.stack([start, end]), loss


class BertQA(nn.Module):
    def __init__(self, c, roberta=False):
        super().__init__()
        self.prefix = "roberta" if roberta else "bert"
        setattr(self, self.prefix, BertModel(c, pooler=False, roberta=roberta))
        self.qa_outputs = nn.Linear(c["hidden_size"], 2)

    def forward(self, ids, mask, types, starts, ends):
        return qa_loss(self.qa_outputs(getattr(self, self.prefix)(ids, mask, types)[0]), starts, ends)


class DistilQA(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.distilbert = DistilBertModel(c)
        self.qa_outputs = nn.Linear(c["dim"], 2)
        self.dropout = nn.Dropout(c["qa_dropout"])

    def forward(self, ids, mask, types, starts, ends):
        return qa_loss(self.qa_outputs(self.dropout(self.distilbert(ids, mask))), starts, ends)


def mlm_loss(logits, labels):
    return logits, F.cross_entropy(logits.view(-1, logits.size(-1)), labels.view(-1))


class BertMLM(nn.Module):
    class Transform(nn.Module):
        def __init__(self, c):
            super().__init__()
            self.dense = nn.Linear(c["hidden_size"], c["hidden_size"])
            self.act = ACT[c["hidden_act"]]
            self.LayerNorm = nn.LayerNorm(c["hidden_size"], eps=c["layer_norm_eps"])

        def forward(self, x):
            return self.LayerNorm(self.act(self.dense(x)))

    class Predictions(nn.Module):
        def __init__(self, c):
            super().__init__()
            self.transform = BertMLM.Transform(c)
            self.decoder = nn.Linear(c["hidden_size"], c["vocab_size"], bias=False)
            self.bias = nn.Parameter(torch.zeros(c["vocab_size"]))
            self.decoder.bias = self.bias

        def forward(self, x):
            return self.decoder(self.transform(x))

    class Cls(nn.Module):
        def __init__(self, c):
            super().__init__()
            self.predictions = BertMLM.Predictions(c)

    def __init__(self, c):
        super().__init__()
        self.bert = BertModel(c, pooler=False)
        self.cls = BertMLM.Cls(c)
        self.cls.predictions.decoder.weight = self.bert.embeddings.word_embeddings.weight

    def forward(self, ids, mask, types, labels):
        return mlm_loss(self.cls.predictions(self.bert(ids, mask, types)[0]), labels)


class DistilMLM(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.act = ACT[c["activation"]]
        self.distilbert = DistilBertModel(c)
        self.vocab_transform = nn.Linear(c["dim"], c["dim"])
        self.vocab_layer_norm = nn.LayerNorm(c["dim"], eps=1e-12)
        self.vocab_projector = nn.Linear(c["dim"], c["vocab_size"])
        self.vocab_projector.weight = self.distilbert.embeddings.word_embeddings.weight

    def forward(self, ids, mask, types, labels):
        h = self.vocab_layer_norm(self.act(self.vocab_transform(self.distilbert(ids, mask))))
        return mlm_loss(self.vocab_projector(h), labels)


class RobertaMLM(nn.Module):
    class LMHead(nn.Module):
        def __init__(self, c):
            super().__init__()
            self.dense = nn.Linear(c["hidden_size"], c["hidden_size"])
            self.layer_norm = nn.LayerNorm(c["hidden_size"], eps=c["layer_norm_eps"])
            self.decoder = nn.Linear(c["hidden_size"], c["vocab_size"])
            self.bias = nn.Parameter(torch.zeros(c["vocab_size"]))
            self.decoder.bias = self.bias

        def forward(self, x):
            return self.decoder(self.layer_norm(F.gelu(self.dense(x))))

    def __init__(self, c):
        super().__init__()
        self.roberta = BertModel(c, pooler=False, roberta=True)
        self.lm_head = RobertaMLM.LMHead(c)
        self.lm_head.decoder.weight = self.roberta.embeddings.word_embeddings.weight

    def forward(self, ids, mask, types, labels):
        return mlm_loss(self.lm_head(self.roberta(ids, mask, types)[0]), labels)


def saved_state(model):
    """HF's save_pretrained: each tied tensor once, under the first name the state dict gives it."""
    seen, out = set(), {}
    for k, v in model.state_dict(keep_vars=True).items():
        if id(v) in seen:
            continue
        seen.add(id(v))
        out[k] = v.detach().clone()
    return out


def write(name, cls, config, arch, args):
    d = os.path.join(OUT, name)
    os.makedirs(d, exist_ok=True)
    torch.manual_seed(0)
    c = dict(config, architectures=[arch])
    c.pop("id2label", None)
    c.pop("label2id", None)
    model = cls(dict(c))
    init_weights(model, 0.2)
    with torch.no_grad():  # the MLM biases start at zero in HF; make them visible in the golden
        for n, p in model.named_parameters():
            if n.endswith("predictions.bias") or n.endswith("lm_head.bias") or n == "vocab_projector.bias":
                p.normal_(0, 0.2)
    sd = saved_state(model)
    with open(os.path.join(d, "config.json"), "w") as f:
        json.dump(c, f, indent=2, sort_keys=True)
        f.write("\n")
    save(sd, os.path.join(d, "model.safetensors"), {"format": "pt"})
    expected = {}
    for mode in ("eval", "train"):
        m = cls(no_dropout(c))
        m.load_state_dict(sd, strict=False)
        m.train(mode == "train")
        logits, loss = m(*args)
        loss.backward()
        expected[f"{mode}.logits"] = logits.detach()
        expected[f"{mode}.loss"] = loss.detach().reshape(1)
        for n, p in m.named_parameters():  # named_parameters lists a tied tensor once, under its first name
            expected[f"{mode}.grad.{n}"] = p.grad.detach().clone()
    save(expected, os.path.join(d, "expected.safetensors"))


def main():
    ids = torch.tensor([[2, 45, 17, 8, 93, 21, 3, 0, 0, 0], [2, 11, 56, 3, 70, 64, 5, 88, 31, 3], [2, 7, 3, 9, 3, 0, 0, 0, 0, 0]])
    mask = (ids != 0).long()
    types = torch.tensor([[0, 0, 0, 0, 1, 1, 1, 0, 0, 0], [0, 0, 0, 0, 1, 1, 1, 1, 1, 1], [0, 0, 0, 1, 1, 0, 0, 0, 0, 0]])
    rob_ids = torch.where(mask.bool(), ids + 2, torch.ones_like(ids)).clamp(max=98)
    starts, ends = torch.tensor([4, 5, 0]), torch.tensor([5, 12, 0])  # 12: past the sequence, ignored
    labels = torch.full_like(ids, -100)
    labels[0, 2], labels[1, 4], labels[1, 8], labels[2, 1] = 17, 70, 31, 7
    save({"input_ids": ids, "attention_mask": mask, "token_type_ids": types, "roberta_input_ids": rob_ids, "start_positions": starts,
          "end_positions": ends, "labels": labels}, os.path.join(OUT, "inputs.safetensors"))
    zeros = torch.zeros_like(ids)
    write("bert-qa", BertQA, BERT, "BertForQuestionAnswering", (ids, mask, types, starts, ends))
    write("distilbert-qa", DistilQA, DISTIL, "DistilBertForQuestionAnswering", (ids, mask, None, starts, ends))
    write("roberta-qa", lambda c: BertQA(c, roberta=True), ROBERTA, "RobertaForQuestionAnswering", (rob_ids, mask, zeros, starts, ends))
    write("bert-mlm", BertMLM, BERT, "BertForMaskedLM", (ids, mask, types, labels))
    write("distilbert-mlm", DistilMLM, DISTIL, "DistilBertForMaskedLM", (ids, mask, None, labels))
    write("roberta-mlm", RobertaMLM, ROBERTA, "RobertaForMaskedLM", (rob_ids, mask, zeros, labels))


if __name__ == "__main__":
    main()
