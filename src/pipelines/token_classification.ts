// pipeline("token-classification") (alias "ner"): transformers' TokenClassificationPipeline — a text in,
// its tokens' labels out, with HF's aggregation strategies: "none" (each token: entity, score, index,
// word, start, end), "simple" (adjacent tokens of one entity type grouped: entity_group, mean score),
// and the word-level "first", "average", "max" (a word's label from its first token, its tokens' mean
// scores, or its most confident token, then grouped). Labels in ignoreLabels (["O"]) are dropped.
import { Callable } from "../tokenizers/callable.js";
import type { PreTrainedTokenizer } from "../tokenizers/index.js";
import type { PreTrainedModel } from "../models/index.js";
import { inference, modelInputs } from "./model_inputs.js";

export type AggregationStrategy = "none" | "simple" | "first" | "average" | "max";

/** A token's label ("none"). */
export interface TokenEntity {
  entity: string;
  score: number;
  index: number;
  word: string;
  start: number | null;
  end: number | null;
}
/** A group of tokens or words of one entity type (the other strategies). */
export interface EntityGroup {
  entity_group: string;
  score: number;
  word: string;
  start: number | null;
  end: number | null;
}
export interface TokenClassificationOptions {
  aggregationStrategy?: AggregationStrategy;
  /** Labels left out of the results (default ["O"]). */
  ignoreLabels?: string[];
}

interface PreEntity {
  word: string;
  scores: number[];
  start: number | null;
  end: number | null;
  index: number;
  isSubword: boolean;
}
interface Labelled {
  entity: string;
  score: number;
  word: string;
  start: number | null;
  end: number | null;
  index?: number;
}

export interface TokenClassificationPipeline {
  (inputs: string, o?: TokenClassificationOptions & { aggregationStrategy?: "none" }): TokenEntity[];
  (inputs: string, o: TokenClassificationOptions & { aggregationStrategy: Exclude<AggregationStrategy, "none"> }): EntityGroup[];
  (inputs: string[], o?: TokenClassificationOptions & { aggregationStrategy?: "none" }): TokenEntity[][];
  (inputs: string[], o: TokenClassificationOptions & { aggregationStrategy: Exclude<AggregationStrategy, "none"> }): EntityGroup[][];
}

const argmax = (xs: number[]) => xs.reduce((best, v, i) => (v > xs[best] ? i : best), 0);

export class TokenClassificationPipeline extends Callable {
  /** The strategy calls use when they name none (pipeline()'s aggregationStrategy; HF's default "none"). */
  aggregationStrategy: AggregationStrategy;

  constructor(
    readonly model: PreTrainedModel,
    readonly tokenizer: PreTrainedTokenizer,
    o: { aggregationStrategy?: AggregationStrategy } = {},
  ) {
    super();
    this.aggregationStrategy = checkStrategy(o.aggregationStrategy ?? "none");
  }

  protected override __call__(inputs: string | string[], o: TokenClassificationOptions = {}): unknown {
    const strategy = checkStrategy(o.aggregationStrategy ?? this.aggregationStrategy);
    const ignore = o.ignoreLabels ?? ["O"];
    const list = Array.isArray(inputs) ? inputs : [inputs];
    const out = list.map((text, i) => {
      if (typeof text !== "string") throw new TypeError(`token-classification: input ${i} must be a string, got ${JSON.stringify(text)}`);
      const entities = this.#aggregate(this.#preEntities(text), strategy);
      return entities.filter((e) => !ignore.includes("entity_group" in e ? e.entity_group : e.entity));
    });
    return Array.isArray(inputs) ? out : out[0];
  }

  /** HF's preprocess + forward + gather_pre_entities: each non-special token with its label probabilities and place. */
  #preEntities(sentence: string): PreEntity[] {
    const enc = this.tokenizer(sentence, { truncation: true, returnOffsetsMapping: true, returnSpecialTokensMask: true });
    const ids = enc.input_ids;
    const offsets = enc.offset_mapping as [number, number][];
    const special = enc.special_tokens_mask as number[];
    // HF's softmax in numpy over the float32 logits: exp(x - max) / sum.
    const scores = inference(
      this.model,
      () =>
        this.model
          .forward(modelInputs(this.tokenizer, enc, true))
          .logits!.float()
          .select(0, 0)
          .softmax(-1)
          .toArray() as number[][],
    );
    // A tokenizer with a continuing-subword prefix (WordPiece's "##") knows its words: a token continues
    // a word when its text is not the token. Others fall back to HF's heuristic: no space before it.
    const model = this.tokenizer.tokenizerJson.model as { continuing_subword_prefix?: string | null };
    const wordAware = !!model.continuing_subword_prefix;
    const chars = Array.from(sentence);
    const entities: PreEntity[] = [];
    ids.forEach((id, idx) => {
      if (special[idx]) return;
      let word = this.tokenizer.convertIdsToTokens(id);
      const [start, end] = offsets[idx];
      const wordRef = chars.slice(start, end).join("");
      let isSubword = wordAware ? Array.from(word).length !== Array.from(wordRef).length : start > 0 && !chars.slice(start - 1, start + 1).includes(" ");
      if (id === this.tokenizer.unkTokenId) {
        word = wordRef;
        isSubword = false;
      }
      entities.push({ word, scores: scores[idx], start, end, index: idx, isSubword });
    });
    return entities;
  }

  #label(i: number): string {
    const l = this.model.config.id2label?.[String(i)];
    return l ?? `LABEL_${i}`;
  }

  /** HF's aggregate: per token (none/simple) or per word (first/average/max), then grouped unless "none". */
  #aggregate(pre: PreEntity[], strategy: AggregationStrategy): (TokenEntity | EntityGroup)[] {
    let entities: Labelled[];
    if (strategy === "none" || strategy === "simple") {
      entities = pre.map((p) => {
        const i = argmax(p.scores);
        return { entity: this.#label(i), score: p.scores[i], index: p.index, word: p.word, start: p.start, end: p.end };
      });
    } else entities = this.#aggregateWords(pre, strategy);
    if (strategy === "none") return entities as TokenEntity[];
    return this.#groupEntities(entities);
  }

  #aggregateWords(pre: PreEntity[], strategy: "first" | "average" | "max"): Labelled[] {
    const words: Labelled[] = [];
    let group: PreEntity[] | null = null;
    for (const e of pre) {
      if (group === null) group = [e];
      else if (e.isSubword) group.push(e);
      else {
        words.push(this.#aggregateWord(group, strategy));
        group = [e];
      }
    }
    if (group !== null) words.push(this.#aggregateWord(group, strategy));
    return words;
  }

  #aggregateWord(tokens: PreEntity[], strategy: "first" | "average" | "max"): Labelled {
    const word = this.tokenizer.convertTokensToString(tokens.map((t) => t.word));
    let scores: number[];
    if (strategy === "first") scores = tokens[0].scores;
    else if (strategy === "max") {
      // max() keeps the first of equally confident tokens.
      let best = tokens[0];
      for (const t of tokens) if (Math.max(...t.scores) > Math.max(...best.scores)) best = t;
      scores = best.scores;
    } else scores = tokens[0].scores.map((_, k) => tokens.reduce((s, t) => s + t.scores[k], 0) / tokens.length);
    const i = argmax(scores);
    return { entity: this.#label(i), score: scores[i], word, start: tokens[0].start, end: tokens[tokens.length - 1].end };
  }

  /** HF's get_tag: B-/I- prefixes; a label without one continues (I). */
  static #tag(name: string): [string, string] {
    if (name.startsWith("B-")) return ["B", name.slice(2)];
    if (name.startsWith("I-")) return ["I", name.slice(2)];
    return ["I", name];
  }

  #groupEntities(entities: Labelled[]): EntityGroup[] {
    const groups: EntityGroup[] = [];
    let current: Labelled[] = [];
    const flush = () => {
      const first = current[0];
      groups.push({
        entity_group: first.entity.includes("-") ? first.entity.slice(first.entity.indexOf("-") + 1) : first.entity,
        score: current.reduce((s, e) => s + e.score, 0) / current.length,
        word: this.tokenizer.convertTokensToString(current.map((e) => e.word)),
        start: first.start,
        end: current[current.length - 1].end,
      });
    };
    for (const e of entities) {
      if (current.length === 0) {
        current.push(e);
        continue;
      }
      const [bi, tag] = TokenClassificationPipeline.#tag(e.entity);
      const [, lastTag] = TokenClassificationPipeline.#tag(current[current.length - 1].entity);
      if (tag === lastTag && bi !== "B") current.push(e);
      else {
        flush();
        current = [e];
      }
    }
    if (current.length) flush();
    return groups;
  }
}

function checkStrategy(s: string): AggregationStrategy {
  if (!["none", "simple", "first", "average", "max"].includes(s)) {
    throw new TypeError(`token-classification: aggregationStrategy must be one of none, simple, first, average, max, got ${JSON.stringify(s)}`);
  }
  return s as AggregationStrategy;
}
