// TRL's DataCollatorForLanguageModeling (trl/trainer/sft_trainer.py, TRL 1.x), the SFT collator: pads
// input_ids (pad id) and labels (−100) on the right, labels defaulting to the input ids (the dataset
// preparation has already put −100 where no loss is wanted). With paddingFree the examples become one
// row with position ids restarting at each sequence (from a packed row's seq_lengths, or per example)
// and no attention mask; each sequence's first label is ignored, as TRL does.
import { Callable } from "../tokenizers/callable.js";
import * as torch from "../torch/index.js";
import type { Batch, Features } from "../trainer/data_collator.js";

export interface SftDataCollatorOptions {
  padTokenId: number;
  paddingFree?: boolean;
  padToMultipleOf?: number | null;
}

export interface DataCollatorForLanguageModeling {
  (examples: Features[]): Batch;
}

function ints(v: unknown, what: string): number[] {
  if (!Array.isArray(v) || !v.every((x) => Number.isInteger(x))) throw new TypeError(`DataCollatorForLanguageModeling: ${what} must be a list of integers`);
  return v as number[];
}

export class DataCollatorForLanguageModeling extends Callable {
  readonly padTokenId: number;
  readonly paddingFree: boolean;
  readonly padToMultipleOf: number | null;

  constructor(o: SftDataCollatorOptions) {
    super();
    if (!o || !Number.isInteger(o.padTokenId)) throw new TypeError("DataCollatorForLanguageModeling: { padTokenId } is required (an integer)");
    this.padTokenId = o.padTokenId;
    this.paddingFree = o.paddingFree ?? false;
    this.padToMultipleOf = o.padToMultipleOf ?? null;
    if (this.padToMultipleOf !== null && !(Number.isInteger(this.padToMultipleOf) && this.padToMultipleOf > 0)) {
      throw new RangeError(`DataCollatorForLanguageModeling: padToMultipleOf must be a positive integer, got ${this.padToMultipleOf}`);
    }
  }

  /** TRL's get_position_ids_from_packed_seq_lengths: 0, 1, … restarting at each recorded sequence. */
  static positionIdsFromSeqLengths(batchSeqLengths: number[][]): number[][] {
    return batchSeqLengths.map((lengths) => lengths.flatMap((n) => Array.from({ length: n }, (_, i) => i)));
  }

  protected __call__(examples: Features[]): Batch {
    if (!Array.isArray(examples) || !examples.length) throw new TypeError("DataCollatorForLanguageModeling: expected a non-empty list of examples");
    let inputIds = examples.map((e, i) => ints(e.input_ids, `example ${i}'s input_ids`));
    let labels = examples.map((e, i) => ints(e.labels ?? e.input_ids, `example ${i}'s labels`));
    labels.forEach((l, i) => {
      if (l.length !== inputIds[i].length)
        throw new RangeError(`DataCollatorForLanguageModeling: example ${i} has ${inputIds[i].length} input_ids but ${l.length} labels`);
    });
    let positionIds: number[][] | null = null;
    if (this.paddingFree) {
      positionIds =
        "seq_lengths" in examples[0]
          ? DataCollatorForLanguageModeling.positionIdsFromSeqLengths(examples.map((e, i) => ints(e.seq_lengths, `example ${i}'s seq_lengths`)))
          : inputIds.map((ids) => ids.map((_, i) => i));
      positionIds.forEach((p, i) => {
        if (p.length !== inputIds[i].length)
          throw new RangeError(`DataCollatorForLanguageModeling: example ${i}'s seq_lengths sum to ${p.length}, its input_ids hold ${inputIds[i].length}`);
      });
      inputIds = [inputIds.flat()];
      labels = [labels.flat()];
      positionIds = [positionIds.flat()];
    }
    let width = Math.max(...inputIds.map((r) => r.length));
    if (this.padToMultipleOf && width % this.padToMultipleOf) width += this.padToMultipleOf - (width % this.padToMultipleOf);
    const pad = (rows: number[][], value: number) => rows.map((r) => [...r, ...new Array<number>(width - r.length).fill(value)]);
    const out: Batch = { input_ids: torch.tensor(pad(inputIds, this.padTokenId), { dtype: "int64" }) };
    const paddedLabels = pad(labels, -100);
    if (positionIds) {
      const paddedPositions = pad(positionIds, 0);
      // A sequence's first label would be predicted from the previous sequence's last token.
      out.labels = torch.tensor(
        paddedLabels.map((r, i) => r.map((l, j) => (paddedPositions[i][j] === 0 ? -100 : l))),
        { dtype: "int64" },
      );
      out.position_ids = torch.tensor(paddedPositions, { dtype: "int64" });
    } else {
      out.labels = torch.tensor(paddedLabels, { dtype: "int64" });
      out.attention_mask = torch.tensor(
        pad(
          inputIds.map((r) => r.map(() => 1)),
          0,
        ),
        { dtype: "int64" },
      );
    }
    return out;
  }
}
