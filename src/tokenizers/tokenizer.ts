// PreTrainedTokenizer: what transformers' PreTrainedTokenizerFast adds on top of a tokenizer.json
// pipeline (run by @huggingface/tokenizers): pairs, truncation, padding, batches, tensors, special
// tokens, offsets, decoding and savePretrained. Callable like in Python: tokenizer(text, textPair, opts).
import { createHash } from "node:crypto";
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { Tokenizer } from "@huggingface/tokenizers";
import { generationSpans, pickChatTemplate, renderChat, type ChatMessage, type ChatTemplateOptions } from "./chat_template.js";
import { templateOf, applyTemplate, numSpecialTokens, type Template } from "./template.js";
import { truncatePair, windowPairs, type TruncationStrategy } from "./truncation.js";
import { wordPieceOffsets, type BertNormalization } from "./offsets.js";
import { Callable } from "./callable.js";
import { writeFileAtomic } from "../util/files.js";
import { recordDependency } from "../util/dependencies.js";
import { tensorMaker } from "../util/tensor_maker.js";
import type { Tensor } from "../torch/index.js";

export type TextInput = string | string[] | string[][];
export type PaddingStrategy = "longest" | "max_length" | "do_not_pad";
export type Side = "right" | "left";

export interface EncodeOptions {
  textPair?: TextInput | null;
  addSpecialTokens?: boolean;
  /** true = 'longest_first'. */
  truncation?: boolean | TruncationStrategy;
  maxLength?: number | null;
  stride?: number;
  /** true = 'longest'. */
  padding?: boolean | PaddingStrategy;
  padToMultipleOf?: number | null;
  paddingSide?: Side;
  truncationSide?: Side;
  /** "pt": int64 Tensors (finetune-ts/torch); otherwise plain arrays. */
  returnTensors?: "pt" | null;
  returnTokenTypeIds?: boolean;
  returnAttentionMask?: boolean;
  returnOffsetsMapping?: boolean;
  returnOverflowingTokens?: boolean;
  returnSpecialTokensMask?: boolean;
  returnLength?: boolean;
  /**
   * HF's is_split_into_words: the input is already split into words (a string[] is one example, a
   * string[][] a batch); each word is tokenized on its own, wordIds() maps tokens to the words, and
   * offsets are relative to each word.
   */
  isSplitIntoWords?: boolean;
}

/** HF's BatchEncoding keys; arrays per example for a batch, flat arrays for one text. */
export type BatchEncoding = Record<string, unknown> & {
  input_ids: unknown;
  attention_mask?: unknown;
  token_type_ids?: unknown;
  /** Per token of row batchIndex: 0/1 for the sequence it came from, null for special tokens and padding (HF's sequence_ids()). Absent on returnTensors: "pt" outputs. */
  sequenceIds?: (batchIndex?: number) => (number | null)[];
  /** Per token of row batchIndex: the index of the word it belongs to, null for special tokens and padding (HF's word_ids()). */
  wordIds?: (batchIndex?: number) => (number | null)[];
};

export const VERY_LARGE_INTEGER = 1e30;

/** One object of lists ({ input_ids: [...], labels: [...] }) as rows; every column as long as input_ids. */
function rowsOfColumns(columns: Record<string, unknown[]>): Record<string, unknown>[] {
  if (columns === null || typeof columns !== "object") throw new TypeError("pad(): expected a list of features or an object of lists");
  const ids = columns.input_ids;
  if (!Array.isArray(ids)) throw new TypeError("pad(): the batch has no input_ids list");
  const entries = Object.entries(columns);
  for (const [k, v] of entries) {
    if (!Array.isArray(v)) throw new TypeError(`pad(): column '${k}' of the batch is not a list`);
    if (v.length !== ids.length) throw new RangeError(`pad(): column '${k}' has ${v.length} values, 'input_ids' has ${ids.length}`);
  }
  return ids.map((_, i) => Object.fromEntries(entries.map(([k, v]) => [k, v[i]])));
}

type Json = Record<string, unknown>;
const SPECIAL_KEYS = ["bos_token", "eos_token", "unk_token", "sep_token", "pad_token", "cls_token", "mask_token"] as const;
type SpecialKey = (typeof SPECIAL_KEYS)[number];
// Tokenizers whose models take no token_type_ids (transformers' model_input_names for them).
const NO_TOKEN_TYPES = /^(Roberta|DistilBert|GPT2|Bart|Camembert|XLMRoberta|Longformer|MPNet|Deberta(?!V2))/;

export function tokenContent(v: unknown): string | null {
  if (typeof v === "string") return v;
  if (v && typeof v === "object" && typeof (v as Json).content === "string") return (v as Json).content as string;
  return null;
}

interface Encoded {
  ids: number[];
  tokens: string[];
  offsets: [number, number][] | null;
  /** The word of each token, or null where the tokenizer cannot tell words apart (not split into words, not WordPiece). */
  words: number[] | null;
}

interface Row {
  input_ids: number[];
  token_type_ids: number[];
  attention_mask: number[];
  special_tokens_mask: number[];
  offset_mapping: [number, number][] | null;
  overflow_to_sample_mapping: number;
  /** Per token: 0 or 1 for the sequence it came from, null for a special token (HF's sequence_ids()). */
  sequence_ids: (number | null)[];
  /** Per token: the index of its word in its sequence, null for a special token; null when unknown. */
  word_ids: (number | null)[] | null;
}

/** What a call with `returnTensors: "pt"` returns: int64 tensors a model's forward takes as they are. */
export interface TensorEncoding {
  input_ids: Tensor;
  attention_mask: Tensor;
  token_type_ids?: Tensor;
  [key: string]: Tensor | undefined;
}

/** What a call returns without returnTensors: ids per text (`number[]`), or per text of a batch (`number[][]`). */
export interface Encoding<Ids> {
  input_ids: Ids;
  attention_mask: Ids;
  token_type_ids?: Ids;
  /** Per token of row batchIndex (default 0): 0/1 for the sequence it came from, null for special tokens and padding (HF's sequence_ids()). */
  sequenceIds(batchIndex?: number): (number | null)[];
  /** Per token of row batchIndex (default 0): the index of its word, null for special tokens and padding (HF's word_ids()). */
  wordIds(batchIndex?: number): (number | null)[];
  [key: string]: unknown;
}

// With overflowing tokens one text gives several windows (number[][]): such calls return an OverflowEncoding.
type PlainOptions = EncodeOptions & { returnTensors?: null; returnOverflowingTokens?: false };
type OverflowOptions = EncodeOptions & { returnTensors?: null; returnOverflowingTokens: true };

/**
 * A call with returnOverflowingTokens: one row per window, each window's text in
 * overflow_to_sample_mapping, and (with returnOffsetsMapping) each token's [start, end) in its text.
 */
export type OverflowEncoding<O> = Encoding<number[][]> & { overflow_to_sample_mapping: number[] } & (O extends { returnOffsetsMapping: true }
    ? { offset_mapping: [number, number][][] }
    : unknown) &
  (O extends { returnLength: true } ? { length: number[] } : unknown);

export interface PreTrainedTokenizer {
  (text: TextInput, opts: EncodeOptions & { returnTensors: "pt" }): TensorEncoding;
  (text: TextInput, textPair: TextInput | null, opts: EncodeOptions & { returnTensors: "pt" }): TensorEncoding;
  (text: string, opts?: PlainOptions): Encoding<number[]>;
  (text: string, textPair: string | null, opts?: PlainOptions): Encoding<number[]>;
  (words: string[], opts: PlainOptions & { isSplitIntoWords: true }): Encoding<number[]>;
  (words: string[][], opts: PlainOptions & { isSplitIntoWords: true }): Encoding<number[][]>;
  (text: string[], opts?: PlainOptions): Encoding<number[][]>;
  (text: string[], textPair: string[] | null, opts?: PlainOptions): Encoding<number[][]>;
  <O extends OverflowOptions>(text: string | string[], textPair: string | string[] | null, opts: O): OverflowEncoding<O>;
  <O extends OverflowOptions>(text: string | string[], opts: O): OverflowEncoding<O>;
  (text: TextInput, textPair?: TextInput | EncodeOptions | null, opts?: EncodeOptions): BatchEncoding;
}

export class PreTrainedTokenizer extends Callable {
  readonly nameOrPath: string;
  readonly tokenizerJson: Json;
  readonly config: Json;
  readonly modelMaxLength: number;
  paddingSide: Side;
  truncationSide: Side;
  readonly modelInputNames: string[];
  readonly specialTokens: Partial<Record<SpecialKey, string>>;
  readonly additionalSpecialTokens: string[];
  readonly #tk: Tokenizer;
  readonly #template: Template;
  readonly #normalization: BertNormalization | null;
  readonly #wordPiece: { prefix: string; unk: string } | null;
  #warnedMaxLength = false;
  readonly #chunkCache: Map<string, { ids: number[]; tokens: string[] }> | null;
  readonly #addedContents: string[];

  constructor(tokenizerJson: Json, config: Json, specialTokensMap: Json, nameOrPath: string) {
    super();
    const where = `tokenizer ${nameOrPath}`;
    for (const key of ["model", "normalizer", "pre_tokenizer", "post_processor", "decoder", "added_tokens"]) {
      if (!(key in tokenizerJson)) throw new Error(`${where}: tokenizer.json has no '${key}' entry`);
    }
    const model = tokenizerJson.model as Json;
    if (!model || typeof model !== "object" || !model.vocab) throw new Error(`${where}: tokenizer.json 'model' has no vocab`);
    this.nameOrPath = nameOrPath;
    this.tokenizerJson = tokenizerJson;
    this.config = config;
    this.#tk = new Tokenizer(tokenizerJson, config);
    this.#template = templateOf(tokenizerJson.post_processor as Json | null, where);
    const mml = config.model_max_length;
    this.modelMaxLength = typeof mml === "number" && mml > 0 ? mml : VERY_LARGE_INTEGER;
    this.paddingSide = (config.padding_side as Side) ?? "right";
    this.truncationSide = (config.truncation_side as Side) ?? "right";
    const cls = String(config.tokenizer_class ?? "");
    this.modelInputNames = Array.isArray(config.model_input_names)
      ? (config.model_input_names as string[])
      : NO_TOKEN_TYPES.test(cls)
        ? ["input_ids", "attention_mask"]
        : ["input_ids", "token_type_ids", "attention_mask"];
    const specials: Partial<Record<SpecialKey, string>> = {};
    for (const k of SPECIAL_KEYS) {
      const v = tokenContent(specialTokensMap[k]) ?? tokenContent(config[k]);
      if (v !== null) specials[k] = v;
    }
    this.specialTokens = specials;
    const extra = (specialTokensMap.additional_special_tokens ?? config.additional_special_tokens ?? []) as unknown[];
    this.additionalSpecialTokens = extra.map(tokenContent).filter((t): t is string => t !== null);
    const norm = tokenizerJson.normalizer as Json | null;
    this.#normalization =
      norm?.type === "BertNormalizer"
        ? {
            cleanText: norm.clean_text !== false,
            handleChineseChars: norm.handle_chinese_chars !== false,
            stripAccents: norm.strip_accents === true || ((norm.strip_accents ?? null) === null && norm.lowercase !== false),
            lowercase: norm.lowercase !== false,
          }
        : null;
    const pre = tokenizerJson.pre_tokenizer as Json | null;
    this.#chunkCache = norm?.type === "BertNormalizer" && pre?.type === "BertPreTokenizer" ? new Map() : null;
    this.#addedContents = ((tokenizerJson.added_tokens as Json[]) ?? []).map((t) => String(t.content)).filter((c) => c.length > 0);
    this.#wordPiece =
      model.type === "WordPiece" || ("continuing_subword_prefix" in model && "unk_token" in model && !("merges" in model))
        ? { prefix: String(model.continuing_subword_prefix ?? "##"), unk: String(model.unk_token ?? "[UNK]") }
        : null;
  }

  // ---- vocabulary and special tokens ----
  /** The model's vocabulary size, without added tokens (HF's `vocab_size`). */
  get vocabSize(): number {
    const v = (this.tokenizerJson.model as Json).vocab;
    return Array.isArray(v) ? v.length : Object.keys(v as Json).length;
  }
  /** Vocabulary with added tokens (Python's len(tokenizer)). */
  get length(): number {
    return this.#tk.get_vocab(true).size;
  }
  getVocab(): Map<string, number> {
    return this.#tk.get_vocab(true);
  }
  #special(k: SpecialKey): string | null {
    return this.specialTokens[k] ?? null;
  }
  #specialId(k: SpecialKey): number | null {
    const t = this.#special(k);
    return t === null ? null : (this.#tk.token_to_id(t) ?? null);
  }
  /** HF's `tokenizer.pad_token = tokenizer.eos_token` (a tokenizer without one, as GPT-2's, before padding). */
  set padToken(token: string | null) {
    if (token === null) delete this.specialTokens.pad_token;
    else {
      if (this.#tk.token_to_id(token) === undefined) throw new Error(`padToken: '${token}' is not in the vocabulary`);
      this.specialTokens.pad_token = token;
    }
  }
  get padToken(): string | null {
    return this.#special("pad_token");
  }
  get padTokenId(): number | null {
    return this.#specialId("pad_token");
  }
  get clsToken(): string | null {
    return this.#special("cls_token");
  }
  get clsTokenId(): number | null {
    return this.#specialId("cls_token");
  }
  get sepToken(): string | null {
    return this.#special("sep_token");
  }
  get sepTokenId(): number | null {
    return this.#specialId("sep_token");
  }
  get unkToken(): string | null {
    return this.#special("unk_token");
  }
  get unkTokenId(): number | null {
    return this.#specialId("unk_token");
  }
  get maskToken(): string | null {
    return this.#special("mask_token");
  }
  get maskTokenId(): number | null {
    return this.#specialId("mask_token");
  }
  get bosToken(): string | null {
    return this.#special("bos_token");
  }
  get bosTokenId(): number | null {
    return this.#specialId("bos_token");
  }
  get eosToken(): string | null {
    return this.#special("eos_token");
  }
  get eosTokenId(): number | null {
    return this.#specialId("eos_token");
  }
  get allSpecialTokens(): string[] {
    return [...new Set([...Object.values(this.specialTokens), ...this.additionalSpecialTokens])];
  }
  get allSpecialIds(): number[] {
    return this.allSpecialTokens.map((t) => this.#tk.token_to_id(t)).filter((i): i is number => i !== undefined);
  }

  /**
   * HF's get_special_tokens_mask(ids, already_has_special_tokens=True): 1 where the id is one of the
   * special tokens' (padding included), 0 elsewhere. (Without special tokens already in, HF asks the
   * template where they would go; that form is not offered here.)
   */
  getSpecialTokensMask(ids: readonly number[], o: { alreadyHasSpecialTokens: true }): number[] {
    if (o?.alreadyHasSpecialTokens !== true) throw new TypeError("getSpecialTokensMask(): only { alreadyHasSpecialTokens: true } is supported");
    const special = new Set(this.allSpecialIds);
    return ids.map((id) => (special.has(id) ? 1 : 0));
  }

  convertTokensToIds(tokens: string): number;
  convertTokensToIds(tokens: string[]): number[];
  convertTokensToIds(tokens: string | string[]): number | number[] {
    const unk = this.unkTokenId;
    const one = (t: string) => {
      if (typeof t !== "string") throw new TypeError(`convertTokensToIds(): tokens must be strings, got ${typeof t}`);
      const id = this.#tk.token_to_id(t) ?? unk;
      if (id === null) throw new Error(`convertTokensToIds(): '${t}' is not in the vocabulary and there is no unk_token`);
      return id;
    };
    return Array.isArray(tokens) ? tokens.map(one) : one(tokens);
  }

  convertIdsToTokens(ids: number): string;
  convertIdsToTokens(ids: number[], o?: { skipSpecialTokens?: boolean }): string[];
  convertIdsToTokens(ids: number | number[], o: { skipSpecialTokens?: boolean } = {}): string | string[] {
    const special = new Set(this.allSpecialIds);
    const one = (id: number) => {
      const t = this.#tk.id_to_token(id);
      if (t === undefined) throw new RangeError(`convertIdsToTokens(): id ${id} is outside the vocabulary (size ${this.length})`);
      return t;
    };
    if (!Array.isArray(ids)) return one(ids);
    return ids.filter((id) => !(o.skipSpecialTokens && special.has(id))).map(one);
  }

  /** The tokens of a text (and pair), without the special tokens (HF's tokenize()). */
  tokenize(text: string, o: { pair?: string; addSpecialTokens?: boolean } = {}): string[] {
    checkText(text, "text");
    const enc = this.encode(text, o.pair ?? null, { addSpecialTokens: o.addSpecialTokens ?? false });
    return this.convertIdsToTokens(enc.input_ids as number[]);
  }

  // ---- encoding ----
  /**
   * The library's encoding of a text without special tokens. For BERT's pipeline (a per-character
   * normalizer, then a split on whitespace and punctuation) ASCII whitespace always separates words,
   * so each whitespace-separated chunk encodes on its own, and a corpus repeats its chunks: they are
   * cached. Texts that hold an added token literally take the library's path whole.
   */
  #plain(text: string): { ids: number[]; tokens: string[] } {
    if (!this.#chunkCache || this.#addedContents.some((a) => text.includes(a))) {
      const e = this.#tk.encode(text, { add_special_tokens: false });
      return { ids: e.ids, tokens: e.tokens };
    }
    const ids: number[] = [];
    const tokens: string[] = [];
    for (const chunk of text.split(/[ \t\n\r]+/)) {
      if (chunk === "") continue;
      let hit = this.#chunkCache.get(chunk);
      if (hit === undefined) {
        const e = this.#tk.encode(chunk, { add_special_tokens: false });
        hit = { ids: e.ids, tokens: e.tokens };
        if (this.#chunkCache.size >= 500_000) this.#chunkCache.clear();
        this.#chunkCache.set(chunk, hit);
      }
      for (let k = 0; k < hit.ids.length; k++) {
        ids.push(hit.ids[k]);
        tokens.push(hit.tokens[k]);
      }
    }
    return { ids, tokens };
  }

  #encodeOne(text: string, wantOffsets: boolean): Encoded {
    const e = this.#plain(text);
    let offsets: [number, number][] | null = null;
    if (wantOffsets) {
      if (!this.#normalization || !this.#wordPiece) {
        throw new Error(`returnOffsetsMapping is supported for WordPiece tokenizers with a BertNormalizer (BERT family); ${this.nameOrPath} has neither`);
      }
      offsets = wordPieceOffsets(text, e.tokens, this.#normalization, { ...this.#wordPiece, specials: this.allSpecialTokens });
    }
    return { ids: e.ids, tokens: e.tokens, offsets, words: this.#wordPieceWords(e.tokens) };
  }

  /**
   * The words of WordPiece tokens: BERT's pre-tokenizer splits on whitespace and punctuation, and a
   * piece that continues a word carries the "##" prefix, so a token without it starts a new word.
   */
  #wordPieceWords(tokens: string[]): number[] | null {
    if (!this.#wordPiece) return null;
    const prefix = this.#wordPiece.prefix;
    let word = -1;
    return tokens.map((t) => (t.startsWith(prefix) && word >= 0 ? word : ++word));
  }

  /** A pre-split example (HF's is_split_into_words): each word tokenized on its own; offsets within each word. */
  #encodeWords(words: string[], wantOffsets: boolean, what: string): Encoded {
    const out: Encoded = { ids: [], tokens: [], offsets: wantOffsets ? [] : null, words: [] };
    words.forEach((w, k) => {
      checkText(w, `${what}[${k}]`);
      const e = this.#encodeOne(w, wantOffsets);
      out.ids.push(...e.ids);
      out.tokens.push(...e.tokens);
      if (out.offsets) out.offsets.push(...e.offsets!);
      for (let j = 0; j < e.ids.length; j++) out.words!.push(k);
    });
    return out;
  }

  protected override __call__(text: TextInput, textPair?: TextInput | EncodeOptions | null, opts?: EncodeOptions): BatchEncoding {
    return this.encode(text, textPair, opts);
  }

  /**
   * A hash of what decides this tokenizer's output: its files' content (tokenizer.json, config,
   * special tokens) and the settings that can change after loading. Recorded as a dependency of a
   * dataset map that calls the tokenizer, so the map's cache key changes with the tokenizer.
   */
  get contentHash(): string {
    this.#contentHash ??= createHash("sha256")
      .update(JSON.stringify([this.tokenizerJson, this.config, this.specialTokens, this.additionalSpecialTokens]))
      .digest("hex");
    return createHash("sha256")
      .update(JSON.stringify([this.#contentHash, this.paddingSide, this.truncationSide]))
      .digest("hex")
      .slice(0, 32);
  }
  #contentHash: string | undefined;

  /** Same as calling the tokenizer: `tokenizer.encode(text, textPair?, opts?)`. */
  encode(text: TextInput, textPair?: TextInput | EncodeOptions | null, opts: EncodeOptions = {}): BatchEncoding {
    if (textPair !== null && typeof textPair === "object" && !Array.isArray(textPair)) {
      opts = textPair;
      textPair = opts.textPair ?? null;
    }
    recordDependency(`tokenizer:${this.contentHash}`);
    const pair = (textPair ?? opts.textPair ?? null) as TextInput | null;
    const split = opts.isSplitIntoWords ?? false;
    // A unit is one example's input: a string, or with isSplitIntoWords a list of words.
    type Unit = string | string[];
    const isBatch = (x: TextInput) => (split ? Array.isArray(x) && x.length > 0 && Array.isArray(x[0]) : Array.isArray(x));
    if (split && !Array.isArray(text)) throw new TypeError("isSplitIntoWords: text must be a list of words (string[]) or a batch of them (string[][])");
    const batched = isBatch(text);
    const texts = (batched ? text : [text]) as Unit[];
    if (!split) texts.forEach((t, i) => checkText(t, batched ? `text[${i}]` : "text"));
    let pairs: (Unit | null)[] = texts.map(() => null);
    if (pair !== null) {
      if (isBatch(pair) !== batched) {
        throw new TypeError(
          split
            ? "textPair must be a list of words when text is one, and a batch of them when text is a batch"
            : "textPair must be a string when text is a string, and an array when text is an array",
        );
      }
      pairs = (batched ? pair : [pair]) as Unit[];
      if (pairs.length !== texts.length) {
        throw new RangeError(`text has ${texts.length} entries but textPair has ${pairs.length}: they must be the same length`);
      }
      if (!split) pairs.forEach((t, i) => checkText(t!, batched ? `textPair[${i}]` : "textPair"));
    }
    const encodeUnit = (u: Unit, wantOffsets: boolean, what: string): Encoded => {
      if (!split) return this.#encodeOne(u as string, wantOffsets);
      if (!Array.isArray(u)) throw new TypeError(`isSplitIntoWords: ${what} must be a list of words, got ${typeof u}`);
      return this.#encodeWords(u, wantOffsets, what);
    };

    const addSpecial = opts.addSpecialTokens ?? true;
    const [strategy, maxLength] = this.#truncationOf(opts);
    const stride = opts.stride ?? 0;
    const side = opts.truncationSide ?? this.truncationSide;
    const wantOffsets = opts.returnOffsetsMapping ?? false;
    const rows: Row[] = [];
    texts.forEach((t, i) => {
      const a = encodeUnit(t, wantOffsets, batched ? `text[${i}]` : "text");
      const b = pairs[i] === null ? null : encodeUnit(pairs[i]!, wantOffsets, batched ? `textPair[${i}]` : "textPair");
      const budget = maxLength === null ? Infinity : maxLength - (addSpecial ? numSpecialTokens(this.#template, b !== null) : 0);
      if (budget < 0) {
        throw new RangeError(`maxLength ${maxLength} is smaller than the ${maxLength! - budget} special tokens this tokenizer adds`);
      }
      const w = truncatePair(a.ids, b?.ids ?? null, budget, strategy, stride, side);
      // Without overflow only the kept pair counts; with it, every window pair is a row.
      const pairsOfWindows = windowPairs(w);
      for (const [f, s] of opts.returnOverflowingTokens ? pairsOfWindows : pairsOfWindows.slice(0, 1)) {
        const r = applyTemplate(this.#template, f.ids, s?.ids ?? null, addSpecial);
        let offsets: [number, number][] | null = null;
        if (wantOffsets) {
          // Each window's own stretch of its sequence's offsets.
          const fo = a.offsets!.slice(f.start, f.start + f.ids.length);
          const so = s && b ? b.offsets!.slice(s.start, s.start + s.ids.length) : [];
          let k1 = 0;
          let k2 = 0;
          offsets = r.sequenceIds.map((sid) => (sid === null ? [0, 0] : sid === 0 ? fo[k1++] : so[k2++]));
        }
        // Each token's word, from its window's stretch of its sequence's words.
        let wordIds: (number | null)[] | null = null;
        if (a.words && (!b || b.words)) {
          const fw = a.words.slice(f.start, f.start + f.ids.length);
          const sw = s && b ? b.words!.slice(s.start, s.start + s.ids.length) : [];
          let k1 = 0;
          let k2 = 0;
          wordIds = r.sequenceIds.map((sid) => (sid === null ? null : sid === 0 ? fw[k1++] : sw[k2++]));
        }
        rows.push({
          input_ids: r.ids,
          token_type_ids: r.typeIds,
          attention_mask: r.ids.map(() => 1),
          special_tokens_mask: r.specialMask,
          offset_mapping: offsets,
          overflow_to_sample_mapping: i,
          sequence_ids: r.sequenceIds,
          word_ids: wordIds,
        });
      }
    });
    this.#padRows(rows, opts);
    return this.#assemble(rows, opts, batched || (opts.returnOverflowingTokens ?? false));
  }

  #truncationOf(o: EncodeOptions): [TruncationStrategy, number | null] {
    let strategy: TruncationStrategy;
    if (o.truncation === undefined || o.truncation === null) {
      if (o.maxLength !== undefined && o.maxLength !== null && !o.padding) {
        if (!this.#warnedMaxLength) {
          console.warn(
            "Truncation was not explicitly activated but `max_length` is provided a specific value, please use `truncation=True` to explicitly truncate examples to max length. Defaulting to 'longest_first' truncation strategy.",
          );
          this.#warnedMaxLength = true;
        }
        strategy = "longest_first";
      } else strategy = "do_not_truncate";
    } else if (o.truncation === true) strategy = "longest_first";
    else if (o.truncation === false) strategy = "do_not_truncate";
    else if (["longest_first", "only_first", "only_second", "do_not_truncate"].includes(o.truncation)) strategy = o.truncation;
    else
      throw new TypeError(
        `truncation must be true, false, 'longest_first', 'only_first', 'only_second' or 'do_not_truncate', got ${JSON.stringify(o.truncation)}`,
      );
    if (strategy === "do_not_truncate") return [strategy, null];
    let max = o.maxLength ?? null;
    if (max === null) {
      if (this.modelMaxLength >= VERY_LARGE_INTEGER) return ["do_not_truncate", null];
      max = this.modelMaxLength;
    }
    if (!Number.isInteger(max) || max < 0) throw new RangeError(`maxLength must be a non-negative integer, got ${max}`);
    return [strategy, max];
  }

  #padRows(rows: Row[], o: EncodeOptions): void {
    const strategy: PaddingStrategy = o.padding === true ? "longest" : o.padding === false || o.padding === undefined ? "do_not_pad" : o.padding;
    if (!["longest", "max_length", "do_not_pad"].includes(strategy)) {
      throw new TypeError(`padding must be true, false, 'longest', 'max_length' or 'do_not_pad', got ${JSON.stringify(o.padding)}`);
    }
    if (strategy === "do_not_pad" && !o.padToMultipleOf) return;
    let target: number;
    if (strategy === "max_length") {
      const m = o.maxLength ?? (this.modelMaxLength < VERY_LARGE_INTEGER ? this.modelMaxLength : null);
      if (m === null) throw new Error("padding 'max_length' needs maxLength (this tokenizer has no model_max_length)");
      target = m;
    } else target = Math.max(0, ...rows.map((r) => r.input_ids.length));
    const multiple = o.padToMultipleOf ?? null;
    if (multiple !== null && (!Number.isInteger(multiple) || multiple <= 0))
      throw new RangeError(`padToMultipleOf must be a positive integer, got ${multiple}`);
    if (multiple && target % multiple !== 0) target = (Math.floor(target / multiple) + 1) * multiple;
    if (strategy === "do_not_pad") {
      // padToMultipleOf alone pads each row to its own next multiple, as HF does.
      for (const r of rows) this.#padRow(r, Math.ceil(r.input_ids.length / multiple!) * multiple!, o.paddingSide ?? this.paddingSide);
      return;
    }
    for (const r of rows) this.#padRow(r, target, o.paddingSide ?? this.paddingSide);
  }

  #padRow(r: Row, target: number, side: Side): void {
    const n = target - r.input_ids.length;
    if (n <= 0) return;
    const pad = this.padTokenId;
    if (pad === null) {
      throw new Error("Asking to pad but the tokenizer does not have a padding token. Please select a token to use as `pad_token` or add a new pad token.");
    }
    const fill = <T>(arr: T[], v: T) => {
      const extra = new Array<T>(n).fill(v);
      return side === "right" ? arr.concat(extra) : extra.concat(arr);
    };
    r.input_ids = fill(r.input_ids, pad);
    r.token_type_ids = fill(r.token_type_ids, 0);
    r.attention_mask = fill(r.attention_mask, 0);
    r.special_tokens_mask = fill(r.special_tokens_mask, 1);
    if (r.offset_mapping) r.offset_mapping = fill(r.offset_mapping, [0, 0] as [number, number]);
    r.sequence_ids = fill(r.sequence_ids, null);
    if (r.word_ids) r.word_ids = fill(r.word_ids, null);
  }

  #assemble(rows: Row[], o: EncodeOptions, keepBatch: boolean): BatchEncoding {
    const wantTypes = o.returnTokenTypeIds ?? this.modelInputNames.includes("token_type_ids");
    const wantMask = o.returnAttentionMask ?? this.modelInputNames.includes("attention_mask");
    const cols: Record<string, unknown[]> = { input_ids: rows.map((r) => r.input_ids) };
    if (wantTypes) cols.token_type_ids = rows.map((r) => r.token_type_ids);
    if (wantMask) cols.attention_mask = rows.map((r) => r.attention_mask);
    if (o.returnSpecialTokensMask) cols.special_tokens_mask = rows.map((r) => r.special_tokens_mask);
    if (o.returnOffsetsMapping) cols.offset_mapping = rows.map((r) => r.offset_mapping);
    if (o.returnLength) cols.length = rows.map((r) => r.input_ids.length);
    if (o.returnOverflowingTokens) cols.overflow_to_sample_mapping = rows.map((r) => r.overflow_to_sample_mapping);
    if (o.returnTensors === "pt") return toTensors(cols, "int64") as BatchEncoding;
    if (o.returnTensors) throw new TypeError(`returnTensors must be "pt" or null, got ${JSON.stringify(o.returnTensors)}`);
    const out = (keepBatch ? cols : Object.fromEntries(Object.entries(cols).map(([k, v]) => [k, v[0]]))) as BatchEncoding;
    // HF's BatchEncoding.sequence_ids(batch_index) and word_ids(batch_index): methods, not columns
    // (a map does not store them).
    const rowAt = (fn: string, batchIndex: number): Row => {
      const row = rows[batchIndex];
      if (!Number.isInteger(batchIndex) || row === undefined) throw new RangeError(`${fn}(): batch index ${batchIndex} is outside 0..${rows.length - 1}`);
      return row;
    };
    Object.defineProperty(out, "sequenceIds", {
      enumerable: false,
      value: (batchIndex = 0): (number | null)[] => [...rowAt("sequenceIds", batchIndex).sequence_ids],
    });
    Object.defineProperty(out, "wordIds", {
      enumerable: false,
      value: (batchIndex = 0): (number | null)[] => {
        const words = rowAt("wordIds", batchIndex).word_ids;
        if (!words)
          throw new Error(
            `wordIds(): ${this.nameOrPath} is not a WordPiece tokenizer, so its words are known only for input split into words (isSplitIntoWords: true)`,
          );
        return [...words];
      },
    });
    return out;
  }

  /**
   * Pads already-encoded features (a list of objects, or one object of lists) as HF's
   * tokenizer.pad does: to the longest, to maxLength, or to a multiple.
   */
  pad(
    features: Record<string, unknown>[] | Record<string, unknown[]>,
    o: {
      padding?: boolean | PaddingStrategy;
      maxLength?: number | null;
      padToMultipleOf?: number | null;
      returnTensors?: "pt" | null;
      paddingSide?: Side;
    } = {},
  ): BatchEncoding {
    const list = Array.isArray(features) ? features : rowsOfColumns(features);
    if (list.length === 0) throw new RangeError("pad(): no features to pad");
    list.forEach((f, i) => {
      if (!Array.isArray(f.input_ids)) throw new TypeError(`pad(): feature ${i} has no input_ids array`);
    });
    const padding = o.padding ?? true;
    const strategy: PaddingStrategy = padding === true ? "longest" : padding === false ? "do_not_pad" : padding;
    let target = strategy === "max_length" ? (o.maxLength ?? this.modelMaxLength) : Math.max(...list.map((f) => (f.input_ids as number[]).length));
    const m = o.padToMultipleOf ?? null;
    if (m && target % m !== 0) target = (Math.floor(target / m) + 1) * m;
    const side = o.paddingSide ?? this.paddingSide;
    const keys = Object.keys(list[0]);
    const padded: Record<string, unknown[]> = Object.fromEntries(keys.map((k) => [k, []]));
    const padIdOr = () => {
      const p = this.padTokenId;
      if (p === null)
        throw new Error("Asking to pad but the tokenizer does not have a padding token. Please select a token to use as `pad_token` or add a new pad token.");
      return p;
    };
    for (const f of list) {
      const len = (f.input_ids as number[]).length;
      const n = strategy === "do_not_pad" ? 0 : Math.max(0, target - len);
      const fillers: Record<string, unknown> = { input_ids: n ? padIdOr() : 0, token_type_ids: 0, attention_mask: 0, special_tokens_mask: 1 };
      for (const k of keys) {
        const v = f[k];
        if (Array.isArray(v) && v.length === len && k in fillers) {
          const extra = new Array(n).fill(fillers[k]);
          padded[k].push(side === "right" ? v.concat(extra) : extra.concat(v));
        } else padded[k].push(v);
      }
      if (!("attention_mask" in f) && this.modelInputNames.includes("attention_mask")) {
        (padded.attention_mask ??= []).push(
          side === "right" ? [...new Array(len).fill(1), ...new Array(n).fill(0)] : [...new Array(n).fill(0), ...new Array(len).fill(1)],
        );
      }
    }
    return (o.returnTensors === "pt" ? toTensors(padded, "infer") : padded) as BatchEncoding;
  }

  /** The chat template(s) of tokenizer_config.json (or chat_template.jinja): one string, or several by name. */
  get chatTemplate(): string | Record<string, string> | null {
    const t = this.config.chat_template;
    if (typeof t === "string") return t;
    if (Array.isArray(t)) return Object.fromEntries(t.map((x: { name: string; template: string }) => [x.name, x.template]));
    return null;
  }

  /**
   * HF's apply_chat_template: the conversation rendered by the tokenizer's chat template (see
   * chat_template.ts), then by default tokenized without special tokens (the template writes them);
   * a list of conversations gives one result each.
   */
  applyChatTemplate(conversation: ChatMessage[], o: ChatTemplateOptions & { tokenize: false }): string;
  applyChatTemplate(conversation: ChatMessage[][], o: ChatTemplateOptions & { tokenize: false }): string[];
  applyChatTemplate(
    conversation: ChatMessage[],
    o: ChatTemplateOptions & { tokenize?: true; returnDict: true; returnAssistantTokensMask: true } & EncodeOptions,
  ): Encoding<number[]> & { assistant_masks: number[] };
  applyChatTemplate(conversation: ChatMessage[], o: ChatTemplateOptions & { tokenize?: true; returnDict: true } & EncodeOptions): Encoding<number[]>;
  applyChatTemplate(conversation: ChatMessage[], o?: ChatTemplateOptions & { tokenize?: true; returnDict?: false } & EncodeOptions): number[];
  applyChatTemplate(conversation: ChatMessage[][], o?: ChatTemplateOptions & { tokenize?: true; returnDict?: false } & EncodeOptions): number[][];
  applyChatTemplate(
    conversation: ChatMessage[] | ChatMessage[][],
    o: ChatTemplateOptions & { tokenize?: boolean; returnDict?: boolean; returnAssistantTokensMask?: boolean } & EncodeOptions = {},
  ): string | string[] | number[] | number[][] | Encoding<number[]> | BatchEncoding {
    const batch = Array.isArray(conversation[0]);
    const conversations = (batch ? conversation : [conversation]) as ChatMessage[][];
    const template = pickChatTemplate(this.chatTemplate, o.chatTemplate, !!o.tools?.length);
    const specials: Record<string, string> = { ...this.specialTokens };
    if (this.additionalSpecialTokens.length) (specials as Record<string, unknown>).additional_special_tokens = this.additionalSpecialTokens;
    const wantMask = o.returnAssistantTokensMask ?? false;
    if (wantMask) {
      if (o.continueFinalMessage) throw new Error("continue_final_message is not compatible with return_assistant_tokens_mask.");
      if (o.tokenize === false || !o.returnDict) throw new Error("`return_assistant_tokens_mask=True` needs `tokenize` and `return_dict` (returnDict: true)");
      if (batch) throw new Error("applyChatTemplate: returnAssistantTokensMask takes one conversation at a time");
      if (!/\{%-?\s*generation\s*-?%\}/.test(template))
        console.warn("return_assistant_tokens_mask==True but chat template does not contain `{% generation %}` keyword.");
    }
    const rendered = conversations.map((c) => renderChat(template, c, specials, { ...o, markGeneration: wantMask }));
    if (o.tokenize === false) return batch ? rendered : rendered[0];
    const {
      tools,
      documents,
      chatTemplate,
      addGenerationPrompt,
      continueFinalMessage,
      templateKwargs,
      tokenize,
      returnDict,
      returnAssistantTokensMask,
      ...encode
    } = o;
    void [tools, documents, chatTemplate, addGenerationPrompt, continueFinalMessage, templateKwargs, tokenize, returnAssistantTokensMask];
    if (wantMask) {
      const { text, spans } = generationSpans(rendered[0]);
      const enc = this.encode(text, { ...encode, addSpecialTokens: false }) as Encoding<number[]>;
      return Object.assign(enc, { assistant_masks: this.#assistantMask(enc.input_ids, text, spans) });
    }
    const enc = this.encode(batch ? rendered : rendered[0], { ...encode, addSpecialTokens: false });
    if (returnDict) return enc;
    return enc.input_ids as number[] | number[][];
  }

  /**
   * HF's assistant mask: 1 from the token holding a generation span's first character to the one
   * holding its last (char_to_token), 0 elsewhere. A byte-level BPE token covers as many bytes of the
   * text as its token string has characters (an added token, its content's UTF-8 bytes).
   */
  #assistantMask(ids: number[], text: string, spans: [number, number][]): number[] {
    const chars = Array.from(text);
    // The byte offset of each character, to place tokens (which cover bytes) on characters.
    const charAtByte: number[] = [];
    chars.forEach((c, i) => {
      for (let b = 0; b < Buffer.byteLength(c, "utf8"); b++) charAtByte.push(i);
    });
    const added = new Set(this.#addedContents);
    const tokenOfChar = new Array<number>(chars.length).fill(-1);
    let byte = 0;
    ids.forEach((id, t) => {
      const token = this.#tk.id_to_token(id) ?? "";
      const length = this.#wordPiece ? 0 : added.has(token) ? Buffer.byteLength(token, "utf8") : Array.from(token).length;
      for (let b = byte; b < byte + length && b < charAtByte.length; b++) if (tokenOfChar[charAtByte[b]] === -1) tokenOfChar[charAtByte[b]] = t;
      byte += length;
    });
    if (this.#wordPiece) throw new Error("returnAssistantTokensMask: supported for byte-level BPE tokenizers");
    const mask = new Array<number>(ids.length).fill(0);
    for (const [start, end] of spans) {
      if (end <= start) continue;
      const first = tokenOfChar[start];
      if (first === -1) break; // out of bounds (truncated), as HF
      const last = tokenOfChar[end - 1];
      for (let t = first; t <= (last === -1 ? ids.length - 1 : last); t++) mask[t] = 1;
    }
    return mask;
  }

  /**
   * clean_up_tokenization_spaces when the config does not say: BERT's tokenizers pass True, and
   * transformers 5's base default is False (GPT-2, Qwen, Llama leave "Hello , world" as it is).
   */
  get #cleanUpDefault(): boolean {
    const given = this.config.clean_up_tokenization_spaces;
    if (typeof given === "boolean") return given;
    return this.#wordPiece !== null || /^(Bert|DistilBert|Electra)/.test(String(this.config.tokenizer_class ?? ""));
  }

  /**
   * HF's convert_tokens_to_string for a fast tokenizer: the tokenizer.json decoder over token strings
   * (WordPiece's joins "##" pieces and tidies spaces before punctuation), without decode()'s
   * clean_up_tokenization_spaces.
   */
  convertTokensToString(tokens: string[]): string {
    const decoder = (this.#tk as unknown as { decoder?: ((t: string[]) => string) | null }).decoder;
    return decoder ? decoder(tokens) : tokens.join(" ");
  }

  // ---- decoding ----
  decode(
    ids: number[] | bigint[] | { dataSync(): ArrayLike<number | bigint> },
    o: { skipSpecialTokens?: boolean; cleanUpTokenizationSpaces?: boolean } = {},
  ): string {
    const list = Array.isArray(ids) ? ids : Array.from(ids.dataSync(), Number);
    if (list.length === 0) return "";
    return this.#tk.decode(list.map(Number), {
      skip_special_tokens: o.skipSpecialTokens ?? false,
      clean_up_tokenization_spaces: o.cleanUpTokenizationSpaces ?? this.#cleanUpDefault,
    });
  }
  batchDecode(batch: number[][], o: { skipSpecialTokens?: boolean; cleanUpTokenizationSpaces?: boolean } = {}): string[] {
    return batch.map((ids) => this.decode(ids, o));
  }

  // ---- saving ----
  /**
   * Writes tokenizer.json, tokenizer_config.json, special_tokens_map.json (and vocab.txt for
   * WordPiece models) into dir, each atomically; transformers' from_pretrained loads them back.
   */
  savePretrained(dir: string): string[] {
    mkdirSync(dir, { recursive: true });
    const added = (this.tokenizerJson.added_tokens as Json[]) ?? [];
    const tokenizerJson = { ...this.tokenizerJson, truncation: null, padding: null };
    const specialMap: Json = { ...this.specialTokens };
    if (this.additionalSpecialTokens.length) specialMap.additional_special_tokens = this.additionalSpecialTokens;
    const config: Json = {
      ...Object.fromEntries(Object.entries(this.config).filter(([k]) => !["name_or_path", "special_tokens_map_file", "tokenizer_file"].includes(k))),
      added_tokens_decoder: Object.fromEntries(
        added.map((t) => [
          String(t.id),
          {
            content: t.content,
            lstrip: t.lstrip ?? false,
            normalized: t.normalized ?? false,
            rstrip: t.rstrip ?? false,
            single_word: t.single_word ?? false,
            special: t.special ?? false,
          },
        ]),
      ),
      clean_up_tokenization_spaces: this.#cleanUpDefault,
      ...this.specialTokens,
      model_max_length: this.modelMaxLength,
      tokenizer_class: String(this.config.tokenizer_class ?? "PreTrainedTokenizerFast"),
    };
    const files: [string, string][] = [
      ["tokenizer.json", JSON.stringify(tokenizerJson)],
      ["tokenizer_config.json", JSON.stringify(config, null, 2) + "\n"],
      ["special_tokens_map.json", JSON.stringify(specialMap, null, 2) + "\n"],
    ];
    // transformers 5 saves a single chat template as chat_template.jinja (several stay in the config).
    const templates = this.config.chat_template;
    if (typeof templates === "string") files.push(["chat_template.jinja", templates]);
    else if (Array.isArray(templates)) (config as Json).chat_template = templates;
    const model = this.tokenizerJson.model as Json;
    if (this.#wordPiece && model.vocab && typeof model.vocab === "object") {
      const byId = Object.entries(model.vocab as Record<string, number>).sort((x, y) => x[1] - y[1]);
      files.push(["vocab.txt", byId.map(([t]) => t).join("\n") + "\n"]);
    }
    for (const [name, content] of files) writeFileAtomic(join(dir, name), content);
    return files.map(([name]) => join(dir, name));
  }

  override toString(): string {
    const cls = String(this.config.tokenizer_class ?? "PreTrainedTokenizer").replace(/(Fast)?$/, "Fast");
    return `${cls}(name_or_path='${this.nameOrPath}', vocab_size=${this.vocabSize}, model_max_length=${this.modelMaxLength}, is_fast=True, padding_side='${this.paddingSide}', truncation_side='${this.truncationSide}', special_tokens=${JSON.stringify(this.specialTokens)})`;
  }
  [Symbol.for("nodejs.util.inspect.custom")](): string {
    return this.toString();
  }
}

function checkText(t: unknown, what: string): void {
  if (typeof t !== "string") {
    throw new TypeError(
      `${what} must be a string (or an array of strings for a batch), got ${t === null ? "null" : Array.isArray(t) ? "a nested array" : typeof t}`,
    );
  }
}

/**
 * Columns to tensors (returnTensors: "pt"): ids as int64; with "infer", a column of non-integers
 * (regression labels) as float32. The tensors come from finetune-ts/torch's registered factory, so
 * the tokenizer itself never loads libtorch.
 */
function toTensors(cols: Record<string, unknown[]>, dtype: "int64" | "infer"): Record<string, unknown> {
  const makeTensor = tensorMaker('returnTensors: "pt"');
  const out: Record<string, unknown> = {};
  for (const [k, rows] of Object.entries(cols)) {
    const lens = new Set(rows.map((r) => (Array.isArray(r) ? r.length : -1)));
    if (lens.size > 1) {
      throw new Error(
        `Unable to create tensor for '${k}': the sequences have different lengths (${[...lens].join(", ")}). You should probably activate truncation and/or padding with 'padding=True' 'truncation=True' to have batched tensors with the same length.`,
      );
    }
    const flat = (rows as unknown[]).flat(4);
    if (flat.some((v) => typeof v !== "number" && typeof v !== "boolean")) {
      throw new TypeError(
        `Unable to create tensor for '${k}': its values are not numbers (e.g. ${JSON.stringify(flat.find((v) => typeof v !== "number"))}); remove the column first`,
      );
    }
    const floats = dtype === "infer" && flat.some((v) => typeof v === "number" && !Number.isInteger(v));
    out[k] = makeTensor(rows, { dtype: floats ? "float32" : "int64" });
  }
  return out;
}
