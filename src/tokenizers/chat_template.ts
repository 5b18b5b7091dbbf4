// apply_chat_template, as transformers renders chat templates: the tokenizer's Jinja template
// (tokenizer_config.json's chat_template, a named one of a list, or chat_template.jinja beside the
// tokenizer) rendered by @huggingface/jinja — Hugging Face's own Jinja for chat templates, with
// trim_blocks, lstrip_blocks, loop controls, raise_exception, strftime_now and a tojson that writes
// what Python's json.dumps writes — with the special tokens and the caller's extra variables
// (enable_thinking, …) in scope; continueFinalMessage cuts the rendering after the last message.
import { Template } from "@huggingface/jinja";

/** A chat message: role and content, and what templates read beside them (tool_calls, reasoning_content, …). */
export interface ChatMessage {
  role: string;
  content?: string | null | Record<string, unknown>[];
  [key: string]: unknown;
}

export interface ChatTemplateOptions {
  /** JSON schemas of the tools (HF's `tools`). */
  tools?: Record<string, unknown>[] | null;
  documents?: Record<string, unknown>[] | null;
  /** A template string or a template name (of a tokenizer with several) instead of the tokenizer's default. */
  chatTemplate?: string | null;
  addGenerationPrompt?: boolean;
  continueFinalMessage?: boolean;
  /** Variables the template reads beyond the messages, under their template names (enable_thinking, …). */
  templateKwargs?: Record<string, unknown>;
}

export const NO_CHAT_TEMPLATE =
  "Cannot use chat template functions because tokenizer.chat_template is not set and no template argument was passed! For information about writing templates and setting the tokenizer.chat_template attribute, please see the documentation at https://huggingface.co/docs/transformers/main/en/chat_templating";

/** HF's get_chat_template: the template to use, by name among several, or the tool_use one when tools are given. */
export function pickChatTemplate(templates: string | Record<string, string> | null, requested: string | null | undefined, withTools: boolean): string {
  if (templates === null || templates === undefined) {
    if (requested) return requested;
    throw new Error(NO_CHAT_TEMPLATE);
  }
  if (typeof templates === "string") return requested ?? templates;
  if (requested && requested in templates) return templates[requested];
  if (requested) return requested;
  if (withTools && "tool_use" in templates) return templates.tool_use;
  if ("default" in templates) return templates.default;
  throw new Error(
    `This model has multiple chat templates with no default specified! Please either pass a chat template or the name of the template you wish to use to the \`chat_template\` argument. Available template names are ${JSON.stringify(Object.keys(templates).sort())}.`,
  );
}

const compiled = new Map<string, Template>();

// Private-use characters marking where {% generation %} blocks start and end in the rendering.
const GEN_START = "\uE000";
const GEN_END = "\uE001";

/**
 * transformers' AssistantTracker: {% generation %} … {% endgeneration %} mark the assistant's text.
 * @huggingface/jinja drops these tags in its preprocessing (after lstrip_blocks and trim_blocks, with
 * their whitespace control); the same steps here leave a marker character in each tag's place, so the
 * rendering tells where the marked text lies.
 */
function withGenerationMarkers(template: string): string {
  let t = template.replace(/^[ \t]*({[#%-])/gm, "$1").replace(/([#%-]})\n/g, "$1");
  let out = "";
  let last = 0;
  for (const m of t.matchAll(/{%(-?)\s*((?:end)?generation)\s*(-?)%}(\s*)/gs)) {
    const [full, lstrip, tag, rstrip, after] = m;
    let end = m.index;
    while (lstrip && end > last && /\s/.test(t[end - 1])) end--;
    out += t.slice(last, end) + (tag === "generation" ? GEN_START : GEN_END) + (rstrip ? "" : after);
    last = m.index + full.length;
  }
  t = out + t.slice(last);
  return t;
}

/** The rendering without its generation markers, and the [start, end) spans they enclosed (code points). */
export function generationSpans(rendered: string): { text: string; spans: [number, number][] } {
  // Spans count code points, as Python's str indices (HF's generation_indices).
  const spans: [number, number][] = [];
  let text = "";
  let at = 0;
  let open: number | null = null;
  for (const ch of rendered) {
    if (ch === GEN_START) open = at;
    else if (ch === GEN_END) {
      if (open !== null) spans.push([open, at]);
      open = null;
    } else {
      text += ch;
      at++;
    }
  }
  return { text, spans };
}

/** The rendering of one conversation (HF's render_jinja_template), with continue_final_message applied. */
export function renderChat(
  template: string,
  messages: ChatMessage[],
  specialTokens: Record<string, string>,
  o: ChatTemplateOptions & { markGeneration?: boolean } = {},
): string {
  if (!Array.isArray(messages)) throw new TypeError("applyChatTemplate: the conversation must be a list of { role, content } messages");
  messages.forEach((m, i) => {
    if (!m || typeof m !== "object" || typeof m.role !== "string")
      throw new TypeError(`applyChatTemplate: message ${i} has no role: ${JSON.stringify(m)?.slice(0, 100)}`);
  });
  if (o.continueFinalMessage && o.addGenerationPrompt) {
    throw new Error(
      "continue_final_message and add_generation_prompt are not compatible. Use continue_final_message when you want the model to continue the final message, and add_generation_prompt when you want to add a header that will prompt it to start a new assistant message instead.",
    );
  }
  const source = o.markGeneration ? withGenerationMarkers(template) : template;
  let t = compiled.get(source);
  if (!t) {
    t = new Template(source);
    compiled.set(source, t);
  }
  let rendered: string;
  try {
    rendered = t.render({
      ...specialTokens,
      ...(o.templateKwargs ?? {}),
      messages,
      tools: o.tools ?? null,
      documents: o.documents ?? null,
      add_generation_prompt: o.addGenerationPrompt ?? false,
    });
  } catch (e) {
    throw new Error(`the chat template failed: ${(e as Error).message}`);
  }
  if (o.continueFinalMessage) {
    let last = messages[messages.length - 1]?.content;
    if (Array.isArray(last)) {
      const block = [...last].reverse().find((b) => typeof b.text === "string");
      if (!block) throw new Error("continue_final_message is set but we could not find any text to continue in the final message!");
      last = block.text as string;
    }
    const text = String(last ?? "");
    const at = rendered.lastIndexOf(text.trim());
    if (!text.trim() || at < 0) {
      throw new Error(
        "continue_final_message is set but the final message does not appear in the chat after applying the chat template! This can happen if the chat template deletes portions of the final message. Please verify the chat template and final message in your chat to ensure they are compatible.",
      );
    }
    const lstripped = text.replace(/^\s+/, "");
    rendered = rendered.slice(at, at + lstripped.length) === text ? rendered.slice(0, at + lstripped.length) : rendered.slice(0, at + text.trim().length);
  }
  return rendered;
}
