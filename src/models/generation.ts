// model.generate(), as transformers' GenerationMixin (generation/utils.py, transformers 5) for decoder
// LMs: greedy search or sampling, the logits processors in HF's order (repetition penalty, then with
// sampling temperature, top-k, top-p, min-p), HF's stopping criteria (max length, any EOS id, stop
// strings), a KV cache so the prompt is computed once and each step feeds one token, left-padded
// batches with position ids from the attention mask (each row generates what it would alone), finished
// rows filled with the pad id, numReturnSequences, and a streamer that receives tokens as they come.
import { existsSync } from "node:fs";
import { join } from "node:path";
import * as torch from "../torch/index.js";
import type { Tensor } from "../torch/index.js";
import type { PreTrainedTokenizer } from "../tokenizers/index.js";
import { readJsonObject } from "../util/files.js";
import { isChinese } from "../tokenizers/offsets.js";
import type { PreTrainedModel, ForwardOptions, LogitsOutput } from "./modeling_utils.js";
import { KvCache } from "./cache_utils.js";
import type { DecoderInputs } from "./llama/modeling_llama.js";
import { logger } from "./logging.js";

/** HF's GenerationConfig fields, camelCase (generation_config.json's snake_case names are read too). */
export interface GenerationOptions {
  maxNewTokens?: number;
  /** The total length, prompt included (default 20, as HF's); maxNewTokens wins when both are given. */
  maxLength?: number;
  doSample?: boolean;
  temperature?: number;
  topK?: number;
  topP?: number;
  minP?: number | null;
  repetitionPenalty?: number;
  eosTokenId?: number | number[] | null;
  padTokenId?: number | null;
  numReturnSequences?: number;
  /** Stop when the generated text ends a stop string (needs `tokenizer`). */
  stopStrings?: string | string[];
  tokenizer?: PreTrainedTokenizer;
  streamer?: Streamer;
  useCache?: boolean;
}

/** What a causal LM offers on top of forward (HF's GenerationMixin). */
export interface GenerationMixin {
  generate(inputs: Tensor | { input_ids: Tensor; attention_mask?: Tensor }, options?: GenerationOptions): Promise<Tensor>;
}

/** What receives the tokens as they are generated (HF's BaseStreamer): the prompt first, then each new token. */
export interface Streamer {
  put(tokens: number[]): void;
  end(): void;
}

const DEFAULTS = { maxLength: 20, doSample: false, temperature: 1.0, topK: 50, topP: 1.0, minP: null, repetitionPenalty: 1.0, numReturnSequences: 1 };

/** The model's generation_config.json (snake_case) as options, and its config's token ids where that file is silent. */
export function generationDefaults(model: PreTrainedModel): GenerationOptions {
  const c = model.config;
  const out: GenerationOptions = {
    eosTokenId: c.get<number | number[] | null>("eos_token_id") ?? null,
    padTokenId: c.get<number | null>("pad_token_id") ?? null,
  };
  const file = model.nameOrPath ? join(model.nameOrPath, "generation_config.json") : "";
  if (file && existsSync(file)) {
    const g = readJsonObject(file, "generation_config.json");
    const map: Record<string, keyof GenerationOptions> = {
      max_new_tokens: "maxNewTokens",
      max_length: "maxLength",
      do_sample: "doSample",
      temperature: "temperature",
      top_k: "topK",
      top_p: "topP",
      min_p: "minP",
      repetition_penalty: "repetitionPenalty",
      eos_token_id: "eosTokenId",
      pad_token_id: "padTokenId",
      num_return_sequences: "numReturnSequences",
      use_cache: "useCache",
    };
    for (const [k, name] of Object.entries(map)) if (g[k] !== undefined && g[k] !== null) (out as Record<string, unknown>)[name] = g[k];
  }
  return out;
}

type CausalLM = PreTrainedModel & { forward(inputs: DecoderInputs, o?: ForwardOptions & { logitsToKeep?: number }): LogitsOutput };

/** HF's RepetitionPenaltyLogitsProcessor: the scores of tokens already in the sequence divided by the penalty (multiplied when negative). */
function repetitionPenalty(scores: Tensor, ids: Tensor, penalty: number): Tensor {
  const score = scores.gather(1, ids);
  return scores.scatter(1, ids, torch.where(score.lt(0), score.mul(penalty), score.div(penalty)));
}

/** HF's TopKLogitsWarper: everything below the k-th best score becomes −inf. */
function topK(scores: Tensor, k: number): Tensor {
  const kk = Math.min(Math.max(k, 1), scores.shape[1]);
  const kth = scores.topk(kk, -1).values.narrow(-1, kk - 1, 1);
  return scores.maskedFill(scores.lt(kth), -Infinity);
}

/** HF's TopPLogitsWarper: the smallest set of tokens whose probability reaches topP (sorted ascending, the cumulative mass ≤ 1 − p removed; the best kept). */
function topP(scores: Tensor, p: number): Tensor {
  const { values, indices } = scores.sort(-1, false);
  const remove = values
    .softmax(-1)
    .cumsum(-1)
    .le(1 - p);
  const n = scores.shape[1];
  const keepLast = torch.cat([remove.narrow(1, 0, n - 1), torch.zeros([scores.shape[0], 1], { dtype: "bool", device: scores.device })], 1);
  return scores.maskedFill(keepLast.scatter(1, indices, keepLast), -Infinity);
}

/** HF's MinPLogitsWarper: tokens less likely than minP × the best token's probability are removed (the best always kept). */
function minP(scores: Tensor, m: number): Tensor {
  const probs = scores.softmax(-1);
  const remove = probs.lt(probs.max(-1, true).values.mul(m));
  const { indices } = scores.sort(-1, true);
  const sorted = remove.gather(1, indices);
  const n = scores.shape[1];
  const kept = torch.cat([torch.zeros([scores.shape[0], 1], { dtype: "bool", device: scores.device }), sorted.narrow(1, 1, n - 1)], 1);
  return scores.maskedFill(kept.scatter(1, indices, kept), -Infinity);
}

function checkOptions(
  o: Required<Pick<GenerationOptions, "temperature" | "topK" | "topP" | "repetitionPenalty" | "numReturnSequences">> & GenerationOptions,
): void {
  if (!(o.temperature > 0))
    throw new RangeError(`\`temperature\` (=${o.temperature}) has to be a strictly positive float, otherwise your next token scores will be invalid.`);
  if (!(o.topP >= 0 && o.topP <= 1)) throw new RangeError(`\`top_p\` has to be a float > 0 and < 1, but is ${o.topP}`);
  if (!Number.isInteger(o.topK) || o.topK < 0) throw new RangeError(`\`top_k\` has to be a strictly positive integer, but is ${o.topK}`);
  if (!(o.repetitionPenalty > 0)) throw new RangeError(`\`penalty\` has to be a strictly positive float, but is ${o.repetitionPenalty}`);
  if (o.minP !== null && o.minP !== undefined && !(o.minP >= 0 && o.minP <= 1))
    throw new RangeError(`\`min_p\` has to be a float in the [0, 1] interval, but is ${o.minP}`);
  if (!Number.isInteger(o.numReturnSequences) || o.numReturnSequences < 1)
    throw new RangeError(`numReturnSequences must be a positive integer, got ${o.numReturnSequences}`);
  if (o.maxNewTokens !== undefined && (!Number.isInteger(o.maxNewTokens) || o.maxNewTokens < 0)) {
    throw new RangeError(`\`max_new_tokens\` must be a non-negative integer, but is ${o.maxNewTokens}`);
  }
}

/**
 * HF's generate() for a causal LM: [rows × numReturnSequences, prompt + new tokens] ids, the prompt
 * kept as given (left padding included) and finished rows padded with the pad id.
 */
export async function generate(
  model: CausalLM,
  inputs: Tensor | { input_ids: Tensor; attention_mask?: Tensor },
  options: GenerationOptions = {},
): Promise<Tensor> {
  const given = inputs instanceof torch.Tensor ? { input_ids: inputs } : inputs;
  const o = {
    ...DEFAULTS,
    ...generationDefaults(model),
    ...Object.fromEntries(Object.entries(options).filter(([, v]) => v !== undefined)),
  } as typeof DEFAULTS & GenerationOptions;
  checkOptions(o);
  let ids = given.input_ids;
  if (!ids || ids.ndim !== 2) throw new TypeError("generate(): input_ids must be a [batch, length] tensor");
  const vocab = model.config.need<number>("vocab_size");
  const maxId = torch.tidy(() => ids.max().item());
  if (maxId >= vocab) throw new RangeError(`generate(): the prompt holds token id ${maxId}, but the model's vocab_size is ${vocab}`);
  const eos = o.eosTokenId === null || o.eosTokenId === undefined ? [] : Array.isArray(o.eosTokenId) ? o.eosTokenId : [o.eosTokenId];
  let pad = o.padTokenId ?? null;
  if (pad === null && eos.length) {
    logger.warning(`Setting \`pad_token_id\` to \`eos_token_id\`:${eos[0]} for open-end generation.`);
    pad = eos[0];
  }
  const stops = o.stopStrings === undefined ? [] : typeof o.stopStrings === "string" ? [o.stopStrings] : o.stopStrings;
  if (stops.length && !o.tokenizer) {
    throw new Error(
      "There are one or more stop strings, either in the arguments to `generate` or in the model's generation config, but we could not locate a tokenizer. When generating with stop strings, you must pass the model's tokenizer to the `tokenizer` argument of `generate`.",
    );
  }
  let mask = given.attention_mask ?? torch.onesLike(ids);
  const n = o.numReturnSequences;
  if (n > 1) {
    if (!o.doSample) throw new Error(`Greedy methods without beam search do not support \`num_return_sequences\` different than 1 (got ${n}).`);
    // HF's _expand_inputs_for_generation: each row repeated n times in place (repeat_interleave).
    const rowsIndex = torch.tensor(Array.from({ length: ids.shape[0] * n }, (_, i) => Math.floor(i / n)));
    ids = ids.indexSelect(0, rowsIndex);
    mask = mask.indexSelect(0, rowsIndex);
  }
  const promptLength = ids.shape[1];
  const maxLength = o.maxNewTokens !== undefined ? promptLength + o.maxNewTokens : o.maxLength;
  const maxPositions = model.config.get<number>("max_position_embeddings");
  if (maxPositions !== undefined && promptLength > maxPositions) {
    throw new RangeError(`generate(): the prompt has ${promptLength} tokens, more than the model's max_position_embeddings (${maxPositions})`);
  }
  if (promptLength >= maxLength) {
    logger.warning(
      `Input length of input_ids is ${promptLength}, but \`max_length\` is set to ${maxLength}. This can lead to unexpected behavior. You should consider increasing \`max_length\` or, better yet, setting \`max_new_tokens\`.`,
    );
  }
  const b = ids.shape[0];
  const cache = o.useCache === false ? null : new KvCache();
  const wasTraining = model.training;
  model.eval();
  const streamer = o.streamer;
  if (streamer && b > 1) throw new Error("TextStreamer only supports batch size 1");
  streamer?.put((ids.toArray() as number[][])[0]);
  const unfinished = new Array<boolean>(b).fill(true);
  const rows: number[][] = ids.toArray() as number[][];
  let all = torch.keep(ids.clone());
  let fullMask = torch.keep(mask.clone());
  try {
    while (all.shape[1] < maxLength && unfinished.some((u) => u)) {
      const next = torch.noGrad(() =>
        torch.tidy(() => {
          // HF's prepare_inputs_for_generation: positions from the mask (left padding starts at 0), the new tokens only once cached.
          const positions = fullMask.cumsum(-1).sub(1).maskedFill(fullMask.eq(0), 1);
          const past = cache?.length ?? 0;
          const stepIds = cache ? all.narrow(1, past, all.shape[1] - past) : all;
          const stepPositions = positions.narrow(1, positions.shape[1] - stepIds.shape[1], stepIds.shape[1]);
          const out = model.forward(
            { input_ids: stepIds, attention_mask: fullMask, position_ids: stepPositions, pastKeyValues: cache ?? undefined },
            { logitsToKeep: 1 },
          );
          let scores = out.logits.select(1, out.logits.shape[1] - 1).float();
          if (o.repetitionPenalty !== 1) scores = repetitionPenalty(scores, all, o.repetitionPenalty);
          let token: Tensor;
          if (o.doSample) {
            if (o.temperature !== 1) scores = scores.div(o.temperature);
            if (o.topK !== 0) scores = topK(scores, o.topK);
            if (o.topP < 1) scores = topP(scores, o.topP);
            if (o.minP !== null && o.minP !== undefined) scores = minP(scores, o.minP);
            token = scores.softmax(-1).multinomial(1).squeeze(1);
          } else token = scores.argmax(-1);
          return token;
        }),
      );
      const tokens = (next.toArray() as number[]).map((t, i) => (unfinished[i] ? t : pad!));
      next.dispose();
      const column = torch.tensor(tokens.map((t) => [t]));
      const grown = torch.cat([all, column], 1);
      const grownMask = torch.cat([fullMask, torch.onesLike(column)], 1);
      torch.dispose([all, fullMask, column]);
      all = torch.keep(grown);
      fullMask = torch.keep(grownMask);
      tokens.forEach((t, i) => rows[i].push(t));
      streamer?.put([tokens[0]]);
      for (let i = 0; i < b; i++) {
        if (!unfinished[i]) continue;
        if (eos.includes(tokens[i])) unfinished[i] = false;
        else if (stops.length && endsWithStop(o.tokenizer!, rows[i].slice(promptLength), stops)) unfinished[i] = false;
      }
      // Let other work (a streamer's reader) run between tokens.
      await new Promise<void>((resolve) => setImmediate(resolve));
    }
  } finally {
    cache?.dispose();
    fullMask.dispose();
    if (wasTraining) model.train();
    streamer?.end();
  }
  return all;
}

/** HF's StopStringCriteria, as text: the newest token completes one of the stop strings. */
function endsWithStop(tokenizer: PreTrainedTokenizer, generated: number[], stops: string[]): boolean {
  const text = tokenizer.decode(generated);
  const before = tokenizer.decode(generated.slice(0, -1));
  return stops.some((s) => text.indexOf(s, Math.max(0, before.length - s.length + 1)) >= 0);
}

/**
 * HF's TextIteratorStreamer: the text as it is generated, as an async iterator — whole words (up to
 * the last space), a line at its end, a CJK character at once; the prompt skipped with skipPrompt.
 */
export class TextIteratorStreamer implements Streamer, AsyncIterable<string> {
  #cache: number[] = [];
  #printed = 0;
  #promptNext = true;
  #queue: (string | null)[] = [];
  #wake: (() => void) | null = null;
  constructor(
    readonly tokenizer: PreTrainedTokenizer,
    readonly o: { skipPrompt?: boolean; skipSpecialTokens?: boolean } = {},
  ) {}
  put(tokens: number[]): void {
    if (this.o.skipPrompt && this.#promptNext) {
      this.#promptNext = false;
      return;
    }
    this.#promptNext = false;
    this.#cache.push(...tokens);
    const text = this.tokenizer.decode(this.#cache, { skipSpecialTokens: this.o.skipSpecialTokens });
    let printable: string;
    if (text.endsWith("\n")) {
      printable = text.slice(this.#printed);
      this.#cache = [];
      this.#printed = 0;
    } else if (text.length > 0 && isChinese(text.codePointAt(text.length - 1) ?? 0)) {
      printable = text.slice(this.#printed);
      this.#printed += printable.length;
    } else {
      printable = text.slice(this.#printed, text.lastIndexOf(" ") + 1);
      this.#printed += printable.length;
    }
    this.#emit(printable);
  }
  end(): void {
    const text = this.#cache.length ? this.tokenizer.decode(this.#cache, { skipSpecialTokens: this.o.skipSpecialTokens }).slice(this.#printed) : "";
    this.#cache = [];
    this.#printed = 0;
    this.#promptNext = true;
    this.#emit(text);
    this.#queue.push(null);
    this.#wake?.();
  }
  #emit(text: string): void {
    if (!text) return;
    this.#queue.push(text);
    this.#wake?.();
  }
  async *[Symbol.asyncIterator](): AsyncIterator<string> {
    for (;;) {
      while (this.#queue.length === 0) await new Promise<void>((resolve) => (this.#wake = resolve));
      this.#wake = null;
      const next = this.#queue.shift()!;
      if (next === null) return;
      yield next;
    }
  }
}
