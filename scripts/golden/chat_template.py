"""Golden renderings of Qwen3's chat template as transformers 5 renders it, with Debian's python3-jinja2 in
transformers' environment (utils/chat_template_utils.py, _compile_jinja_template):

    def raise_exception(message): raise jinja2.exceptions.TemplateError(message)
    def tojson(x, ensure_ascii=False, indent=None, separators=None, sort_keys=False):
        return json.dumps(x, ensure_ascii=ensure_ascii, indent=indent, separators=separators, sort_keys=sort_keys)
    def strftime_now(format): return datetime.now().strftime(format)
    jinja_env = ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True, extensions=[AssistantTracker, jinja2.ext.loopcontrols])
    jinja_env.filters["tojson"] = tojson; jinja_env.globals["raise_exception"] = raise_exception; jinja_env.globals["strftime_now"] = strftime_now
and apply_chat_template's render: template.render(messages=conversation, tools=tools, documents=documents,
add_generation_prompt=add_generation_prompt, **special_tokens_map, **kwargs) — tools given as JSON schemas.

Run:  python3 scripts/golden/chat_template.py   (needs ../shared/data)
"""
import json
import os

import jinja2
import jinja2.ext
from jinja2.sandbox import ImmutableSandboxedEnvironment

HERE = os.path.dirname(__file__)
CONFIG = os.path.join(HERE, "..", "..", "..", "shared", "data", "models", "Qwen3-tokenizer", "tokenizer_config.json")
OUT = os.path.join(HERE, "..", "..", "test", "fixtures", "golden", "chat", "qwen3.json")


def raise_exception(message):
    raise jinja2.exceptions.TemplateError(message)


def tojson(x, ensure_ascii=False, indent=None, separators=None, sort_keys=False):
    return json.dumps(x, ensure_ascii=ensure_ascii, indent=indent, separators=separators, sort_keys=sort_keys)


WEATHER = {"type": "function", "function": {"name": "get_weather", "description": "Gets the weather in a city, e.g. \"Paris\" — in °C",
                                            "parameters": {"type": "object", "properties": {"city": {"type": "string", "description": "The city"},
                                                                                           "unit": {"type": "string", "enum": ["c", "f"]}},
                                                           "required": ["city"]}}}
CASES = [
    ("one user turn, generation prompt", [{"role": "user", "content": "Hello!"}], {"add_generation_prompt": True}),
    ("system, two turns, no generation prompt", [{"role": "system", "content": "You are terse."}, {"role": "user", "content": "Hi"},
                                                 {"role": "assistant", "content": "Hello."}, {"role": "user", "content": "Bye 👋 ünï"}], {}),
    ("enable_thinking false", [{"role": "user", "content": "2+2?"}], {"add_generation_prompt": True, "enable_thinking": False}),
    ("reasoning in the last assistant turn", [{"role": "user", "content": "Why?"},
                                              {"role": "assistant", "content": "Because.", "reasoning_content": "Let me think\nabout it."}], {}),
    ("think tags in content", [{"role": "user", "content": "Q1"}, {"role": "assistant", "content": "<think>\nhmm\n</think>\n\nA1"},
                               {"role": "user", "content": "Q2"}, {"role": "assistant", "content": "<think>\nsure\n</think>\n\nA2"}], {}),
    ("tools, a tool call and its response", [{"role": "system", "content": "Use tools."}, {"role": "user", "content": "Weather in Paris?"},
                                              {"role": "assistant", "content": "", "tool_calls": [{"type": "function", "function": {"name": "get_weather", "arguments": {"city": "Paris", "unit": "c"}}}]},
                                              {"role": "tool", "content": "{\"temp\": 21}"}, {"role": "tool", "content": "sunny"}],
     {"tools": [WEATHER], "add_generation_prompt": True}),
    ("string arguments and two calls", [{"role": "user", "content": "Two cities"},
                                        {"role": "assistant", "content": "Checking.", "tool_calls": [{"function": {"name": "get_weather", "arguments": "{\"city\": \"Rome\"}"}},
                                                                                                   {"name": "get_weather", "arguments": {"city": "Oslo"}}]}],
     {"tools": [WEATHER]}),
]


def main():
    with open(CONFIG, encoding="utf-8") as f:
        config = json.load(f)
    env = ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True, extensions=[jinja2.ext.loopcontrols])
    env.filters["tojson"] = tojson
    env.globals["raise_exception"] = raise_exception
    template = env.from_string(config["chat_template"])
    specials = {k: config[k] for k in ("bos_token", "eos_token", "pad_token", "unk_token") if k in config}
    out = []
    for name, messages, kwargs in CASES:
        rendered = template.render(messages=messages, tools=kwargs.get("tools"), documents=None, add_generation_prompt=kwargs.get("add_generation_prompt", False),
                                   **specials, **{k: v for k, v in kwargs.items() if k not in ("tools", "add_generation_prompt")})
        out.append({"name": name, "messages": messages, "options": kwargs, "rendered": rendered})
    with open(OUT, "w", encoding="utf-8") as f:
        json.dump(out, f, ensure_ascii=False, indent=1)
        f.write("\n")
    print(out[5]["rendered"])


if __name__ == "__main__":
    main()
