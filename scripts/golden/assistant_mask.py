"""Golden generation spans of chat templates with {% generation %} blocks, rendered by jinja2 with
transformers' AssistantTracker extension (utils/chat_template_utils.py), as apply_chat_template does with
return_assistant_tokens_mask=True:

    class AssistantTracker(Extension):
        tags = {"generation"}
        def parse(self, parser):
            lineno = next(parser.stream).lineno
            body = parser.parse_statements(["name:endgeneration"], drop_needle=True)
            return jinja2.nodes.CallBlock(self.call_method("_generation_support"), [], [], body).set_lineno(lineno)
        def _generation_support(self, context, caller):
            rv = caller()
            if self.is_active():
                start_index = len("".join(self._rendered_blocks)); end_index = start_index + len(rv)
                self._generation_indices.append((start_index, end_index))
            return rv
    render: with env.activate_tracker(rendered_blocks, generation_indices):
                for block in template.generate(**kwargs): rendered_blocks.append(block)

Run:  python3 scripts/golden/assistant_mask.py
"""
import json
import os
from contextlib import contextmanager

import jinja2
import jinja2.ext
import jinja2.nodes
from jinja2.ext import Extension
from jinja2.sandbox import ImmutableSandboxedEnvironment

OUT = os.path.join(os.path.dirname(__file__), "..", "..", "test", "fixtures", "golden", "chat", "assistant_masks.json")


class AssistantTracker(Extension):
    tags = {"generation"}

    def __init__(self, environment):
        super().__init__(environment)
        environment.extend(activate_tracker=self.activate_tracker)
        self._rendered_blocks = None
        self._generation_indices = None

    def parse(self, parser):
        lineno = next(parser.stream).lineno
        body = parser.parse_statements(["name:endgeneration"], drop_needle=True)
        return jinja2.nodes.CallBlock(self.call_method("_generation_support"), [], [], body).set_lineno(lineno)

    @jinja2.pass_eval_context
    def _generation_support(self, context, caller):
        rv = caller()
        if self.is_active():
            start_index = len("".join(self._rendered_blocks))
            self._generation_indices.append((start_index, start_index + len(rv)))
        return rv

    def is_active(self):
        return self._rendered_blocks or self._generation_indices

    @contextmanager
    def activate_tracker(self, rendered_blocks, generation_indices):
        try:
            self._rendered_blocks = rendered_blocks
            self._generation_indices = generation_indices
            yield
        finally:
            self._rendered_blocks = None
            self._generation_indices = None


DASHED = ("{%- for message in messages %}\n    {%- if message.role == 'assistant' %}\n        {{- '<|im_start|>assistant\\n' }}\n"
          "        {%- generation %}\n        {{- message.content + '<|im_end|>' }}\n        {%- endgeneration %}\n        {{- '\\n' }}\n"
          "    {%- else %}\n        {{- '<|im_start|>' + message.role + '\\n' + message.content + '<|im_end|>\\n' }}\n    {%- endif %}\n"
          "{%- endfor %}\n{%- if add_generation_prompt %}{{- '<|im_start|>assistant\\n' }}{%- endif %}\n")
PLAIN = ("{% for message in messages %}\n{% if message.role == 'assistant' %}\n<|im_start|>assistant\n  {% generation %}\n"
         "{{ message.content }}<|im_end|>\n  {% endgeneration %}\n\n{% else %}\n<|im_start|>{{ message.role }}\n{{ message.content }}<|im_end|>\n"
         "{% endif %}\n{% endfor %}\n")
CHAT = [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hi 👋"}, {"role": "assistant", "content": "Hello! Ünïcödé ok."},
        {"role": "user", "content": "Bye"}, {"role": "assistant", "content": "Goodbye."}]


def main():
    env = ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True, extensions=[AssistantTracker, jinja2.ext.loopcontrols])
    out = []
    for name, source in [("dashed", DASHED), ("plain", PLAIN)]:
        template = env.from_string(source)
        blocks, indices = [], []
        with template.environment.activate_tracker(blocks, indices):
            for block in template.generate(messages=CHAT, add_generation_prompt=False):
                blocks.append(block)
        out.append({"name": name, "template": source, "messages": CHAT, "rendered": "".join(blocks), "spans": indices})
    with open(OUT, "w", encoding="utf-8") as f:
        json.dump(out, f, ensure_ascii=False, indent=1)
        f.write("\n")
    for o in out:
        print(repr(o["rendered"]), o["spans"])


if __name__ == "__main__":
    main()
