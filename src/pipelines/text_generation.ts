// pipeline("text-generation"): transformers' TextGenerationPipeline — a prompt (a string, or chat
// messages rendered by the tokenizer's chat template with the generation prompt) continued by
// model.generate(), returned as HF does: [{ generated_text }] per sequence, the prompt included
// (returnFullText) — for chat, the conversation with the new assistant message appended (or the
// final assistant message continued).
import * as torch from "../torch/index.js";
import { Callable } from "../tokenizers/callable.js";
import type { ChatMessage, PreTrainedTokenizer } from "../tokenizers/index.js";
import type { GenerationMixin, GenerationOptions, PreTrainedModel } from "../models/index.js";

export interface TextGenerationOptions extends GenerationOptions {
  /** The prompt in the output (default true). */
  returnFullText?: boolean;
  /** Chat: continue the final (assistant) message instead of starting a new one (default: when the last message is the assistant's). */
  continueFinalMessage?: boolean;
  skipSpecialTokens?: boolean;
  /** Variables of the chat template (enable_thinking, …). */
  templateKwargs?: Record<string, unknown>;
  tools?: Record<string, unknown>[];
}
export type GeneratedText = { generated_text: string };
export type GeneratedChat = { generated_text: ChatMessage[] };

export interface TextGenerationPipeline {
  (prompt: string, o?: TextGenerationOptions): Promise<GeneratedText[]>;
  (messages: ChatMessage[], o: TextGenerationOptions & { returnFullText: false }): Promise<GeneratedText[]>;
  (messages: ChatMessage[], o?: TextGenerationOptions): Promise<GeneratedChat[]>;
}

export class TextGenerationPipeline extends Callable {
  constructor(
    readonly model: PreTrainedModel & GenerationMixin,
    readonly tokenizer: PreTrainedTokenizer,
  ) {
    super();
    if (typeof (model as Partial<GenerationMixin>).generate !== "function")
      throw new TypeError(`text-generation: ${model.constructor.name} cannot generate (a causal LM is needed)`);
  }

  protected override __call__(prompt: string | ChatMessage[], o: TextGenerationOptions = {}): Promise<GeneratedText[] | GeneratedChat[]> {
    return this.#run(prompt, o);
  }

  async #run(prompt: string | ChatMessage[], o: TextGenerationOptions): Promise<GeneratedText[] | GeneratedChat[]> {
    const { returnFullText = true, continueFinalMessage, skipSpecialTokens = true, templateKwargs, tools, ...generation } = o;
    const chat = Array.isArray(prompt);
    if (!chat && typeof prompt !== "string") throw new TypeError("text-generation: the prompt must be a string or a list of chat messages");
    const continueFinal = chat ? (continueFinalMessage ?? prompt[prompt.length - 1]?.role === "assistant") : false;
    const ids = chat
      ? this.tokenizer.applyChatTemplate(prompt, { addGenerationPrompt: !continueFinal, continueFinalMessage: continueFinal, templateKwargs, tools })
      : this.tokenizer(prompt).input_ids;
    if (ids.length === 0) throw new Error("text-generation: the prompt is empty");
    const input = torch.tensor([ids]);
    const defaults: GenerationOptions = generation.maxNewTokens === undefined && generation.maxLength === undefined ? { maxNewTokens: 256 } : {};
    const out = await this.model.generate(input, { ...defaults, tokenizer: this.tokenizer, ...generation });
    const rows = out.toArray() as number[][];
    torch.dispose([input, out]);
    const promptText = this.tokenizer.decode(ids, { skipSpecialTokens });
    return rows.map((row) => {
      // HF: the decoded sequence minus the decoded prompt's length.
      const text = this.tokenizer.decode(row, { skipSpecialTokens }).slice(promptText.length);
      if (!chat) return { generated_text: returnFullText ? (prompt as string) + text : text };
      if (!returnFullText) return { generated_text: text };
      const messages = prompt as ChatMessage[];
      if (continueFinal) {
        const last = messages[messages.length - 1];
        return { generated_text: [...messages.slice(0, -1), { role: last.role, content: `${String(last.content ?? "")}${text}` }] };
      }
      return { generated_text: [...messages, { role: "assistant", content: text }] };
    }) as GeneratedText[] | GeneratedChat[];
  }
}
