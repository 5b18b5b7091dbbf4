// pipeline("fill-mask"): transformers' FillMaskPipeline — a text with the tokenizer's mask token in,
// the topK most likely tokens for it out ({ score, token, token_str, sequence }), softmax over the
// vocabulary (or over `targets` only). Several masks in one text give one list per mask, and the
// sequences keep the other masks (HF decodes without skipping special tokens then).
import * as torch from "../torch/index.js";
import { Callable } from "../tokenizers/callable.js";
import type { PreTrainedTokenizer } from "../tokenizers/index.js";
import type { PreTrainedModel } from "../models/index.js";
import { logger } from "../models/logging.js";
import { inference, modelInputs } from "./model_inputs.js";

export interface FillMaskResult {
  score: number;
  token: number;
  token_str: string;
  sequence: string;
}
export interface FillMaskOptions {
  /** How many tokens per mask (default 5; at most the number of targets). */
  topK?: number;
  /** Score only these tokens (words missing from the vocabulary are replaced by their first token, with HF's warning). */
  targets?: string | string[];
}

export interface FillMaskPipeline {
  (inputs: string, o?: FillMaskOptions): FillMaskResult[] | FillMaskResult[][];
  (inputs: string[], o?: FillMaskOptions): (FillMaskResult[] | FillMaskResult[][])[];
}

export class FillMaskPipeline extends Callable {
  constructor(
    readonly model: PreTrainedModel,
    readonly tokenizer: PreTrainedTokenizer,
  ) {
    super();
    if (tokenizer.maskTokenId === null) throw new Error("fill-mask: the tokenizer has no mask token");
  }

  protected override __call__(inputs: string | string[], o: FillMaskOptions = {}): unknown {
    const list = Array.isArray(inputs) ? inputs : [inputs];
    const targets = o.targets === undefined ? null : this.#targetIds(o.targets);
    const out = list.map((text, i) => {
      if (typeof text !== "string") throw new TypeError(`fill-mask: input ${i} must be a string, got ${JSON.stringify(text)}`);
      return this.#fill(text, o.topK ?? 5, targets);
    });
    return Array.isArray(inputs) ? out : out[0];
  }

  /** HF's get_target_ids: each target's id, or its first token's (with a warning) when it is not a vocabulary entry. */
  #targetIds(targets: string | string[]): number[] {
    const vocab = this.tokenizer.getVocab();
    const ids: number[] = [];
    for (const target of typeof targets === "string" ? [targets] : targets) {
      let id = vocab.get(target);
      if (id === undefined) {
        const pieces = this.tokenizer.encode(target, {
          addSpecialTokens: false,
          returnAttentionMask: false,
          returnTokenTypeIds: false,
          maxLength: 1,
          truncation: true,
        }).input_ids as number[];
        if (pieces.length === 0) {
          logger.warning(
            `The specified target token \`${target}\` does not exist in the model vocabulary. We cannot replace it with anything meaningful, ignoring it`,
          );
          continue;
        }
        id = pieces[0];
        logger.warning(
          `The specified target token \`${target}\` does not exist in the model vocabulary. Replacing with \`${this.tokenizer.convertIdsToTokens(id)}\`.`,
        );
      }
      if (!ids.includes(id)) ids.push(id);
    }
    if (ids.length === 0) throw new Error("At least one target must be provided when passed.");
    return ids;
  }

  #fill(text: string, topK: number, targets: number[] | null): FillMaskResult[] | FillMaskResult[][] {
    if (!Number.isInteger(topK) || topK < 1) throw new RangeError(`fill-mask: topK must be a positive integer, got ${topK}`);
    const enc = this.tokenizer(text, { truncation: true });
    const ids = enc.input_ids;
    const maskId = this.tokenizer.maskTokenId!;
    const masked = ids.flatMap((id, k) => (id === maskId ? [k] : []));
    // HF's _ensure_exactly_one_mask_token (at least one, in fact).
    if (masked.length === 0) throw new Error(`No mask_token (${this.tokenizer.maskToken}) found on the input`);
    const k = targets ? Math.min(topK, targets.length) : topK;
    const ranked = inference(this.model, () => {
      const logits = this.model
        .forward(modelInputs(this.tokenizer, enc, true))
        .logits!.float()
        .select(0, 0)
        .indexSelect(0, torch.tensor(masked));
      let probs = logits.softmax(-1);
      if (targets) probs = probs.indexSelect(1, torch.tensor(targets));
      const { values, indices } = probs.topk(k, -1);
      return { values: values.toArray() as number[][], indices: indices.toArray() as number[][] };
    });
    const single = masked.length === 1;
    const pad = this.tokenizer.padTokenId;
    const rows = masked.map((position, i) =>
      ranked.values[i].map((score, j) => {
        const token = targets ? targets[ranked.indices[i][j]] : ranked.indices[i][j];
        const tokens = ids.map((id, t) => (t === position ? token : id)).filter((id) => id !== pad);
        return { score, token, token_str: this.tokenizer.decode([token]), sequence: this.tokenizer.decode(tokens, { skipSpecialTokens: single }) };
      }),
    );
    return single ? rows[0] : rows;
  }
}
