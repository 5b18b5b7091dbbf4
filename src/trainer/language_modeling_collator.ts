// transformers' DataCollatorForLanguageModeling (v5 form): pads a list of examples and makes the
// labels. Masked LM (`mlm`, the default): each non-special token is chosen with mlmProbability;
// of those, maskReplaceProb become [MASK], randomReplaceProb (scaled to what is left) a random id,
// the rest stay; labels are the chosen tokens' ids and −100 elsewhere. With `wholeWordMask`, a word
// (tokens touching in the offset mapping) is chosen by its first token and masked whole. Causal LM
// (`mlm: false`): labels are the inputs with padding −100 (the model shifts them).
//
// The draws are torch's, in HF's order (bernoulli, bernoulli, bernoulli, randint), from the global
// CPU generator or, with `seed`, a generator of the collator's own: the same seed masks the same tokens
// as transformers.
import { Callable } from "../tokenizers/callable.js";
import type { PreTrainedTokenizer } from "../tokenizers/index.js";
import * as torch from "../torch/index.js";
import type { Tensor } from "../torch/index.js";
import type { Batch, Features } from "./data_collator.js";

export interface DataCollatorForLanguageModelingOptions {
  tokenizer: PreTrainedTokenizer;
  /** Masked language modelling (true, the default) or causal (false: labels = inputs, padding ignored). */
  mlm?: boolean;
  wholeWordMask?: boolean;
  mlmProbability?: number;
  maskReplaceProb?: number;
  randomReplaceProb?: number;
  padToMultipleOf?: number | null;
  /** A generator of the collator's own, seeded once (HF's `seed`); without it the global generator draws. */
  seed?: number | null;
  returnTensors?: "pt";
}

export interface DataCollatorForLanguageModeling {
  (examples: Features[] | number[][]): Batch;
}

export class DataCollatorForLanguageModeling extends Callable {
  readonly tokenizer: PreTrainedTokenizer;
  readonly mlm: boolean;
  readonly wholeWordMask: boolean;
  readonly mlmProbability: number;
  readonly maskReplaceProb: number;
  readonly randomReplaceProb: number;
  readonly padToMultipleOf: number | null;
  readonly seed: number | null;
  #generator: torch.Generator | null = null;

  constructor(o: DataCollatorForLanguageModelingOptions) {
    super();
    const who = new.target.name;
    if (!o || typeof o.tokenizer?.pad !== "function") throw new TypeError(`${who}: { tokenizer } is required (a PreTrainedTokenizer)`);
    if (o.returnTensors !== undefined && o.returnTensors !== "pt")
      throw new TypeError(`${who}: returnTensors must be "pt" (libtorch tensors), got ${JSON.stringify(o.returnTensors)}`);
    this.tokenizer = o.tokenizer;
    this.mlm = o.mlm ?? true;
    this.wholeWordMask = o.wholeWordMask ?? false;
    this.mlmProbability = o.mlmProbability ?? 0.15;
    let maskReplace = o.maskReplaceProb ?? 0.8;
    let randomReplace = o.randomReplaceProb ?? 0.1;
    // HF's __post_init__, in its order and words.
    if (this.mlm) {
      if (this.tokenizer.maskToken === null) {
        throw new Error(
          "This tokenizer does not have a mask token which is necessary for masked language modeling. You should pass `mlm: false` to train on causal language modeling instead.",
        );
      }
      if (typeof this.mlmProbability !== "number" || !(this.mlmProbability >= 0 && this.mlmProbability <= 1)) {
        throw new RangeError(`mlmProbability should be between 0 and 1, got ${o.mlmProbability}`);
      }
    } else if (this.wholeWordMask) {
      throw new Error("Whole word masking can only be used with mlm: true. If you want to use whole word masking, please set mlm: true.");
    }
    if (maskReplace + randomReplace > 1) throw new RangeError("The sum of maskReplaceProb and randomReplaceProb should not exceed 1");
    if (!(maskReplace >= 0 && maskReplace <= 1)) throw new RangeError(`maskReplaceProb should be between 0 and 1, got ${maskReplace}`);
    if (!(randomReplace >= 0 && randomReplace <= 1)) throw new RangeError(`randomReplaceProb should be between 0 and 1, got ${randomReplace}`);
    if (this.wholeWordMask && maskReplace < 1) {
      process.emitWarning("Random token replacement is not supported with whole word masking. Setting maskReplaceProb to 1.", "UserWarning");
      maskReplace = 1;
      randomReplace = 0;
    }
    this.maskReplaceProb = maskReplace;
    this.randomReplaceProb = randomReplace;
    this.padToMultipleOf = o.padToMultipleOf ?? null;
    this.seed = o.seed ?? null;
  }

  protected override __call__(examples: Features[] | number[][]): Batch {
    if (!Array.isArray(examples) || examples.length === 0) throw new TypeError(`${this.constructor.name}: expected a non-empty list of examples`);
    // HF: `if self.seed and self.generator is None: self.create_rng()` (a seed of 0 means the global generator there too).
    if (this.seed && this.#generator === null) this.#generator = new torch.Generator().manualSeed(this.seed);
    const features: Features[] = examples.map((e, i) => {
      if (Array.isArray(e)) return { input_ids: e };
      if (e === null || typeof e !== "object") throw new TypeError(`${this.constructor.name}: example ${i} is neither a list of ids nor an object`);
      return e;
    });
    const padded = this.tokenizer.pad(features, { padToMultipleOf: this.padToMultipleOf });
    const specialTokensMask = padded.special_tokens_mask as number[][] | undefined;
    const offsetMapping = padded.offset_mapping as [number, number][][] | undefined;
    delete padded.special_tokens_mask;
    delete padded.offset_mapping;
    const batch = toBatch(padded);
    if (this.mlm) {
      const draw = () => this.maskTokens(batch.input_ids, specialTokensMask, offsetMapping);
      const [inputs, labels] = this.#generator ? this.#generator.run(draw) : draw();
      batch.input_ids.dispose();
      batch.labels?.dispose();
      batch.input_ids = inputs;
      batch.labels = labels;
    } else {
      const pad = this.tokenizer.padTokenId;
      batch.labels?.dispose();
      batch.labels = pad === null ? batch.input_ids.clone() : batch.input_ids.maskedFill(batch.input_ids.eq(pad), -100);
    }
    return batch;
  }

  /** HF's torch_mask_tokens: [inputs with masks and random ids, labels] for a padded [B, L] batch of ids. */
  maskTokens(inputIds: Tensor, specialTokensMask?: number[][], offsetMapping?: [number, number][][]): [Tensor, Tensor] {
    return torch.tidy(() => {
      const shape = inputIds.shape;
      const rows = (inputIds.toArray() as number[][]).map((r) => r.map(Number));
      const special = specialTokensMask ?? rows.map((r) => this.tokenizer.getSpecialTokensMask(r, { alreadyHasSpecialTokens: true }));
      let wordIds: number[][] | null = null;
      let noMask: number[][];
      if (this.wholeWordMask) {
        if (!offsetMapping) {
          throw new Error(
            `${this.constructor.name}: whole word masking needs each example's offset_mapping (tokenize with returnOffsetsMapping: true and keep the column)`,
          );
        }
        [wordIds, noMask] = wordIdsAndNoMask(offsetMapping, special, shape);
      } else noMask = special;
      const probability = torch.full(shape, this.mlmProbability, { dtype: "float32" }).maskedFill(torch.tensor(noMask).to("bool"), 0);
      let masked = probability.bernoulli().to("bool");
      if (wordIds) masked = torch.tensor(wholeWordMask(wordIds, masked.toArray() as boolean[][])).to("bool");
      const labels = inputIds.maskedFill(masked.logicalNot(), -100);
      const replaced = torch.full(shape, this.maskReplaceProb, { dtype: "float32" }).bernoulli().to("bool").logicalAnd(masked);
      let inputs = inputIds.maskedFill(replaced, this.tokenizer.maskTokenId!);
      if (this.maskReplaceProb !== 1 && this.randomReplaceProb !== 0) {
        const scaled = this.randomReplaceProb / (1 - this.maskReplaceProb);
        const random = torch.full(shape, scaled, { dtype: "float32" }).bernoulli().to("bool").logicalAnd(masked).logicalAnd(replaced.logicalNot());
        const words = torch.randint(0, this.tokenizer.length, shape);
        inputs = torch.where(random, words, inputs);
      }
      return [inputs, labels] as [Tensor, Tensor];
    });
  }
}

/**
 * v5's DataCollatorForWholeWordMask: DataCollatorForLanguageModeling with wholeWordMask (and mlm)
 * forced on, as transformers now defines it.
 */
export class DataCollatorForWholeWordMask extends DataCollatorForLanguageModeling {
  constructor(o: DataCollatorForLanguageModelingOptions) {
    super({ ...o, mlm: true, wholeWordMask: true });
  }
}

/**
 * HF's _calc_word_ids_and_prob_mask: a token starts a word when it is not special and either does not
 * touch the previous token's end or follows a special token; word ids count the starts (−1 on special
 * tokens); only a word's first token may be chosen.
 */
function wordIdsAndNoMask(offsets: [number, number][][], special: number[][], shape: number[]): [number[][], number[][]] {
  const [b, l] = shape;
  if (offsets.length !== b || offsets.some((r) => !Array.isArray(r) || r.length !== l)) {
    throw new RangeError(
      `whole word masking: offset_mapping must have one [start, end] per token of the padded batch (${b} × ${l}); examples of different lengths are not padded by the tokenizer (HF's pad leaves offset_mapping as it is)`,
    );
  }
  const wordIds: number[][] = [];
  const noMask: number[][] = [];
  for (let i = 0; i < b; i++) {
    let word = 0;
    const ids: number[] = [];
    const no: number[] = [];
    for (let j = 0; j < l; j++) {
      const isSpecial = special[i][j] === 1;
      const prevEnd = j === 0 ? -1 : offsets[i][j - 1][1];
      const prevSpecial = j === 0 ? false : special[i][j - 1] === 1;
      const isNew = !isSpecial && (offsets[i][j][0] !== prevEnd || prevSpecial);
      if (isNew) word++;
      ids.push(isSpecial ? -1 : word);
      no.push(isNew ? 0 : 1);
    }
    wordIds.push(ids);
    noMask.push(no);
  }
  return [wordIds, noMask];
}

/** HF's _whole_word_mask: a token is masked when any token of its word is. */
function wholeWordMask(wordIds: number[][], mask: boolean[][]): boolean[][] {
  return wordIds.map((ids, i) => {
    const chosen = new Set(ids.filter((w, j) => w !== -1 && mask[i][j]));
    return ids.map((w) => w !== -1 && chosen.has(w));
  });
}

function toBatch(padded: Record<string, unknown>): Batch {
  const out: Batch = {};
  for (const [k, v] of Object.entries(padded)) {
    if (!Array.isArray(v)) continue;
    out[k] = torch.tensor(v as number[][], { dtype: "int64" });
  }
  if (!out.input_ids) throw new TypeError("the examples have no input_ids");
  return out;
}
