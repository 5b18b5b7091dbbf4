// HF's evaluation_loop: the model in eval mode over a dataset's batches, logits and labels gathered
// in the dataset's order (under DDP every rank's batch, the rows that completed the last round
// dropped as accelerate's gather_for_metrics does), the mean loss per row, computeMetrics, and HF's
// speed metrics; Ctrl-C stops it within a batch.
import * as torch from "../torch/index.js";
import type { Tensor } from "../torch/index.js";
import type { Dataset } from "../datasets/index.js";
import type { ModelInputs, PreTrainedModel } from "../models/index.js";
import { allGather } from "../distributed/index.js";
import { shardPadding } from "./batch_shard.js";
import { dataloaderBaseSeedDraw } from "./batching.js";
import { LABEL_COLUMNS } from "./data_checks.js";
import type { TrainingArguments } from "./training_args.js";
import { speedMetrics } from "./metrics_files.js";

/**
 * What a model's predictions are in predict() and computeMetrics: its logits, or for a question-
 * answering head HF's tuple [start_logits, end_logits]. By the model's type where it is known
 * (an Auto class's model), either where it is not.
 */
export type Predictions<M = unknown> = M extends { forward(...args: never[]): { logits: Tensor } }
  ? Tensor
  : M extends { forward(...args: never[]): { startLogits: Tensor; endLogits: Tensor } }
    ? [Tensor, Tensor]
    : Tensor | [Tensor, Tensor];

export interface EvalPrediction<P = Tensor> {
  predictions: P;
  labelIds: Tensor;
}
export type ComputeMetrics<P = Tensor> = (p: EvalPrediction<P>) => Record<string, number | number[]> | Promise<Record<string, number | number[]>>;

export interface PredictionOutput<P = Tensor | [Tensor, Tensor]> {
  predictions: P;
  /** The labels, when the dataset has a label column (null otherwise). */
  labelIds: Tensor | null;
  /** HF's name for labelIds (the course prints predictions.label_ids.shape). */
  label_ids: Tensor | null;
  metrics: Record<string, number>;
}

type LabelColumn = "label" | "labels" | "label_ids";
/**
 * predict()'s output for a dataset of rows T: when T is known to have a label column (a typed GLUE
 * dataset, say), labelIds is a Tensor, never null; for untyped rows it may be null.
 */
export type PredictionOutputFor<T, P = Tensor | [Tensor, Tensor]> = string extends keyof T
  ? PredictionOutput<P>
  : [Extract<keyof T, LabelColumn>] extends [never]
    ? PredictionOutput<P>
    : PredictionOutput<P> & { labelIds: Tensor; label_ids: Tensor };

/** Thrown inside an evaluation that Ctrl-C stopped; training then saves and ends. */
export class Interrupted extends Error {}

/** What the loop needs of the Trainer. */
export interface LoopContext {
  model: PreTrainedModel;
  args: TrainingArguments;
  worldSize: number;
  computeMetrics?: ComputeMetrics<Tensor | [Tensor, Tensor]>;
  /**
   * Only the loss (HF's evaluate() without compute_metrics passes prediction_loss_only=True): logits
   * and labels are not kept — a masked LM's logits over the vocabulary would take gigabytes.
   */
  lossOnly: boolean;
  columns: string[];
  /** This process's batches of rows, in order. */
  batches: Int32Array[];
  collate(rows: Int32Array): ModelInputs;
  /** The forward under the run's mixed precision. */
  forward(batch: ModelInputs): { loss?: Tensor; logits?: Tensor; startLogits?: Tensor; endLogits?: Tensor };
  /** Under DDP every rank's batch in rank order; the batch itself otherwise. */
  gatherBatch(t: Tensor, pad: number): Tensor;
  /** After each batch: callbacks, and a Ctrl-C check that throws Interrupted. */
  afterBatch(): Promise<void>;
}

/** Concatenates along dim 0, padding dim 1 with padIndex when lengths differ (HF's nested_concat). */
function concatPadded(ts: Tensor[], padIndex: number): Tensor {
  if (ts[0].ndim < 2 || ts.every((t) => t.shape[1] === ts[0].shape[1])) return torch.cat(ts, 0);
  const width = Math.max(...ts.map((t) => t.shape[1]));
  return torch.tidy(() =>
    torch.cat(
      ts.map((t) => {
        if (t.shape[1] === width) return t;
        const pad = torch.full([t.shape[0], width - t.shape[1], ...t.shape.slice(2)], padIndex, { dtype: t.dtype });
        return torch.cat([t, pad], 1);
      }),
      0,
    ),
  );
}

export async function evaluationLoop(ctx: LoopContext, ds: Dataset, prefix: string): Promise<PredictionOutput> {
  const { model, args, worldSize, batches } = ctx;
  const wasTraining = model.training;
  model.eval();
  const start = performance.now();
  const padding = worldSize > 1 ? shardPadding(ds.numRows, args.perDeviceEvalBatchSize, worldSize) : 0;
  dataloaderBaseSeedDraw();
  // HF evaluates with a LengthGroupedSampler too under groupByLength, its permutation from the global
  // generator. The same draw is taken, so dropout afterwards continues as in Python, but the rows stay
  // in order: predictions line up with the dataset (HF's come out permuted; the metrics are the same).
  if (args.groupByLength) torch.randperm(ds.numRows).dispose();
  // Each output's batches: one list for logits, two for a QA head's start and end logits (HF's tuple).
  let preds: Tensor[][] = [];
  const labels: Tensor[] = [];
  // Each batch's mean loss, counted once per row (HF's loss.repeat(batch_size)), in gathered order.
  const losses: { loss: number; rows: number }[] = [];
  try {
    for (const rows of batches) {
      const batch = ctx.collate(rows);
      torch.noGrad(() =>
        torch.tidy(() => {
          const out = ctx.forward(batch);
          if (out.loss) {
            const each = worldSize > 1 ? allGather(out.loss.detach().float().reshape(1)).map((t) => t.item()) : [out.loss.item()];
            for (const loss of each) losses.push({ loss, rows: rows.length });
          }
          const outputs = out.logits ? [out.logits] : out.startLogits && out.endLogits ? [out.startLogits, out.endLogits] : [];
          const keep = !args.predictionLossOnly && !ctx.lossOnly;
          if (outputs.length && keep) {
            if (!preds.length) preds = outputs.map(() => []);
            outputs.forEach((t, k) => preds[k].push(torch.keep(ctx.gatherBatch(t.float().cpu(), -100))));
          }
          if (batch.labels && keep) labels.push(torch.keep(ctx.gatherBatch(batch.labels.cpu(), -100)));
        }),
      );
      torch.dispose(batch);
      await ctx.afterBatch();
    }
  } catch (e) {
    torch.dispose([preds, labels]);
    if (wasTraining) model.train();
    throw e;
  }
  const dropPadding = (t: Tensor) => {
    if (!padding) return t;
    const kept = torch.tidy(() => t.narrow(0, 0, t.shape[0] - padding).contiguous());
    t.dispose();
    return kept;
  };
  const gathered = preds.map((p) => dropPadding(concatPadded(p, -100)));
  const predictions: Tensor | [Tensor, Tensor] = gathered.length === 2 ? [gathered[0], gathered[1]] : (gathered[0] ?? torch.zeros([0]));
  // A dataset with a label column always gives labels (an empty tensor for an empty dataset).
  const labelIds = labels.length
    ? dropPadding(concatPadded(labels, -100))
    : ctx.columns.some((c) => LABEL_COLUMNS.includes(c))
      ? torch.zeros([0], { dtype: "int64" })
      : null;
  torch.dispose([preds, labels]);
  let lossSum = 0;
  let lossCount = 0;
  let drop = padding;
  for (const { loss, rows } of losses.reverse()) {
    const kept = rows - Math.min(drop, rows);
    drop -= rows - kept;
    lossSum += loss * kept;
    lossCount += kept;
  }
  const metrics: Record<string, number> = {};
  if (ctx.computeMetrics && labelIds) {
    const m = await ctx.computeMetrics({ predictions, labelIds });
    for (const [k, v] of Object.entries(m)) if (typeof v === "number") metrics[k.startsWith(`${prefix}_`) ? k : `${prefix}_${k}`] = v;
  }
  if (lossCount) metrics[`${prefix}_loss`] = lossSum / lossCount;
  Object.assign(metrics, speedMetrics(prefix, start, ds.numRows, batches.length));
  // HF orders eval_loss first.
  const ordered: Record<string, number> = {};
  if (`${prefix}_loss` in metrics) ordered[`${prefix}_loss`] = metrics[`${prefix}_loss`];
  Object.assign(ordered, metrics);
  if (wasTraining) model.train();
  return { predictions, labelIds, label_ids: labelIds, metrics: ordered };
}
