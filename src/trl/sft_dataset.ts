// SFTTrainer's dataset preparation (TRL 1.x, trl/trainer/sft_trainer.py `_prepare_dataset`, with
// trl/data_utils.py's is_conversational and maybe_convert_to_chatml): a formatting function, ShareGPT
// conversations to ChatML, EOS on plain text, tokenization of text, messages (through the chat
// template) and prompt–completion pairs, labels with -100 where no loss is wanted, truncation to
// maxLength, and packing.
import type { Dataset, Example } from "../datasets/index.js";
import type { ChatMessage, PreTrainedTokenizer } from "../tokenizers/index.js";
import { logger } from "../models/logging.js";
import { packDataset } from "./data_utils.js";
import type { SFTConfig } from "./sft_config.js";

const SUPPORTED_KEYS = ["prompt", "chosen", "rejected", "completion", "messages"];

/** TRL's is_conversational: the first of the known keys present holds a list whose first item is a { role } message. */
export function isConversational(example: Record<string, unknown>): boolean {
  // Python's set.pop() on the keys present; TRL's examples have one such key (or prompt with completion, both alike).
  const key = SUPPORTED_KEYS.find((k) => k in example);
  if (key === undefined) return false;
  const v = example[key];
  return Array.isArray(v) && v.length > 0 && isObject(v[0]) && "role" in v[0];
}

/** TRL's is_conversational_from_value: a `conversations` column of { from, value } messages (ShareGPT). */
export function isConversationalFromValue(example: Record<string, unknown>): boolean {
  const v = example.conversations;
  return Array.isArray(v) && v.length > 0 && isObject(v[0]) && "from" in v[0] && "value" in v[0];
}

/** TRL's maybe_convert_to_chatml: from/value become role/content, `conversations` becomes `messages`. */
export function maybeConvertToChatml(example: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = { ...example };
  for (const key of ["prompt", "completion", "chosen", "rejected", "messages", "conversations"]) {
    const v = out[key];
    if (!Array.isArray(v)) continue;
    out[key] = v.map((m: unknown) => {
      if (!isObject(m)) return m;
      const r: Record<string, unknown> = {};
      for (const [k, x] of Object.entries(m)) r[k === "from" ? "role" : k === "value" ? "content" : k] = x;
      return r;
    });
  }
  if ("conversations" in out) {
    out.messages = out.conversations;
    delete out.conversations;
  }
  return out;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === "object" && !Array.isArray(v);
}

export interface SftPrepareOptions {
  tokenizer: PreTrainedTokenizer;
  args: SFTConfig;
  packing: boolean;
  /** Whether labels skip the prompt of prompt–completion examples. */
  completionOnlyLoss: boolean;
  formattingFunc?: ((example: Example) => string) | null;
  /** A chat template to render with instead of the tokenizer's (SFTConfig.chatTemplatePath). */
  chatTemplate?: string | null;
  eosToken: string;
  datasetName: string;
}

type Ids = { input_ids: number[]; assistant_masks?: number[] };

/**
 * A message the chat template left out of its rendering (a role it does not know, such as
 * ShareGPT's "human"/"gpt" through a ChatML template) would train on a silently shortened
 * conversation: it fails here, naming the role. Messages whose content a template may rewrite
 * (reasoning in <think> blocks) are not checked.
 */
function checkRendered(messages: ChatMessage[], rendered: string, row: number): void {
  for (const [i, m] of messages.entries()) {
    const content = typeof m.content === "string" ? m.content.trim() : "";
    if (!content || content.includes("<think>") || content.includes("</think>")) continue;
    if (!rendered.includes(content)) {
      const roles = [...new Set(messages.map((x) => x.role))].map((r) => `'${r}'`).join(", ");
      throw new Error(
        `example ${row}: message ${i} (role '${m.role}') is missing from what the chat template renders: the template does not render that role. The conversation's roles are ${roles}; chat templates expect 'system', 'user' and 'assistant' (map ShareGPT's 'human'/'gpt' to 'user'/'assistant' first).`,
      );
    }
  }
}

function messagesOf(v: unknown, what: string): ChatMessage[] {
  if (!Array.isArray(v) || !v.every((m) => isObject(m) && typeof m.role === "string"))
    throw new TypeError(`${what} must be a list of { role, content } messages, got ${JSON.stringify(v)?.slice(0, 120)}`);
  return v as ChatMessage[];
}

/**
 * TRL's _prepare_dataset. Returns the dataset the Trainer trains on: input_ids and labels (plus
 * seq_lengths when packed, and the columns the source had, which the Trainer drops).
 */
export async function prepareSftDataset(dataset: Dataset, o: SftPrepareOptions): Promise<Dataset> {
  const { tokenizer, args } = o;
  let ds = dataset;
  if (ds.numRows === 0) throw new Error(`The ${o.datasetName} dataset is empty`);
  const isProcessed = ds.columnNames.includes("input_ids");
  if (o.formattingFunc && isProcessed) {
    logger.warning(
      "You passed a dataset that is already processed (contains an `input_ids` field) together with a formatting function. Therefore `formatting_func` will be ignored. Either remove the `formatting_func` or pass a dataset that is not already processed.",
    );
  }
  if (o.formattingFunc && !isProcessed) {
    const f = o.formattingFunc;
    ds = await ds.map((ex) => ({ text: f(ex) }), {
      desc: `Applying formatting function to ${o.datasetName} dataset`,
      fnKwargs: { formattingFunc: f.toString() },
    });
  }
  if (!isProcessed) {
    if (isConversationalFromValue(ds.at(0))) {
      ds = await ds.map(maybeConvertToChatml, {
        desc: `Converting ${o.datasetName} dataset to ChatML`,
        removeColumns: ds.columnNames.includes("conversations") ? "conversations" : undefined,
      });
    }
    const columns = ds.columnNames;
    if (!isConversational(ds.at(0))) {
      const eos = o.eosToken;
      ds = await ds.map(
        (ex) => {
          // Every row returns the same columns (a map's rows must agree).
          if (typeof ex.text === "string") return { text: ex.text.endsWith(eos) ? ex.text : ex.text + eos };
          if (typeof ex.completion === "string") return { completion: ex.completion.endsWith(eos) ? ex.completion : ex.completion + eos };
          return {};
        },
        { desc: `Adding EOS to ${o.datasetName} dataset`, removeColumns: columns.includes("messages") ? "messages" : undefined, fnKwargs: { eos } },
      );
    }
    const textField = args.datasetTextField;
    const assistantOnly = args.assistantOnlyLoss;
    const chatTemplate = o.chatTemplate ?? null;
    let mismatches = 0;
    ds = await ds.map(
      (ex, row) => {
        let tools = ex.tools ?? null;
        if (typeof tools === "string") tools = JSON.parse(tools);
        const chat = {
          chatTemplate,
          tools: tools as Record<string, unknown>[] | null,
          templateKwargs: (ex.chat_template_kwargs ?? {}) as Record<string, unknown>,
        };
        const render = (messages: ChatMessage[], extra: { addGenerationPrompt?: boolean; mask?: boolean }): Ids => {
          checkRendered(
            messages,
            tokenizer.applyChatTemplate(messages, { ...chat, addGenerationPrompt: extra.addGenerationPrompt, tokenize: false }),
            row ?? 0,
          );
          return extra.mask
            ? tokenizer.applyChatTemplate(messages, {
                ...chat,
                addGenerationPrompt: extra.addGenerationPrompt,
                returnDict: true,
                returnAssistantTokensMask: true,
              })
            : { input_ids: tokenizer.applyChatTemplate(messages, { ...chat, addGenerationPrompt: extra.addGenerationPrompt, returnDict: true }).input_ids };
        };
        const output: Record<string, unknown> = {};
        if ("prompt" in ex && ex.prompt !== null && ex.prompt !== undefined) {
          let promptIds: number[];
          let ids: number[];
          if (isConversational(ex)) {
            const prompt = messagesOf(ex.prompt, "prompt");
            const completion = messagesOf(ex.completion, "completion");
            promptIds = render(prompt, { addGenerationPrompt: true }).input_ids;
            const full = render([...prompt, ...completion], { mask: assistantOnly });
            ids = full.input_ids;
            if (full.assistant_masks) output.assistant_masks = full.assistant_masks;
          } else {
            if (typeof ex.prompt !== "string" || typeof ex.completion !== "string")
              throw new TypeError(
                `a prompt–completion example needs a string prompt and completion (or two lists of messages), got ${JSON.stringify(ex).slice(0, 120)}`,
              );
            promptIds = tokenizer(ex.prompt).input_ids;
            ids = tokenizer(ex.prompt + ex.completion).input_ids;
          }
          if (!promptIds.every((t, i) => ids[i] === t)) mismatches++;
          output.input_ids = ids;
          output.completion_mask = [
            ...new Array<number>(promptIds.length).fill(0),
            ...new Array<number>(Math.max(0, ids.length - promptIds.length)).fill(1),
          ].slice(0, ids.length);
        } else if (isConversational(ex)) {
          const r = render(messagesOf(ex.messages, "messages"), { mask: assistantOnly });
          output.input_ids = r.input_ids;
          if (r.assistant_masks) output.assistant_masks = r.assistant_masks;
        } else {
          const text = ex[textField];
          if (typeof text !== "string")
            throw new TypeError(`column '${textField}' (dataset_text_field) must hold strings, got ${JSON.stringify(text)?.slice(0, 80)}`);
          output.input_ids = tokenizer(text).input_ids;
        }
        if (Array.isArray(output.assistant_masks) && !output.assistant_masks.includes(1)) {
          throw new Error(
            "You're using `assistant_only_loss=True`, but at least one example has no assistant tokens. This usually means the tokenizer's chat template doesn't generate assistant masks — it may be missing the `{% generation %}` keyword. Please check the template and ensure it's correctly configured to support assistant masking.",
          );
        }
        return output;
      },
      { desc: `Tokenizing ${o.datasetName} dataset`, withIndices: true, fnKwargs: { textField, assistantOnly, chatTemplate } },
    );
    if (mismatches) {
      logger.warning(
        `Mismatch between tokenized prompt and the start of tokenized prompt+completion (${mismatches} examples). This may be due to unexpected tokenizer behavior, whitespace issues, or special token handling. Verify that the tokenizer is processing text consistently.`,
      );
    }
  }

  // Labels: -100 where a mask says no loss (the assistant mask always, the completion mask with completionOnlyLoss).
  if (!ds.columnNames.includes("labels")) {
    const maskColumns: string[] = [];
    if (o.completionOnlyLoss && ds.columnNames.includes("completion_mask")) maskColumns.push("completion_mask");
    if (ds.columnNames.includes("assistant_masks")) maskColumns.push("assistant_masks");
    ds = await ds.map(
      (ex) => {
        const masks = maskColumns.map((c) => ex[c] as number[]);
        return { labels: (ex.input_ids as number[]).map((t, i) => (masks.every((m) => m[i]) ? t : -100)) };
      },
      { desc: `Building labels for ${o.datasetName} dataset`, removeColumns: maskColumns, fnKwargs: { maskColumns } },
    );
  }

  const maxLength = args.maxLength;
  if (maxLength !== null && !o.packing) {
    const keepEnd = args.truncationMode === "keep_end";
    const lengths = (ds.column("input_ids") as number[][]).map((r) => r.length);
    const long = lengths.filter((n) => n > maxLength).length;
    if (long) {
      ds = await ds.map(
        (ex) => {
          const cut = (r: number[]) => (keepEnd ? r.slice(Math.max(0, r.length - maxLength)) : r.slice(0, maxLength));
          return { input_ids: cut(ex.input_ids as number[]), labels: cut(ex.labels as number[]) };
        },
        { desc: `Truncating ${o.datasetName} dataset`, fnKwargs: { maxLength, keepEnd } },
      );
    }
    // Examples left with no label (a prompt alone filling maxLength) give no loss: TRL drops them.
    const before = ds.numRows;
    ds = await ds.filter((ex) => (ex.labels as number[]).some((l) => l !== -100), { desc: `Dropping fully masked examples from ${o.datasetName} dataset` });
    const dropped = before - ds.numRows;
    if (long) {
      logger.warning(
        `${long} of ${lengths.length} examples in the ${o.datasetName} dataset are longer than max_length (${maxLength}) and were truncated to their ${keepEnd ? "last" : "first"} ${maxLength} tokens${dropped ? `; ${dropped} left without any label were dropped` : ""}. Raise max_length or enable packing to keep them whole.`,
      );
    }
    if (ds.numRows === 0) throw new Error(`Every example of the ${o.datasetName} dataset has all its labels ignored (-100): nothing to train on`);
  }

  if (o.packing) {
    if (maxLength === null) throw new Error("When packing is enabled, `max_length` can't be `None`.");
    ds = ds.selectColumns(["input_ids", "labels"]);
    if (args.shuffleDataset) ds = ds.shuffle({ seed: args.seed });
    ds = await packDataset(ds, maxLength, { strategy: args.packingStrategy });
  }
  if (args.shuffleDataset) ds = ds.shuffle({ seed: args.seed });
  return ds;
}
