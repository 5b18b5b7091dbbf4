"""Golden of LoRA as PEFT 0.20 makes it (src/peft/tuners/lora/layer.py, tuners_utils.py, utils/save_and_load.py),
in plain PyTorch on the decoder fixtures of decoders.py. The lines followed:

  LoraLayer.update_layer:
      self.lora_dropout[adapter_name] = nn.Dropout(p=lora_dropout) if lora_dropout > 0.0 else nn.Identity()
      self.lora_A[adapter_name] = nn.Linear(self.in_features, r, bias=False)
      self.lora_B[adapter_name] = nn.Linear(r, self.out_features, bias=lora_bias)
      self.scaling[adapter_name] = lora_alpha / math.sqrt(r) if use_rslora else lora_alpha / r
      elif init_lora_weights: self.reset_lora_parameters(adapter_name, init_lora_weights)
  reset_lora_parameters:
      if init_lora_weights is True: nn.init.kaiming_uniform_(self.lora_A[adapter_name].weight, a=math.sqrt(5))
      elif init_lora_weights.lower() == "gaussian": nn.init.normal_(self.lora_A[adapter_name].weight, std=1 / self.r[adapter_name])
      nn.init.zeros_(self.lora_B[adapter_name].weight)
  Linear.forward:  result = self.base_layer(x); result = result + lora_B(lora_A(dropout(x))) * scaling
  Linear.get_delta_weight:  transpose(weight_B @ weight_A, self.fan_in_fan_out) * self.scaling[adapter]
  (Conv1D keeps its [in, out] weight: in_features, out_features = weight.shape; fan_in_fan_out is set True for it)
  BaseTuner.inject_adapter: for key, module in list(model.named_modules()): check_target_module_exists -> _create_and_replace
      (so adapters are drawn from the generator in module order)
  _maybe_include_all_linear_layers: every nn.Linear/Conv1D except the output embeddings (lm_head)
  get_peft_model_state_dict: the lora_ keys with the adapter name removed, under "base_model.model."

Cases (each starts from torch.manual_seed(0) after loading the fixture's weights):
  llama_all_linear: llama-llama3, target "all-linear", r 4, alpha 8, dropout 0.1, init True; 20 AdamW steps
      (lr 1e-2, train mode so the LoRA dropout draws) on the fixture's inputs; each step's loss, the final adapter,
      eval logits, and the logits of the merged weights.
  gpt2_conv1d: gpt2, targets c_attn and c_proj (Conv1D, fan_in_fan_out), r 4, alpha 16, rslora, lora_bias, init False
      (B random, so the adapter changes the logits at once): the adapter, eval logits, merged logits.
  qwen3_gaussian: qwen3, q_proj/v_proj of layer 1 only (layers_to_transform [1]), r 2, alpha 4, init "gaussian".

Run:  /usr/bin/python3 scripts/golden/lora.py
"""
import json
import math
import os
import sys

import torch
import torch.nn as nn

sys.path.insert(0, os.path.dirname(__file__))
from decoders import CONFIGS, Conv1D, GPT2LMHeadModel, LlamaForCausalLM, causal_loss  # noqa: E402
from safetensors_io import load, save  # noqa: E402

HERE = os.path.dirname(__file__)
DEC = os.path.join(HERE, "..", "..", "test", "fixtures", "golden", "decoders")
OUT = os.path.join(HERE, "..", "..", "test", "fixtures", "golden", "lora")


class LoraLinear(nn.Module):
    def __init__(self, base, r, alpha, dropout, init, rslora, lora_bias, fan_in_fan_out):
        super().__init__()
        self.base_layer = base
        if isinstance(base, Conv1D):
            in_f, out_f = base.weight.shape
        else:
            in_f, out_f = base.in_features, base.out_features
        self.fan_in_fan_out = fan_in_fan_out
        self.lora_dropout = nn.ModuleDict({"default": nn.Dropout(p=dropout) if dropout > 0.0 else nn.Identity()})
        self.lora_A = nn.ModuleDict({"default": nn.Linear(in_f, r, bias=False)})
        self.lora_B = nn.ModuleDict({"default": nn.Linear(r, out_f, bias=lora_bias)})
        self.scaling = alpha / math.sqrt(r) if rslora else alpha / r
        if init is not False:
            if init is True:
                nn.init.kaiming_uniform_(self.lora_A["default"].weight, a=math.sqrt(5))
            else:
                nn.init.normal_(self.lora_A["default"].weight, std=1 / r)
            nn.init.zeros_(self.lora_B["default"].weight)
            if lora_bias:
                nn.init.zeros_(self.lora_B["default"].bias)

    def forward(self, x):
        result = self.base_layer(x)
        return result + self.lora_B["default"](self.lora_A["default"](self.lora_dropout["default"](x))) * self.scaling

    def delta(self):
        d = self.lora_B["default"].weight @ self.lora_A["default"].weight
        return (d.T if self.fan_in_fan_out else d) * self.scaling


def inject(model, match, **kw):
    for key, module in list(model.named_modules()):
        if key and match(key, module):
            parent = model.get_submodule(key.rpartition(".")[0]) if "." in key else model
            setattr(parent, key.rpartition(".")[2], LoraLinear(module, fan_in_fan_out=isinstance(module, Conv1D), **kw))


def adapter(model):
    out = {}
    for k, v in model.state_dict().items():
        if "lora_" in k:
            out["base_model.model." + k.replace(".default.", ".")] = v.detach().clone()
    return out


def merged_logits(model, ids, mask):
    with torch.no_grad():
        for _, m in list(model.named_modules()):
            if isinstance(m, LoraLinear):
                m.base_layer.weight += m.delta()
                if m.lora_B["default"].bias is not None:
                    m.base_layer.bias += m.lora_B["default"].bias * m.scaling
        for key, m in list(model.named_modules()):
            if isinstance(m, LoraLinear):
                parent = model.get_submodule(key.rpartition(".")[0])
                setattr(parent, key.rpartition(".")[2], m.base_layer)
        return model(ids, mask)


def base(name):
    _, cfg = CONFIGS[name]
    model = (GPT2LMHeadModel if cfg["model_type"] == "gpt2" else LlamaForCausalLM)(cfg)
    sd = load(os.path.join(DEC, name, "model.safetensors"))
    model.load_state_dict(sd, strict=False)  # tied weights are stored once
    return model


def main():
    os.makedirs(OUT, exist_ok=True)
    inputs = load(os.path.join(DEC, "inputs.safetensors"))
    ids, mask, labels = inputs["input_ids"], inputs["attention_mask"], inputs["labels"]
    cases = {}

    # llama_all_linear
    model = base("llama-llama3")
    torch.manual_seed(0)
    inject(model, lambda k, m: isinstance(m, nn.Linear) and k != "lm_head", r=4, alpha=8, dropout=0.1, init=True, rslora=False, lora_bias=False)
    init = adapter(model)
    for p in model.parameters():
        p.requires_grad_(False)
    params = [p for n, p in model.named_parameters() if "lora_" in n]
    for p in params:
        p.requires_grad_(True)
    opt = torch.optim.AdamW(params, lr=1e-2, weight_decay=0.0)
    losses = []
    torch.manual_seed(1)
    model.train()
    for _ in range(20):
        loss = causal_loss(model(ids, mask), labels)
        loss.backward()
        opt.step()
        opt.zero_grad()
        losses.append(loss.item())
    model.eval()
    with torch.no_grad():
        logits = model(ids, mask)
    final = adapter(model)
    save({**{"init." + k: v for k, v in init.items()}, **{"final." + k: v for k, v in final.items()},
          "logits": logits, "merged_logits": merged_logits(model, ids, mask)}, os.path.join(OUT, "llama_all_linear.safetensors"))
    cases["llama_all_linear"] = {"losses": losses}

    # gpt2_conv1d
    model = base("gpt2")
    torch.manual_seed(0)
    inject(model, lambda k, m: k.endswith(".c_attn") or k.endswith(".c_proj"), r=4, alpha=16, dropout=0.0, init=False, rslora=True, lora_bias=True)
    model.eval()
    with torch.no_grad():
        logits = model(ids, mask)
    save({**adapter(model), "logits": logits, "merged_logits": merged_logits(model, ids, mask)}, os.path.join(OUT, "gpt2_conv1d.safetensors"))

    # qwen3_gaussian
    model = base("qwen3")
    torch.manual_seed(0)
    inject(model, lambda k, m: k in ("model.layers.1.self_attn.q_proj", "model.layers.1.self_attn.v_proj"), r=2, alpha=4, dropout=0.0, init="gaussian",
           rslora=False, lora_bias=False)
    save(adapter(model), os.path.join(OUT, "qwen3_gaussian.safetensors"))

    with open(os.path.join(OUT, "run.json"), "w") as f:
        json.dump(cases, f)
        f.write("\n")
    print("llama losses", losses[0], "->", losses[-1])


if __name__ == "__main__":
    main()
