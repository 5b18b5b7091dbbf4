// Trainer: the course's training loop with HF's behaviour — unused columns dropped, seeded shuffling,
// gradient accumulation, AdamW with HF's weight-decay grouping, warmup + schedule, clipping,
// bf16/fp16 autocast, logging, evaluation, checkpoints (atomic), rotation, best model, resume, Ctrl-C.
import { existsSync, mkdirSync, readFileSync, readdirSync, renameSync, rmSync } from "node:fs";
import { join } from "node:path";
import * as torch from "../torch/index.js";
import type { Tensor } from "../torch/index.js";
import { AdamW, GradScaler, clipGradNorm, getScheduler, loadOptimizerState, saveOptimizerState, warmupStepsFor, type LambdaLR, type Optimizer } from "../optim/index.js";
import type { Dataset } from "../datasets/index.js";
import { progressBar, type Progress } from "../datasets/progress.js";
import type { PreTrainedTokenizer } from "../tokenizers/index.js";
import { PreTrainedModel, type ModelInputs } from "../models/index.js";
import { DataCollatorWithPadding, type Batch, type Features } from "./data_collator.js";
import { TrainingArguments } from "./training_args.js";
import { TrainerCallback, TrainerControl, TrainerState, type CallbackArgs, type LogEntry } from "./trainer_callback.js";
import { EvalTable, pyDict, runningTrainingBlock } from "./logs.js";
import { reportersFor, type Reporter } from "./reporters.js";
import { uploadFolder, writeJsonAtomic } from "../hub/index.js";

export interface EvalPrediction {
  predictions: Tensor;
  labelIds: Tensor;
}
export type ComputeMetrics = (p: EvalPrediction) => Record<string, number | number[]> | Promise<Record<string, number | number[]>>;

export interface TrainOutput {
  globalStep: number;
  trainingLoss: number;
  metrics: Record<string, number>;
}
export interface PredictionOutput {
  predictions: Tensor;
  labelIds: Tensor | null;
  metrics: Record<string, number>;
}

export interface TrainerInit {
  model?: PreTrainedModel;
  args: TrainingArguments;
  trainDataset?: Dataset;
  evalDataset?: Dataset;
  dataCollator?: (features: Features[]) => Batch;
  processingClass?: PreTrainedTokenizer;
  /** @deprecated HF's older name for processingClass. */
  tokenizer?: PreTrainedTokenizer;
  computeMetrics?: ComputeMetrics;
  callbacks?: TrainerCallback[];
  optimizers?: [Optimizer | null, LambdaLR | null];
  modelInit?: () => PreTrainedModel | Promise<PreTrainedModel>;
}

const CHECKPOINT = /^checkpoint-(\d+)$/;
const FILES = { state: "trainer_state.json", args: "training_args.json", optimizer: "optimizer.safetensors", scheduler: "scheduler.json", scaler: "scaler.json", rng: "rng_state.safetensors" };

function round(x: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}

export class Trainer {
  model: PreTrainedModel;
  readonly args: TrainingArguments;
  readonly trainDataset?: Dataset;
  readonly evalDataset?: Dataset;
  readonly dataCollator: (features: Features[]) => Batch;
  readonly processingClass?: PreTrainedTokenizer;
  readonly computeMetrics?: ComputeMetrics;
  readonly callbacks: TrainerCallback[];
  readonly modelInit?: TrainerInit["modelInit"];
  state = new TrainerState();
  readonly control = new TrainerControl();
  optimizer: Optimizer | null;
  lrScheduler: LambdaLR | null;
  scaler: GradScaler | null = null;
  readonly device: string;
  #reporters: Reporter[] = [];
  #table: EvalTable | null = null;
  #bar: Progress | null = null;
  #lastLoggedLoss: number | null = null;

  constructor(o: TrainerInit) {
    if (!(o.args instanceof TrainingArguments)) throw new TypeError("Trainer: args must be a TrainingArguments");
    if (!o.model && !o.modelInit) throw new TypeError("Trainer: give model or modelInit");
    if (o.model && !(o.model instanceof PreTrainedModel)) throw new TypeError("Trainer: model must be a PreTrainedModel");
    this.args = o.args;
    this.model = o.model as PreTrainedModel;
    this.modelInit = o.modelInit;
    this.trainDataset = o.trainDataset;
    this.evalDataset = o.evalDataset;
    this.processingClass = o.processingClass ?? o.tokenizer;
    this.dataCollator = o.dataCollator ?? (this.processingClass ? new DataCollatorWithPadding({ tokenizer: this.processingClass }) : defaultCollator);
    this.computeMetrics = o.computeMetrics;
    this.callbacks = o.callbacks ?? [];
    this.optimizer = o.optimizers?.[0] ?? null;
    this.lrScheduler = o.optimizers?.[1] ?? null;
    if (this.args.fp16 && (this.args.useCpu || !torch.cuda.isAvailable())) throw new Error("fp16 mixed precision requires a GPU (not 'cpu').");
    this.device = !this.args.useCpu && torch.cuda.isAvailable() ? "cuda" : "cpu";
    if (this.device === "cpu") torch.configureThreads({ threads: this.args.torchThreads ?? undefined, blasThreads: this.args.blasThreads ?? undefined, precision: this.args.bf16 ? "bf16" : "fp32" });
    if (this.model) this.model.to({ device: this.device });
    this.#callback("onInitEnd");
  }

  #callback(event: keyof TrainerCallback, extra: CallbackArgs = {}): void {
    for (const cb of this.callbacks) {
      const fn = cb[event];
      if (typeof fn === "function") fn.call(cb, this.args, this.state, this.control, { model: this.model, processingClass: this.processingClass, optimizer: this.optimizer, lrScheduler: this.lrScheduler, ...extra });
    }
  }

  #print(line: string): void {
    if (this.#bar) this.#bar.write(line);
    else process.stderr.write(line + "\n");
  }

  // ---- data ----
  #columnsFor(ds: Dataset): string[] {
    if (!this.args.removeUnusedColumns) return ds.columnNames;
    const accepted = new Set([...(this.model.constructor as typeof PreTrainedModel).inputNames, "label", "label_ids", ...(this.args.labelNames ?? [])]);
    const keep = ds.columnNames.filter((c) => accepted.has(c));
    const dropped = ds.columnNames.filter((c) => !accepted.has(c));
    if (dropped.length && process.env.TRANSFORMERS_VERBOSITY === "info") {
      this.#print(`The following columns in the dataset don't have a corresponding argument in \`${this.model.constructor.name}.forward\` and have been ignored: ${dropped.join(", ")}. If ${dropped.join(", ")} are not expected by \`${this.model.constructor.name}.forward\`,  you can safely ignore this message.`);
    }
    return keep;
  }

  /** Batches of row indices for one epoch: seeded per epoch (seed + epoch), grouped by length if asked. */
  #epochOrder(ds: Dataset, epoch: number): Int32Array {
    const seed = (this.args.dataSeed ?? this.args.seed) + epoch;
    // A private draw: the global generator (dropout) is left exactly as it was.
    const saved = torch.getRngState();
    torch.manualSeed(seed);
    const perm = torch.tidy(() => torch.randperm(ds.numRows).to("int32").dataSync() as Int32Array);
    torch.setRngState(saved);
    saved.dispose();
    if (!this.args.groupByLength) return perm;
    // HF's LengthGroupedSampler: megabatches of 50 batches, each sorted by length, longest first.
    const lengths = ds.columnNames.includes(this.args.lengthColumnName)
      ? (ds.column(this.args.lengthColumnName) as number[])
      : (ds.column("input_ids") as number[][]).map((x) => x.length);
    const mb = this.args.perDeviceTrainBatchSize * 50;
    const out: number[] = [];
    for (let s = 0; s < perm.length; s += mb) out.push(...Array.from(perm.subarray(s, s + mb)).sort((a, b) => lengths[b] - lengths[a]));
    return Int32Array.from(out);
  }

  #batches(ds: Dataset, order: Int32Array | null, batchSize: number, dropLast: boolean): Int32Array[] {
    const n = ds.numRows;
    const idx = order ?? Int32Array.from({ length: n }, (_, i) => i);
    const out: Int32Array[] = [];
    for (let s = 0; s < n; s += batchSize) {
      if (dropLast && s + batchSize > n) break;
      out.push(idx.subarray(s, s + batchSize));
    }
    return out;
  }

  // The columns a loop reads, decoded from Arrow once per dataset rather than once per batch.
  #decoded = new WeakMap<Dataset, { columns: string[]; data: Record<string, unknown[]> }>();

  #collate(ds: Dataset, rows: Int32Array, columns: string[]): ModelInputs {
    let cached = this.#decoded.get(ds);
    if (!cached || cached.columns.join("\u0000") !== columns.join("\u0000")) {
      cached = { columns, data: ds.batch(0, ds.numRows, columns) };
      this.#decoded.set(ds, cached);
    }
    const data = cached.data;
    const features: Features[] = Array.from(rows, (r) => Object.fromEntries(columns.map((c) => [c, data[c][r]])));
    const batch = this.dataCollator(features);
    const out: Record<string, Tensor> = {};
    for (const [k, t] of Object.entries(batch)) {
      if (this.device !== "cpu") {
        out[k] = t.to(this.device);
        t.dispose();
      } else out[k] = t;
    }
    return out as ModelInputs;
  }

  // ---- optimizer ----
  #createOptimizer(): void {
    if (this.optimizer) return;
    const decay: Tensor[] = [];
    const noDecay: Tensor[] = [];
    // HF's get_decay_parameter_names: everything but biases and LayerNorm weights decays.
    const normParams = new Set<Tensor>();
    for (const [, m] of this.model.namedModules()) {
      if (m.constructor.name === "LayerNorm") for (const p of m.parameters()) normParams.add(p);
    }
    for (const [name, p] of this.model.namedParameters()) {
      if (!p.requiresGrad) continue;
      if (name.endsWith("bias") || normParams.has(p)) noDecay.push(p);
      else decay.push(p);
    }
    this.optimizer = new AdamW(
      [
        { params: decay, weight_decay: this.args.weightDecay },
        { params: noDecay, weight_decay: 0 },
      ].filter((g) => g.params.length),
      { lr: this.args.learningRate, betas: [this.args.adamBeta1, this.args.adamBeta2], eps: this.args.adamEpsilon },
    );
  }

  #createScheduler(maxSteps: number): void {
    if (this.lrScheduler) return;
    const kw = this.args.lrSchedulerKwargs;
    this.lrScheduler = getScheduler(this.args.lrSchedulerType, this.optimizer!, {
      numWarmupSteps: warmupStepsFor(maxSteps, this.args),
      numTrainingSteps: maxSteps,
      numCycles: kw.num_cycles,
      lrEnd: kw.lr_end,
      power: kw.power,
      timescale: kw.timescale,
    });
  }

  /** fn under the run's mixed precision (bf16 or fp16 autocast), or as it is in fp32. */
  #mixedPrecision<T>(fn: () => T): T {
    if (!this.args.bf16 && !this.args.fp16) return fn();
    return torch.autocast({ deviceType: this.device.startsWith("cuda") ? "cuda" : "cpu", dtype: this.args.bf16 ? "bfloat16" : "float16" }, fn);
  }

  #forward(batch: ModelInputs): { loss: Tensor; logits?: Tensor } {
    return this.#mixedPrecision(() => {
      const out = this.model.forward(batch);
      let loss = out.loss;
      if (this.args.labelSmoothingFactor > 0 && batch.labels && out.logits) {
        loss = torch.crossEntropy(out.logits.view(-1, out.logits.shape[out.logits.ndim - 1]), batch.labels.view(-1), { labelSmoothing: this.args.labelSmoothingFactor });
      }
      if (!loss) throw new Error(`The model did not return a loss from the inputs, only the following keys: ${Object.keys(out).filter((k) => (out as Record<string, unknown>)[k]).join(",")}. For reference, the inputs it received are ${Object.keys(batch).join(",")}.`);
      return { loss, logits: out.logits };
    });
  }

  // ---- training ----
  async train(o: { resumeFromCheckpoint?: string | boolean | null } = {}): Promise<TrainOutput> {
    const args = this.args;
    if (!this.trainDataset) throw new Error("Trainer: training requires a trainDataset.");
    if (this.modelInit) {
      torch.manualSeed(args.seed);
      this.model = await this.modelInit();
      this.model.to({ device: this.device });
      this.optimizer = null;
      this.lrScheduler = null;
    }
    torch.manualSeed(args.seed);
    // A fresh control for each run: a previous run's stop (or Ctrl-C) must not end this one.
    Object.assign(this.control, new TrainerControl());
    const resume = o.resumeFromCheckpoint ?? args.resumeFromCheckpoint ?? null;
    const checkpoint = resume === true ? this.#latestCheckpoint() : resume === false || resume === null ? null : resume;
    if (resume === true && !checkpoint) throw new Error(`No valid checkpoint found in output directory (${args.outputDir})`);
    if (checkpoint && !existsSync(join(checkpoint, FILES.state))) throw new Error(`Can't find a valid checkpoint at ${checkpoint}`);

    const ds = this.trainDataset;
    const columns = this.#columnsFor(ds);
    const batchesPerEpoch = this.#batches(ds, null, args.perDeviceTrainBatchSize, args.dataloaderDropLast).length;
    if (batchesPerEpoch === 0) throw new Error("Trainer: the training set is empty (or smaller than one batch with dataloaderDropLast)");
    const stepsPerEpoch = Math.max(Math.floor(batchesPerEpoch / args.gradientAccumulationSteps), 1);
    const maxSteps = args.maxSteps > 0 ? args.maxSteps : Math.ceil(args.numTrainEpochs * stepsPerEpoch);
    const numEpochs = args.maxSteps > 0 ? Math.floor(args.maxSteps / stepsPerEpoch) + (args.maxSteps % stepsPerEpoch > 0 ? 1 : 0) : Math.ceil(args.numTrainEpochs);
    const stepsOf = (v: number | null) => (v !== null && v < 1 ? Math.ceil(maxSteps * v) : (v ?? 0));

    this.#createOptimizer();
    this.#createScheduler(maxSteps);
    if (args.fp16) this.scaler = new GradScaler();
    this.state = new TrainerState();
    Object.assign(this.state, {
      max_steps: maxSteps, num_train_epochs: numEpochs, train_batch_size: args.perDeviceTrainBatchSize,
      logging_steps: stepsOf(args.loggingSteps), eval_steps: stepsOf(args.evalSteps ?? args.loggingSteps), save_steps: stepsOf(args.saveSteps),
    });
    let epochsTrained = 0;
    let batchesToSkip = 0;
    if (checkpoint) {
      this.#loadCheckpoint(checkpoint);
      epochsTrained = Math.floor(this.state.global_step / stepsPerEpoch);
      batchesToSkip = (this.state.global_step % stepsPerEpoch) * args.gradientAccumulationSteps;
      this.#print(`Continuing training from checkpoint ${checkpoint}: epoch ${epochsTrained}, global step ${this.state.global_step}; skipping ${batchesToSkip} batches of the current epoch.`);
    }
    this.#reporters = reportersFor(args);
    this.#table = new EvalTable(args.evalStrategy === "epoch", (l) => this.#print(l));
    const nonEmbedding = this.model.numParameters() - [...this.model.namedModules()].filter(([, m]) => m.constructor.name === "Embedding").reduce((a, [, m]) => a + m.numParameters(), 0);
    this.#print(
      runningTrainingBlock({
        examples: ds.numRows, epochs: numEpochs, batch: args.perDeviceTrainBatchSize, accumulation: args.gradientAccumulationSteps,
        steps: maxSteps, parameters: this.model.numParameters({ onlyTrainable: true }),
      }),
    );

    const stopOnSigint = () => {
      this.control.interrupted = true;
      this.control.shouldTrainingStop = true;
      this.#print("\nInterrupted: finishing the current step, then saving a checkpoint…");
    };
    process.on("SIGINT", stopOnSigint);
    const start = performance.now();
    let lossSinceLog = 0;
    let lastLogStep = this.state.global_step;
    let totalLoss = 0;
    this.model.train();
    this.#callback("onTrainBegin");
    if (args.evalOnStart && this.evalDataset && !checkpoint) await this.evaluate();
    this.#bar = progressBar("", maxSteps, "it", args.disableTqdm);
    this.#bar.update(this.state.global_step);
    try {
      for (let epoch = epochsTrained; epoch < numEpochs && !this.control.shouldTrainingStop; epoch++) {
        const batches = this.#batches(ds, this.#epochOrder(ds, epoch), args.perDeviceTrainBatchSize, args.dataloaderDropLast);
        this.control.shouldEpochStop = false;
        this.#callback("onEpochBegin");
        const accumulated: number[] = [];
        for (let i = epoch === epochsTrained ? batchesToSkip : 0; i < batches.length; i++) {
          const boundary = (i + 1) % args.gradientAccumulationSteps === 0 || i + 1 === batches.length;
          if ((i % args.gradientAccumulationSteps) === 0) this.#callback("onStepBegin");
          const batch = this.#collate(ds, batches[i], columns);
          // As HF (for models without num_items_in_batch): every micro-batch loss is divided by the
          // accumulation steps, the last, shorter group of an epoch too.
          const ga = args.gradientAccumulationSteps;
          const stepLoss = torch.tidy(() => {
            const { loss } = this.#forward(batch);
            const scaled = loss.div(ga);
            (this.scaler ? this.scaler.scaleLoss(scaled) : scaled).backward();
            return scaled.item();
          });
          this.state.total_flos += 6 * (batch.input_ids?.numel() ?? 0) * nonEmbedding;
          if (args.includeNumInputTokensSeen) this.state.num_input_tokens_seen += batch.input_ids?.numel() ?? 0;
          torch.dispose(batch);
          accumulated.push(stepLoss);
          if (!boundary) {
            this.#callback("onSubstepEnd");
            continue;
          }
          if (this.scaler) this.scaler.unscale_(this.optimizer!);
          const gradNorm = args.maxGradNorm > 0 ? clipGradNorm(this.model.parameters(), args.maxGradNorm) : null;
          if (this.scaler) {
            this.scaler.step(this.optimizer!);
            this.scaler.update();
          } else this.optimizer!.step();
          this.lrScheduler!.step();
          this.optimizer!.zeroGrad();
          const stepTotal = accumulated.reduce((a, b) => a + b, 0);
          accumulated.length = 0;
          const finite = Number.isFinite(stepTotal);
          // HF's logging_nan_inf_filter: a nan/inf step adds the average since the last log instead.
          const counted = finite || !args.loggingNanInfFilter ? stepTotal : lossSinceLog / (1 + this.state.global_step - lastLogStep);
          lossSinceLog += counted;
          totalLoss += counted;
          this.state.global_step += 1;
          this.state.epoch = epoch + (i + 1) / batches.length;
          this.#callback("onStepEnd");
          this.#bar.update(this.state.global_step);
          // Let the event loop run (Ctrl-C's handler, output, timers) between optimizer steps.
          await new Promise<void>((resolve) => setImmediate(resolve));
          const gs = this.state.global_step;
          // HF's DefaultFlowCallback: when to log, evaluate and save.
          if (args.loggingStrategy === "steps" && (gs % this.state.logging_steps === 0 || (gs === 1 && args.loggingFirstStep))) this.control.shouldLog = true;
          if (args.evalStrategy === "steps" && gs % this.state.eval_steps === 0 && gs >= args.evalDelay) this.control.shouldEvaluate = true;
          if (args.saveStrategy === "steps" && this.state.save_steps > 0 && gs % this.state.save_steps === 0) this.control.shouldSave = true;
          if (gs >= maxSteps) {
            this.control.shouldTrainingStop = true;
            if (args.saveStrategy !== "no") this.control.shouldSave = true;
          }
          const epochDone = i + 1 === batches.length;
          if (epochDone) {
            if (args.loggingStrategy === "epoch") this.control.shouldLog = true;
            if (args.evalStrategy === "epoch" && epoch + 1 >= args.evalDelay) this.control.shouldEvaluate = true;
            if (args.saveStrategy === "epoch") this.control.shouldSave = true;
          }
          if (this.control.interrupted) this.control.shouldSave = true;
          if (await this.#maybeLogSaveEvaluate(lossSinceLog, gs - lastLogStep, gradNorm)) {
            lossSinceLog = 0;
            lastLogStep = gs;
          }
          if (this.control.shouldTrainingStop || this.control.shouldEpochStop) break;
        }
        this.#callback("onEpochEnd");
      }
    } finally {
      process.off("SIGINT", stopOnSigint);
      this.#bar.stop();
      this.#bar = null;
    }
    if (this.control.interrupted) {
      const last = join(args.outputDir, `checkpoint-${this.state.global_step}`);
      this.#print(`Training interrupted at step ${this.state.global_step}. Checkpoint saved to ${last}.\nResume with trainer.train({ resumeFromCheckpoint: "${last}" }) (or resumeFromCheckpoint: true for the latest).`);
    }
    if (args.loadBestModelAtEnd && this.state.best_model_checkpoint && !this.control.interrupted) {
      this.#print(`\n\nTraining completed. Loading best model from ${this.state.best_model_checkpoint} (score: ${this.state.best_metric}).`);
      this.#loadModelWeights(this.state.best_model_checkpoint);
    }
    const runtime = (performance.now() - start) / 1000;
    const trainedSteps = Math.max(1, this.state.global_step);
    const metrics: Record<string, number> = {
      train_runtime: round(runtime, 4),
      train_samples_per_second: round((args.maxSteps > 0 ? maxSteps * args.perDeviceTrainBatchSize * args.gradientAccumulationSteps : ds.numRows * args.numTrainEpochs) / runtime, 3),
      train_steps_per_second: round(maxSteps / runtime, 3),
      total_flos: this.state.total_flos,
      train_loss: totalLoss / trainedSteps,
      epoch: this.state.epoch,
    };
    this.#log({ ...metrics });
    this.#callback("onTrainEnd");
    for (const r of this.#reporters) r.close();
    await Promise.all(this.#pending.splice(0));
    if (this.#pushError) throw new Error(`pushToHub: uploading a checkpoint failed: ${this.#pushError.message}`);
    this.model.eval();
    return { globalStep: this.state.global_step, trainingLoss: totalLoss / trainedSteps, metrics };
  }

  /** HF's _maybe_log_save_evaluate; returns whether the training loss was logged. */
  async #maybeLogSaveEvaluate(lossSinceLog: number, stepsSinceLog: number, gradNorm: number | null): Promise<boolean> {
    let logged = false;
    if (this.control.shouldLog && stepsSinceLog > 0) {
      logged = true;
      const loss = round(lossSinceLog / stepsSinceLog, 4);
      const logs: LogEntry = { loss };
      if (gradNorm !== null) logs.grad_norm = gradNorm;
      logs.learning_rate = this.lrScheduler!.getLastLr()[0];
      this.#lastLoggedLoss = loss;
      this.#log(logs);
    }
    this.control.shouldLog = false;
    let metrics: Record<string, number> | null = null;
    if (this.control.shouldEvaluate) {
      metrics = await this.evaluate();
      this.#table?.row(this.args.evalStrategy === "epoch" ? this.state.epoch : this.state.global_step, this.#lastLoggedLoss, metrics);
      this.model.train();
    }
    this.control.shouldEvaluate = false;
    if (this.control.shouldSave) {
      this.#saveCheckpoint(metrics);
      this.#callback("onSave");
    }
    this.control.shouldSave = false;
    return logged;
  }

  #log(logs: LogEntry): void {
    const entry: LogEntry = { ...logs, epoch: round(this.state.epoch, 4), step: this.state.global_step };
    if (logs.epoch !== undefined) entry.epoch = logs.epoch;
    this.state.log_history.push(entry);
    const printed = { ...logs };
    if (!("epoch" in printed)) printed.epoch = round(this.state.epoch, 4);
    this.#print(pyDict(printed));
    for (const r of this.#reporters) r.log(entry, this.state.global_step);
    this.#callback("onLog", { logs: entry });
  }

  // ---- evaluation ----
  async #loop(ds: Dataset, prefix: string): Promise<PredictionOutput> {
    const columns = this.#columnsFor(ds);
    const wasTraining = this.model.training;
    this.model.eval();
    const start = performance.now();
    const batches = this.#batches(ds, null, this.args.perDeviceEvalBatchSize, false);
    const preds: Tensor[] = [];
    const labels: Tensor[] = [];
    let lossSum = 0;
    let lossCount = 0;
    for (const rows of batches) {
      const batch = this.#collate(ds, rows, columns);
      torch.noGrad(() =>
        torch.tidy(() => {
          const out = this.#mixedPrecision(() => this.model.forward(batch));
          if (out.loss) {
            lossSum += out.loss.item() * rows.length;
            lossCount += rows.length;
          }
          const logits = out.logits ?? (out.startLogits && out.endLogits ? torch.stack([out.startLogits, out.endLogits], -1) : undefined);
          if (logits && !this.args.predictionLossOnly) preds.push(torch.keep(logits.float().cpu()));
          if (batch.labels) labels.push(torch.keep(batch.labels.cpu()));
        }),
      );
      torch.dispose(batch);
      this.#callback("onPredictionStep");
    }
    const predictions = preds.length ? concatPadded(preds, -100) : torch.zeros([0]);
    const labelIds = labels.length ? concatPadded(labels, -100) : null;
    torch.dispose([preds, labels]);
    const metrics: Record<string, number> = {};
    if (this.computeMetrics && labelIds) {
      const m = await this.computeMetrics({ predictions, labelIds });
      for (const [k, v] of Object.entries(m)) if (typeof v === "number") metrics[k.startsWith(`${prefix}_`) ? k : `${prefix}_${k}`] = v;
    }
    if (lossCount) metrics[`${prefix}_loss`] = lossSum / lossCount;
    const runtime = (performance.now() - start) / 1000;
    metrics[`${prefix}_runtime`] = round(runtime, 4);
    metrics[`${prefix}_samples_per_second`] = round(ds.numRows / runtime, 3);
    metrics[`${prefix}_steps_per_second`] = round(batches.length / runtime, 3);
    // HF orders eval_loss first.
    const ordered: Record<string, number> = {};
    if (`${prefix}_loss` in metrics) ordered[`${prefix}_loss`] = metrics[`${prefix}_loss`];
    Object.assign(ordered, metrics);
    if (wasTraining) this.model.train();
    return { predictions, labelIds, metrics: ordered };
  }

  /** Evaluates on evalDataset (or the given one); metrics are prefixed eval_ and logged. */
  async evaluate(o: { evalDataset?: Dataset; metricKeyPrefix?: string } = {}): Promise<Record<string, number>> {
    const ds = o.evalDataset ?? this.evalDataset;
    if (!ds) throw new Error("Trainer: evaluation requires an evalDataset.");
    const out = await this.#loop(ds, o.metricKeyPrefix ?? "eval");
    torch.dispose([out.predictions, out.labelIds]);
    this.#log({ ...out.metrics });
    this.#callback("onEvaluate", { metrics: out.metrics });
    return out.metrics;
  }

  /** Predictions (logits) and labels for a dataset, with test_ metrics. */
  async predict(ds: Dataset, o: { metricKeyPrefix?: string } = {}): Promise<PredictionOutput> {
    const out = await this.#loop(ds, o.metricKeyPrefix ?? "test");
    this.#callback("onPredict", { metrics: out.metrics });
    return out;
  }

  // ---- checkpoints ----
  #latestCheckpoint(): string | null {
    if (!existsSync(this.args.outputDir)) return null;
    const steps = readdirSync(this.args.outputDir).map((d) => CHECKPOINT.exec(d)).filter((m): m is RegExpExecArray => !!m).map((m) => Number(m[1]));
    return steps.length ? join(this.args.outputDir, `checkpoint-${Math.max(...steps)}`) : null;
  }

  #saveCheckpoint(metrics: Record<string, number> | null): void {
    const args = this.args;
    const name = `checkpoint-${this.state.global_step}`;
    const final = join(args.outputDir, name);
    if (metrics && args.metricForBestModel) {
      const key = args.metricForBestModel.startsWith("eval_") ? args.metricForBestModel : `eval_${args.metricForBestModel}`;
      const value = metrics[key];
      if (value === undefined) {
        throw new Error(`The \`metric_for_best_model\` training argument is set to '${key}', which is not found in the evaluation metrics. The available evaluation metrics are: ${JSON.stringify(Object.keys(metrics))}. Consider changing the \`metric_for_best_model\` via the TrainingArguments.`);
      }
      const better = args.greaterIsBetter ? value > (this.state.best_metric ?? -Infinity) : value < (this.state.best_metric ?? Infinity);
      if (this.state.best_metric === null || better) {
        this.state.best_metric = value;
        this.state.best_global_step = this.state.global_step;
        this.state.best_model_checkpoint = final;
      }
    }
    if (args.saveStrategy === "best" && this.state.best_global_step !== this.state.global_step) return;
    mkdirSync(args.outputDir, { recursive: true });
    const tmp = join(args.outputDir, `tmp-${name}`);
    rmSync(tmp, { recursive: true, force: true });
    mkdirSync(tmp, { recursive: true });
    this.model.savePretrained(tmp);
    this.processingClass?.savePretrained(tmp);
    if (!args.saveOnlyModel) {
      saveOptimizerState(this.optimizer!, join(tmp, FILES.optimizer));
      writeJsonAtomic(join(tmp, FILES.scheduler), this.lrScheduler!.stateDict());
      if (this.scaler) writeJsonAtomic(join(tmp, FILES.scaler), this.scaler.stateDict());
      const rng = new Map<string, Tensor>([["cpu", torch.getRngState()]]);
      for (let d = 0; d < torch.cuda.deviceCount(); d++) rng.set(`cuda:${d}`, torch.getRngState(`cuda:${d}`));
      torch.saveFile(rng, join(tmp, FILES.rng));
      torch.dispose([...rng.values()]);
    }
    writeJsonAtomic(join(tmp, FILES.state), this.state.toJSON());
    writeJsonAtomic(join(tmp, FILES.args), args.toJSON());
    rmSync(final, { recursive: true, force: true });
    renameSync(tmp, final);
    this.#rotate();
    if (args.pushToHub) {
      // In the background, as HF's every_save strategy; a failure is reported when training ends.
      const upload = this.#push(final, `Training in progress, step ${this.state.global_step}`, (p) => !/^(model\.safetensors|config\.json|tokenizer.*|special_tokens_map\.json|vocab\.txt)$/.test(p));
      this.#pending.push(upload.catch((e: Error) => {
        this.#pushError ??= e;
      }));
    }
  }

  #pending: Promise<void>[] = [];
  #pushError: Error | null = null;

  async #push(folder: string, message: string, ignore: (p: string) => boolean): Promise<void> {
    await uploadFolder(this.args.hubModelId!, folder, {
      token: this.args.hubToken ?? undefined, private: this.args.hubPrivateRepo, commitMessage: message, ignore,
    });
  }

  /** Uploads the output folder (model, tokenizer, logs; not the checkpoints) to hubModelId, as HF's push_to_hub. */
  async pushToHub(o: { commitMessage?: string } = {}): Promise<void> {
    if (!this.args.hubModelId) throw new Error("pushToHub(): set hubModelId (or pushToHub: true, which names the repo after outputDir)");
    await Promise.all(this.#pending.splice(0));
    this.saveModel();
    writeJsonAtomic(join(this.args.outputDir, FILES.args), this.args.toJSON());
    await this.#push(this.args.outputDir, o.commitMessage ?? "End of training", (p) => /^(checkpoint-\d+|tmp-checkpoint-\d+)(\/|$)/.test(p));
  }

  /** Keeps at most saveTotalLimit checkpoints, oldest deleted first, never the best one. */
  #rotate(): void {
    const limit = this.args.saveTotalLimit;
    if (limit === null) return;
    const all = readdirSync(this.args.outputDir)
      .map((d) => CHECKPOINT.exec(d))
      .filter((m): m is RegExpExecArray => !!m)
      .map((m) => ({ step: Number(m[1]), path: join(this.args.outputDir, m[0]) }))
      .sort((a, b) => a.step - b.step);
    const best = this.state.best_model_checkpoint;
    // With a best model and a limit of 1, HF keeps 2 so the last checkpoint survives too.
    const keep = best && limit === 1 && all.at(-1)?.path !== best ? 2 : limit;
    let excess = all.length - keep;
    for (const c of all) {
      if (excess <= 0) break;
      if (c.path === best) continue;
      rmSync(c.path, { recursive: true, force: true });
      excess--;
    }
  }

  #loadModelWeights(dir: string): void {
    const weights = torch.loadFile(join(dir, "model.safetensors"));
    try {
      this.model.loadStateDict(weights, { strict: false });
    } finally {
      torch.dispose(weights);
    }
  }

  #loadCheckpoint(dir: string): void {
    this.#loadModelWeights(dir);
    const state = JSON.parse(readFileSync(join(dir, FILES.state), "utf8")) as Record<string, unknown>;
    this.state = TrainerState.fromJSON({ ...this.state.toJSON(), ...state, max_steps: this.state.max_steps });
    if (existsSync(join(dir, FILES.optimizer))) {
      const sd = loadOptimizerState(join(dir, FILES.optimizer));
      this.optimizer!.loadStateDict(sd);
      torch.dispose(sd.state);
    }
    if (existsSync(join(dir, FILES.scheduler))) this.lrScheduler!.loadStateDict(JSON.parse(readFileSync(join(dir, FILES.scheduler), "utf8")));
    if (this.scaler && existsSync(join(dir, FILES.scaler))) this.scaler.loadStateDict(JSON.parse(readFileSync(join(dir, FILES.scaler), "utf8")));
    if (existsSync(join(dir, FILES.rng))) {
      const rng = torch.loadFile(join(dir, FILES.rng));
      for (const [device, s] of rng) if (device === "cpu" || torch.cuda.isAvailable()) torch.setRngState(s, device);
      torch.dispose(rng);
    }
  }

  /** Saves the model (and tokenizer) to outputDir or dir, as HF's save_model. */
  saveModel(dir = this.args.outputDir): void {
    this.model.savePretrained(dir);
    this.processingClass?.savePretrained(dir);
  }
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

/** transformers' default_data_collator: stacks features that are already the same length. */
function defaultCollator(features: Features[]): Batch {
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
