// How the Trainer turns a dataset into batches, as HF's get_train_dataloader / accelerate's prepared
// loaders do: the columns the model takes (unused ones dropped), each epoch's row order (seeded
// shuffle or length grouping), the batches of this process (accelerate's sharding under DDP), and
// each batch's tensors (straight from Arrow for a plain padding collator, else the collator over the
// batch's rows; never a decode of the whole dataset).
import * as torch from "../torch/index.js";
import type { Tensor } from "../torch/index.js";
import type { Dataset } from "../datasets/index.js";
import { isEnabledFor, type ModelInputs, type PreTrainedModel } from "../models/index.js";
import type { Batch, Features } from "./data_collator.js";
import { ArrowPaddingCollator } from "./arrow_collate.js";
import { shardBatches } from "./batch_shard.js";
import { getLengthGroupedIndices } from "./length_grouped.js";
import type { TrainingArguments } from "./training_args.js";

/**
 * The columns the model takes (HF's _remove_unused_columns: its forward's inputs, label, label_ids
 * and labelNames); the others are dropped, with HF's info-level note naming them.
 */
export function signatureColumns(model: PreTrainedModel, args: TrainingArguments, ds: Dataset, signature: string[], print: (line: string) => void): string[] {
  if (!args.removeUnusedColumns) return ds.columnNames;
  const accepted = new Set(signature);
  const keep = ds.columnNames.filter((c) => accepted.has(c));
  const dropped = ds.columnNames.filter((c) => !accepted.has(c));
  if (dropped.length && isEnabledFor("info")) {
    const name = model.constructor.name;
    print(
      `The following columns in the dataset don't have a corresponding argument in \`${name}.forward\` and have been ignored: ${dropped.join(", ")}. If ${dropped.join(", ")} are not expected by \`${name}.forward\`,  you can safely ignore this message.`,
    );
  }
  return keep;
}

/** HF's lengths for grouping: the lengthColumnName column if the dataset has one, else each row's input_ids length. */
function lengthsOf(ds: Dataset, args: TrainingArguments): number[] {
  if (ds.columnNames.includes(args.lengthColumnName)) return ds.column(args.lengthColumnName) as number[];
  if (!ds.columnNames.includes("input_ids"))
    throw new Error(
      `groupByLength: the dataset has neither a '${args.lengthColumnName}' column nor input_ids to measure (columns: ${ds.columnNames.join(", ")})`,
    );
  return (ds.column("input_ids") as number[][]).map((x) => x.length);
}

/**
 * The row order of one epoch. Shuffled: a permutation from a generator seeded with seed + epoch
 * (accelerate's SeedableRandomSampler). groupByLength: HF's LengthGroupedSampler over batches of
 * perDeviceTrainBatchSize × gradientAccumulationSteps, drawn from the global generator (the Trainer
 * gives it none), so it must be called where a DataLoader's sampler starts: after the base-seed draw.
 */
export function epochOrder(ds: Dataset, epoch: number, args: TrainingArguments): Int32Array {
  if (args.groupByLength) return getLengthGroupedIndices(lengthsOf(ds, args), args.perDeviceTrainBatchSize * args.gradientAccumulationSteps);
  const seed = (args.dataSeed ?? args.seed) + epoch;
  // A private draw, as accelerate's SeedableRandomSampler makes with a generator of its own: the CPU
  // generator is seeded and then restored, and the CUDA generators (dropout on a GPU) are not touched.
  const saved = torch.getRngState();
  torch.manualSeed(seed, "cpu");
  const perm = torch.tidy(() => torch.randperm(ds.numRows).to("int32").dataSync() as Int32Array);
  torch.setRngState(saved);
  saved.dispose();
  return perm;
}

/** This process's batches of row indices: the dataset (in `order`) cut into batches, and under DDP this rank's share of them (accelerate's BatchSamplerShard). */
export function batchesOf(ds: Dataset, order: Int32Array | null, batchSize: number, dropLast: boolean, worldSize: number, processIndex: number): Int32Array[] {
  const n = ds.numRows;
  const idx = order ?? Int32Array.from({ length: n }, (_, i) => i);
  const out: Int32Array[] = [];
  for (let s = 0; s < n; s += batchSize) {
    if (dropLast && s + batchSize > n) break;
    out.push(idx.subarray(s, s + batchSize));
  }
  return shardBatches(out, batchSize, worldSize, processIndex, dropLast);
}

/**
 * What iterating a torch DataLoader takes from the global generator: one int64 for the workers' base
 * seed (_BaseDataLoaderIter: `torch.empty((), dtype=torch.int64).random_()`, one 64-bit draw). HF's
 * loaders have no generator of their own, so each train epoch and each evaluation takes one; taking
 * it here keeps dropout's draws where a Python run has them.
 */
export function dataloaderBaseSeedDraw(): void {
  // randint over a range of 2^32 or more draws one 64-bit number, as random_() on int64 does.
  torch.randint(0, 2 ** 53, []).dispose();
}

/**
 * A dataset's batches as tensors on the device: straight from Arrow when the collator is a plain
 * DataCollatorWithPadding, else the collator over the batch's rows (decoded per batch, never the
 * whole dataset, so memory does not grow with it).
 */
export class BatchMaker {
  #readers = new WeakMap<Dataset, { columns: string; reader: ArrowPaddingCollator | null }>();
  constructor(
    readonly collator: (features: Features[]) => Batch,
    readonly device: string,
    readonly pinMemory = true,
  ) {}

  collate(ds: Dataset, rows: Int32Array, columns: string[]): ModelInputs {
    const key = columns.join("\u0000");
    let r = this.#readers.get(ds);
    if (!r || r.columns !== key) {
      r = { columns: key, reader: ArrowPaddingCollator.for(this.collator, ds, columns) };
      this.#readers.set(ds, r);
    }
    let batch: Batch;
    if (r.reader) batch = r.reader.collate(rows);
    else {
      const data = ds.batchAt(rows, columns);
      batch = this.collator(Array.from(rows, (_, k) => Object.fromEntries(columns.map((c) => [c, data[c][k]]))));
    }
    const out: Record<string, Tensor> = {};
    for (const [k, t] of Object.entries(batch)) {
      if (this.device.startsWith("cuda") && this.pinMemory) {
        // As the DataLoader's pin_memory (HF's dataloader_pin_memory default), and copied without
        // the host waiting (non_blocking): a copy from pageable memory would wait for the GPU to
        // finish the step before, so the next batch's collation and launches could not overlap it.
        const pinned = t.pinMemory();
        out[k] = pinned.to({ device: this.device, nonBlocking: true });
        torch.dispose([t, pinned]);
      } else if (this.device !== "cpu") {
        out[k] = t.to(this.device);
        t.dispose();
      } else out[k] = t;
    }
    return out as ModelInputs;
  }
}

/** transformers' default_data_collator: stacks features that are already the same length. */
export function defaultCollator(features: Features[]): Batch {
  const out: Batch = {};
  for (const k of Object.keys(features[0])) {
    const key = k === "label" || k === "label_ids" ? "labels" : k;
    const values = features.map((f) => f[k]);
    if (values.every((v) => typeof v === "number" || Array.isArray(v))) {
      const floats = values.flat(4).some((v) => typeof v === "number" && !Number.isInteger(v));
      out[key] = torch.tensor(values as never, { dtype: floats ? "float32" : "int64" });
    }
  }
  return out;
}
