"""Golden generations of the tiny decoders (decoders.py's models and weights), following transformers 5's
GenerationMixin without a cache (each step recomputes the whole sequence; the KV cache must not change the result):

  prepare_inputs_for_generation: position_ids = attention_mask.long().cumsum(-1) - 1; position_ids.masked_fill_(attention_mask == 0, 1)
  _sample: next_token_logits = outputs.logits[:, -1, :].to(dtype=torch.float32)
      next_token_scores = logits_processor(input_ids, next_token_logits)
      do_sample: probs = softmax(next_token_scores, -1); next_tokens = torch.multinomial(probs, num_samples=1).squeeze(1)
      else: next_tokens = torch.argmax(next_token_scores, dim=-1)
      next_tokens = next_tokens * unfinished_sequences + pad_token_id * (1 - unfinished_sequences)
      input_ids = cat([input_ids, next_tokens[:, None]], -1); attention_mask grows by ones
      unfinished_sequences = unfinished_sequences & ~stopping_criteria (EosTokenCriteria: isin(input_ids[:, -1], eos), MaxLengthCriteria)
  processors (HF's order): RepetitionPenalty (gather, where(score < 0, score * p, score / p), scatter), then with sampling
      Temperature (scores / t), TopK (scores < topk(...)[0][..., -1, None] → -inf), TopP (sort ascending, softmax, cumsum,
      <= 1 - top_p removed, the last kept, scatter back)

Run:  /usr/bin/python3 scripts/golden/generation.py
"""
import json
import os
import sys

import torch

sys.path.insert(0, os.path.dirname(__file__))
from decoders import CONFIGS, GPT2LMHeadModel, LlamaForCausalLM  # noqa: E402
from safetensors_io import load  # noqa: E402

FIX = os.path.join(os.path.dirname(__file__), "..", "..", "test", "fixtures", "golden", "decoders")


def processors(scores, ids, o):
    if o.get("repetition_penalty", 1.0) != 1.0:
        p = o["repetition_penalty"]
        score = torch.gather(scores, 1, ids)
        score = torch.where(score < 0, score * p, score / p)
        scores = scores.scatter(1, ids, score)
    if o.get("do_sample"):
        if o.get("temperature", 1.0) != 1.0:
            scores = scores / o["temperature"]
        if o.get("top_k", 50) != 0:
            k = min(o.get("top_k", 50), scores.size(-1))
            scores = scores.masked_fill(scores < torch.topk(scores, k)[0][..., -1, None], -float("inf"))
        if o.get("top_p", 1.0) < 1.0:
            sorted_logits, sorted_indices = torch.sort(scores, descending=False)
            cum = sorted_logits.softmax(dim=-1).cumsum(dim=-1)
            remove = cum <= (1 - o["top_p"])
            remove[..., -1:] = 0
            scores = scores.masked_fill(remove.scatter(1, sorted_indices, remove), -float("inf"))
    return scores


def generate(model, ids, mask, o, eos, pad):
    unfinished = torch.ones(ids.shape[0], dtype=torch.long)
    for _ in range(o["max_new_tokens"]):
        pos = mask.long().cumsum(-1) - 1
        pos.masked_fill_(mask == 0, 1)
        with torch.no_grad():
            logits = model(ids, mask, pos)[:, -1, :].to(torch.float32)
        scores = processors(logits, ids, o)
        if o.get("do_sample"):
            nxt = torch.multinomial(scores.softmax(-1), num_samples=1).squeeze(1)
        else:
            nxt = torch.argmax(scores, dim=-1)
        nxt = nxt * unfinished + pad * (1 - unfinished)
        ids = torch.cat([ids, nxt[:, None]], dim=-1)
        mask = torch.cat([mask, torch.ones((mask.shape[0], 1), dtype=mask.dtype)], dim=-1)
        unfinished = unfinished & ~torch.isin(nxt, torch.tensor(eos))
        if unfinished.max() == 0:
            break
    return ids


def main():
    prompts = [[5, 45, 17, 8, 93], [11, 56], [7, 9, 3, 4, 60, 61, 62]]
    L = max(len(p) for p in prompts)
    ids = torch.tensor([[0] * (L - len(p)) + p for p in prompts])
    mask = (torch.arange(L)[None, :] >= torch.tensor([L - len(p) for p in prompts])[:, None]).long()
    cases = [("greedy", {"max_new_tokens": 12}), ("penalty", {"max_new_tokens": 10, "repetition_penalty": 1.5}),
             ("sample", {"max_new_tokens": 10, "do_sample": True, "temperature": 0.7, "top_k": 8, "top_p": 0.9, "repetition_penalty": 1.2, "seed": 3})]
    out = {"prompts": prompts, "input_ids": ids.tolist(), "attention_mask": mask.tolist(), "models": {}}
    for name in ["gpt2", "llama-llama3", "qwen3", "mistral"]:
        _, cfg = CONFIGS[name]
        model = (GPT2LMHeadModel if cfg["model_type"] == "gpt2" else LlamaForCausalLM)(cfg)
        model.load_state_dict(load(os.path.join(FIX, name, "model.safetensors")), strict=False)
        model.eval()
        eos = [cfg.get("eos_token_id")]
        pad = 0
        res = {}
        for case, o in cases:
            if "seed" in o:
                torch.manual_seed(o["seed"])
            res[case] = generate(model, ids, mask, o, eos, pad).tolist()
            if case == "greedy":
                res["greedy_alone"] = [generate(model, torch.tensor([p]), torch.ones(1, len(p), dtype=torch.long), o, eos, pad).tolist()[0] for p in prompts]
        out["models"][name] = {"eos": eos, "pad": pad, **res}
    out["cases"] = {c: o for c, o in cases}
    with open(os.path.join(FIX, "generation.json"), "w") as f:
        json.dump(out, f)
        f.write("\n")
    print(json.dumps(out["models"]["llama-llama3"]["greedy"]))


if __name__ == "__main__":
    main()
