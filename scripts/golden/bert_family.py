"""Reference BERT, DistilBERT and RoBERTa in plain PyTorch with Hugging Face's parameter names.

transformers is not installable here, so these follow modeling_bert.py, modeling_distilbert.py and
modeling_roberta.py (eager attention). Used by models.py (golden fixtures) and bench/models_torch.py.
"""
import math

import torch
import torch.nn.functional as F
from torch import nn

ACT = {"gelu": F.gelu, "relu": F.relu, "gelu_new": lambda x: F.gelu(x, approximate="tanh")}


def extended_mask(mask, dtype):
    return (1.0 - mask[:, None, None, :].to(dtype)) * torch.finfo(dtype).min


class BertEmbeddings(nn.Module):
    def __init__(self, c, roberta=False):
        super().__init__()
        self.roberta = roberta
        self.pad = c["pad_token_id"]
        self.word_embeddings = nn.Embedding(c["vocab_size"], c["hidden_size"], padding_idx=c["pad_token_id"])
        self.position_embeddings = nn.Embedding(c["max_position_embeddings"], c["hidden_size"], padding_idx=c["pad_token_id"] if roberta else None)
        self.token_type_embeddings = nn.Embedding(c["type_vocab_size"], c["hidden_size"])
        self.LayerNorm = nn.LayerNorm(c["hidden_size"], eps=c["layer_norm_eps"])
        self.dropout = nn.Dropout(c["hidden_dropout_prob"])

    def forward(self, input_ids, token_type_ids):
        if self.roberta:  # positions count non-padding tokens, starting after padding_idx
            m = input_ids.ne(self.pad).int()
            pos = (torch.cumsum(m, dim=1).type_as(m) * m).long() + self.pad
        else:
            pos = torch.arange(input_ids.shape[1], device=input_ids.device).unsqueeze(0)
        if token_type_ids is None:
            token_type_ids = torch.zeros_like(input_ids)
        x = self.word_embeddings(input_ids) + self.token_type_embeddings(token_type_ids) + self.position_embeddings(pos)
        return self.dropout(self.LayerNorm(x))


class BertSelfAttention(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.h = c["num_attention_heads"]
        self.query = nn.Linear(c["hidden_size"], c["hidden_size"])
        self.key = nn.Linear(c["hidden_size"], c["hidden_size"])
        self.value = nn.Linear(c["hidden_size"], c["hidden_size"])
        self.dropout = nn.Dropout(c["attention_probs_dropout_prob"])

    def split(self, x):
        b, l, d = x.shape
        return x.view(b, l, self.h, d // self.h).permute(0, 2, 1, 3)

    def forward(self, x, mask):
        q, k, v = self.split(self.query(x)), self.split(self.key(x)), self.split(self.value(x))
        scores = q @ k.transpose(-1, -2) / math.sqrt(q.shape[-1]) + mask
        ctx = self.dropout(scores.softmax(-1)) @ v
        b, _, l, _ = ctx.shape
        return ctx.permute(0, 2, 1, 3).reshape(b, l, -1)


class DenseNorm(nn.Module):
    def __init__(self, c, n_in):
        super().__init__()
        self.dense = nn.Linear(n_in, c["hidden_size"])
        self.LayerNorm = nn.LayerNorm(c["hidden_size"], eps=c["layer_norm_eps"])
        self.dropout = nn.Dropout(c["hidden_dropout_prob"])

    def forward(self, x, residual):
        return self.LayerNorm(self.dropout(self.dense(x)) + residual)


class BertAttention(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.self = BertSelfAttention(c)
        self.output = DenseNorm(c, c["hidden_size"])

    def forward(self, x, mask):
        return self.output(self.self(x, mask), x)


class BertIntermediate(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.dense = nn.Linear(c["hidden_size"], c["intermediate_size"])
        self.act = ACT[c["hidden_act"]]

    def forward(self, x):
        return self.act(self.dense(x))


class BertLayer(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.attention = BertAttention(c)
        self.intermediate = BertIntermediate(c)
        self.output = DenseNorm(c, c["intermediate_size"])

    def forward(self, x, mask):
        a = self.attention(x, mask)
        return self.output(self.intermediate(a), a)


class BertEncoder(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.layer = nn.ModuleList([BertLayer(c) for _ in range(c["num_hidden_layers"])])

    def forward(self, x, mask):
        for layer in self.layer:
            x = layer(x, mask)
        return x


class BertPooler(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.dense = nn.Linear(c["hidden_size"], c["hidden_size"])

    def forward(self, x):
        return torch.tanh(self.dense(x[:, 0]))


class BertModel(nn.Module):
    def __init__(self, c, pooler=True, roberta=False):
        super().__init__()
        self.embeddings = BertEmbeddings(c, roberta)
        self.encoder = BertEncoder(c)
        self.pooler = BertPooler(c) if pooler else None

    def forward(self, input_ids, attention_mask, token_type_ids=None):
        x = self.encoder(self.embeddings(input_ids, token_type_ids), extended_mask(attention_mask, torch.float32))
        return x, (self.pooler(x) if self.pooler is not None else None)


class BertForSequenceClassification(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.bert = BertModel(c)
        self.dropout = nn.Dropout(c["hidden_dropout_prob"])
        self.classifier = nn.Linear(c["hidden_size"], c["num_labels"])

    def forward(self, input_ids, attention_mask, token_type_ids, labels):
        logits = self.classifier(self.dropout(self.bert(input_ids, attention_mask, token_type_ids)[1]))
        return logits, F.cross_entropy(logits, labels)


class RobertaClassificationHead(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.dense = nn.Linear(c["hidden_size"], c["hidden_size"])
        self.dropout = nn.Dropout(c["hidden_dropout_prob"])
        self.out_proj = nn.Linear(c["hidden_size"], c["num_labels"])

    def forward(self, x):
        x = self.dropout(x[:, 0])
        return self.out_proj(self.dropout(torch.tanh(self.dense(x))))


class RobertaForSequenceClassification(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.roberta = BertModel(c, pooler=False, roberta=True)
        self.classifier = RobertaClassificationHead(c)

    def forward(self, input_ids, attention_mask, token_type_ids, labels):
        logits = self.classifier(self.roberta(input_ids, attention_mask, token_type_ids)[0])
        return logits, F.cross_entropy(logits, labels)


class DistilEmbeddings(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.word_embeddings = nn.Embedding(c["vocab_size"], c["dim"], padding_idx=c["pad_token_id"])
        self.position_embeddings = nn.Embedding(c["max_position_embeddings"], c["dim"])
        self.LayerNorm = nn.LayerNorm(c["dim"], eps=1e-12)
        self.dropout = nn.Dropout(c["dropout"])

    def forward(self, input_ids):
        pos = torch.arange(input_ids.shape[1], device=input_ids.device).unsqueeze(0)
        return self.dropout(self.LayerNorm(self.word_embeddings(input_ids) + self.position_embeddings(pos)))


class MultiHeadSelfAttention(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.h = c["n_heads"]
        self.q_lin, self.k_lin, self.v_lin, self.out_lin = (nn.Linear(c["dim"], c["dim"]) for _ in range(4))
        self.dropout = nn.Dropout(c["attention_dropout"])

    def forward(self, x, mask):
        b, l, d = x.shape
        dh = d // self.h
        split = lambda t: t.view(b, -1, self.h, dh).transpose(1, 2)  # noqa: E731
        q = split(self.q_lin(x)) / math.sqrt(dh)
        k, v = split(self.k_lin(x)), split(self.v_lin(x))
        scores = (q @ k.transpose(2, 3)).masked_fill((mask == 0).view(b, 1, 1, l), torch.finfo(torch.float32).min)
        ctx = self.dropout(scores.softmax(-1)) @ v
        return self.out_lin(ctx.transpose(1, 2).reshape(b, -1, d))


class FFN(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.lin1 = nn.Linear(c["dim"], c["hidden_dim"])
        self.lin2 = nn.Linear(c["hidden_dim"], c["dim"])
        self.dropout = nn.Dropout(c["dropout"])
        self.act = ACT[c["activation"]]

    def forward(self, x):
        return self.dropout(self.lin2(self.act(self.lin1(x))))


class TransformerBlock(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.attention = MultiHeadSelfAttention(c)
        self.sa_layer_norm = nn.LayerNorm(c["dim"], eps=1e-12)
        self.ffn = FFN(c)
        self.output_layer_norm = nn.LayerNorm(c["dim"], eps=1e-12)

    def forward(self, x, mask):
        x = self.sa_layer_norm(self.attention(x, mask) + x)
        return self.output_layer_norm(self.ffn(x) + x)


class Transformer(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.layer = nn.ModuleList([TransformerBlock(c) for _ in range(c["n_layers"])])


class DistilBertModel(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.embeddings = DistilEmbeddings(c)
        self.transformer = Transformer(c)

    def forward(self, input_ids, attention_mask):
        x = self.embeddings(input_ids)
        for layer in self.transformer.layer:
            x = layer(x, attention_mask)
        return x


class DistilBertForSequenceClassification(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.distilbert = DistilBertModel(c)
        self.pre_classifier = nn.Linear(c["dim"], c["dim"])
        self.classifier = nn.Linear(c["dim"], c["num_labels"])
        self.dropout = nn.Dropout(c["seq_classif_dropout"])

    def forward(self, input_ids, attention_mask, token_type_ids, labels):
        x = self.distilbert(input_ids, attention_mask)[:, 0]
        logits = self.classifier(self.dropout(F.relu(self.pre_classifier(x))))
        return logits, F.cross_entropy(logits, labels)


def init_weights(model, std):
    """Hugging Face's _init_weights: normal(0, std) for Linear/Embedding, zero bias and padding row, LayerNorm 1/0."""
    for m in model.modules():
        if isinstance(m, nn.Linear):
            m.weight.data.normal_(0.0, std)
            m.bias.data.zero_()
        elif isinstance(m, nn.Embedding):
            m.weight.data.normal_(0.0, std)
            if m.padding_idx is not None:
                m.weight.data[m.padding_idx].zero_()
        elif isinstance(m, nn.LayerNorm):
            m.weight.data.fill_(1.0)
            m.bias.data.zero_()
