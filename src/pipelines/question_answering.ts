// pipeline("question-answering"): transformers' QuestionAnsweringPipeline — { question, context } in,
// the most likely answer span out ({ score, start, end, answer }). A long context is cut in windows
// (maxSeqLen 384, docStride 128); in each, the start and end probabilities (softmax over the context
// tokens and [CLS]) multiply into span scores, spans longer than maxAnswerLen or ending before they
// start are dropped (HF's decode_spans), and the span is widened to whole words (alignToWords). With
// handleImpossibleAnswer, "" competes with the smallest [CLS] score over the windows.
import { Callable } from "../tokenizers/callable.js";
import type { PreTrainedTokenizer } from "../tokenizers/index.js";
import type { PreTrainedModel } from "../models/index.js";
import { sliceCodePoints } from "../evaluate/qa_postprocessing.js";
import { inference, modelInputs } from "./model_inputs.js";

export interface QuestionAnsweringInput {
  question: string;
  context: string;
}
export interface QuestionAnsweringResult {
  score: number;
  /** Character offsets of the answer in the context (code points, as Python's). */
  start: number;
  end: number;
  answer: string;
}
export interface QuestionAnsweringOptions {
  /** How many answers (default 1: the answer itself; more: a list, best first). */
  topK?: number;
  handleImpossibleAnswer?: boolean;
  maxAnswerLen?: number;
  maxSeqLen?: number;
  docStride?: number;
  alignToWords?: boolean;
}

export interface QuestionAnsweringPipeline {
  (inputs: QuestionAnsweringInput, o?: QuestionAnsweringOptions): QuestionAnsweringResult | QuestionAnsweringResult[];
  (inputs: QuestionAnsweringInput[], o?: QuestionAnsweringOptions): (QuestionAnsweringResult | QuestionAnsweringResult[])[];
}

export class QuestionAnsweringPipeline extends Callable {
  constructor(
    readonly model: PreTrainedModel,
    readonly tokenizer: PreTrainedTokenizer,
  ) {
    super();
  }

  protected override __call__(inputs: QuestionAnsweringInput | QuestionAnsweringInput[], o: QuestionAnsweringOptions = {}): unknown {
    const list = Array.isArray(inputs) ? inputs : [inputs];
    const out = list.map((x, i) => {
      if (!x || typeof x.question !== "string" || typeof x.context !== "string") {
        throw new TypeError(`question-answering: input ${i} must be { question: string, context: string }, got ${JSON.stringify(x)?.slice(0, 100)}`);
      }
      if (!x.question.trim()) throw new Error("question-answering: the question is empty");
      if (!x.context.trim()) throw new Error("question-answering: the context is empty");
      return this.#answer(x, o);
    });
    return Array.isArray(inputs) ? out : out[0];
  }

  #answer(x: QuestionAnsweringInput, o: QuestionAnsweringOptions): QuestionAnsweringResult | QuestionAnsweringResult[] {
    const topK = o.topK ?? 1;
    const maxAnswerLen = o.maxAnswerLen ?? 15;
    const maxSeqLen = o.maxSeqLen ?? Math.min(this.tokenizer.modelMaxLength, 384);
    const docStride = o.docStride ?? Math.min(Math.floor(maxSeqLen / 2), 128);
    if (!Number.isInteger(topK) || topK < 1) throw new RangeError(`question-answering: topK must be a positive integer, got ${topK}`);
    if (!Number.isInteger(maxAnswerLen) || maxAnswerLen < 1)
      throw new RangeError(`question-answering: maxAnswerLen must be a positive integer, got ${maxAnswerLen}`);
    if (docStride > maxSeqLen) throw new RangeError(`\`doc_stride\` (${docStride}) is larger than the maximum length (${maxSeqLen})`);
    const questionFirst = this.tokenizer.paddingSide === "right";
    const enc = this.tokenizer(questionFirst ? x.question : x.context, questionFirst ? x.context : x.question, {
      truncation: questionFirst ? "only_second" : "only_first",
      maxLength: maxSeqLen,
      stride: docStride,
      returnOverflowingTokens: true,
      returnOffsetsMapping: true,
      returnTokenTypeIds: true,
      padding: "longest",
    });
    const spans = enc.input_ids.length;
    const logits = inference(this.model, () => {
      const out = this.model.forward(modelInputs(this.tokenizer, enc, false));
      if (!out.startLogits || !out.endLogits)
        throw new TypeError(`question-answering: ${this.model.constructor.name} gives no start/end logits (a QA head is needed)`);
      return { start: out.startLogits.float().toArray() as number[][], end: out.endLogits.float().toArray() as number[][] };
    });
    const context = questionFirst ? 1 : 0;
    const answers: QuestionAnsweringResult[] = [];
    let minNullScore = 1_000_000;
    for (let span = 0; span < spans; span++) {
      const seq = enc.sequenceIds(span);
      const ids = enc.input_ids[span];
      // HF's p_mask: 1 where a token cannot be part of the answer (only the context can, and [CLS] stays open).
      const desired = seq.map((s, k) => (questionFirst ? s === 1 : true) || ids[k] === this.tokenizer.clsTokenId);
      const mask = enc.attention_mask[span];
      const ok = desired.map((d, k) => d && mask[k] === 1);
      const start = softmaxMasked(logits.start[span], ok);
      const end = softmaxMasked(logits.end[span], ok);
      if (o.handleImpossibleAnswer) minNullScore = Math.min(minNullScore, start[0] * end[0]);
      start[0] = 0;
      end[0] = 0;
      for (const [s, e, score] of decodeSpans(start, end, topK, maxAnswerLen, ok)) {
        const [from, to] = this.#charSpan(enc, span, s, e, context, o.alignToWords ?? true);
        answers.push({ score, start: from, end: to, answer: sliceCodePoints(x.context, from, to) });
      }
    }
    if (o.handleImpossibleAnswer) answers.push({ score: minNullScore, start: 0, end: 0, answer: "" });
    const best = answers.sort((a, b) => b.score - a.score).slice(0, topK);
    return best.length === 1 ? best[0] : best;
  }

  /** HF's get_indices: the words of the span's first and last tokens (token_to_word, word_to_chars), or their offsets. */
  #charSpan(
    enc: { offset_mapping: [number, number][][]; wordIds(i: number): (number | null)[]; sequenceIds(i: number): (number | null)[] },
    span: number,
    s: number,
    e: number,
    sequence: number,
    alignToWords: boolean,
  ): [number, number] {
    const offsets = enc.offset_mapping[span];
    if (alignToWords) {
      let words: (number | null)[] | null = null;
      try {
        words = enc.wordIds(span);
      } catch {
        words = null; // Some tokenizers don't really handle words: keep to offsets then.
      }
      if (words && words[s] !== null && words[e] !== null) {
        const seq = enc.sequenceIds(span);
        const of = (w: number | null) => offsets.filter((_, k) => words![k] === w && seq[k] === sequence);
        const first = of(words[s]);
        const last = of(words[e]);
        if (first.length && last.length) return [first[0][0], last[last.length - 1][1]];
      }
    }
    return [offsets[s][0], offsets[e][1]];
  }
}

/** Softmax over the allowed positions: the others count as −10000 (HF's np.where before its softmax). */
function softmaxMasked(logits: number[], ok: boolean[]): number[] {
  const x = logits.map((v, k) => (ok[k] ? v : -10000));
  const max = Math.max(...x);
  const exp = x.map((v) => Math.exp(v - max));
  const sum = exp.reduce((a, b) => a + b, 0);
  return exp.map((v) => v / sum);
}

/**
 * HF's decode_spans: every (start, end) with start ≤ end < start + maxAnswerLen scored start × end, the
 * topK best (the single best with topK 1), then those whose start and end are both allowed kept.
 */
function decodeSpans(start: number[], end: number[], topK: number, maxAnswerLen: number, ok: boolean[]): [number, number, number][] {
  const candidates: [number, number, number][] = [];
  const n = start.length;
  // The band outside holds zeros in HF's matrix; they rank only when nothing in it is positive.
  for (let s = 0; s < n; s++) for (let e = s; e < Math.min(n, s + maxAnswerLen); e++) candidates.push([s, e, start[s] * end[e]]);
  if (!candidates.length) return [];
  candidates.sort((a, b) => b[2] - a[2] || a[0] * n + a[1] - (b[0] * n + b[1]));
  return candidates.slice(0, topK).filter(([s, e]) => ok[s] && ok[e]);
}
