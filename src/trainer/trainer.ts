// Trainer: the course's training loop with HF's behaviour (transformers 5's trainer.py, read for this
// port): unused columns dropped, seeded shuffling, gradient accumulation with HF's epoch ends, AdamW
// with HF's weight-decay grouping, warmup + schedule, clipping, bf16/fp16 autocast, logging,
// evaluation, checkpoints (atomic), rotation, best model, resume, Ctrl-C, one run per output dir.
import { existsSync, mkdirSync, statSync } from "node:fs";
import { join } from "node:path";
import * as torch from "../torch/index.js";
import type { Tensor } from "../torch/index.js";
import { GradScaler, clipGradNormTensor, type LambdaLR, type Optimizer } from "../optim/index.js";
import type { Dataset } from "../datasets/index.js";
import { progressBar, type Progress } from "../util/progress.js";
import type { PreTrainedTokenizer } from "../tokenizers/index.js";
import { PreTrainedModel, isEnabledFor, setVerbosity, type ModelInputs, type ModelOutput } from "../models/index.js";
import { DataCollatorWithPadding, type Batch, type Features } from "./data_collator.js";
import { LossTracker } from "./loss_tracker.js";
import { TrainingArguments } from "./training_args.js";
import {
  CallbackHandler,
  DefaultFlowCallback,
  TrainerCallback,
  TrainerControl,
  TrainerState,
  exportCallbackStates,
  restoreCallbackStates,
  type CallbackArgs,
  type EventName,
  type LogEntry,
} from "./trainer_callback.js";
import { EvalTable, pyDict, runningTrainingBlock } from "./logs.js";
import { printMetrics, speedMetrics, writeMetrics } from "./metrics_files.js";
import { CheckpointUploads } from "./checkpoint_uploads.js";
import { createOptimizer, createScheduler, optimizerStep } from "./optimization.js";
import { runShape, type RunShape } from "./run_shape.js";
import { reportersFor, type Reporter } from "./reporters.js";
import { readJsonObject, writeJsonAtomic } from "../util/files.js";
import { DistributedDataParallel, barrier, gatherPadded, initProcessGroup, isInitialized, reduceNumber } from "../distributed/index.js";
import { checkLabels, checkTokenIds } from "./data_checks.js";
import { BatchMaker, batchesOf, dataloaderBaseSeedDraw, defaultCollator, epochOrder, signatureColumns } from "./batching.js";
import { Interrupted, evaluationLoop, type ComputeMetrics, type PredictionOutput, type PredictionOutputFor, type Predictions } from "./evaluation_loop.js";
import {
  FILES,
  LOCK_FILE,
  checkpointDir,
  latestCheckpoint,
  loadRngState,
  loadTrainingState,
  lockOutputDir,
  refuseEarlierRun,
  removeLeftovers,
  renameIntoPlace,
  rngFile,
  rotateCheckpoints,
  saveRngState,
  writeCheckpointFiles,
} from "./checkpoints.js";

export type { ComputeMetrics, EvalPrediction, PredictionOutput, PredictionOutputFor, Predictions } from "./evaluation_loop.js";
export { optimizerStep } from "./optimization.js";

export interface TrainOutput {
  globalStep: number;
  trainingLoss: number;
  metrics: Record<string, number>;
  /** Ctrl-C stopped the run: a checkpoint was saved, and the model is not the finished one. */
  interrupted: boolean;
}
export interface TrainerInit<M extends PreTrainedModel = PreTrainedModel> {
  model?: M;
  args: TrainingArguments;
  trainDataset?: Dataset;
  evalDataset?: Dataset;
  dataCollator?: (features: Features[]) => Batch;
  processingClass?: PreTrainedTokenizer;
  /** @deprecated HF's older name for processingClass. */
  tokenizer?: PreTrainedTokenizer;
  /** Called with the predictions (a QA head's: [start_logits, end_logits]) and the labels after each evaluation. */
  computeMetrics?: ComputeMetrics<Predictions<M>>;
  callbacks?: (TrainerCallback | (new () => TrainerCallback))[];
  optimizers?: [Optimizer | null, LambdaLR | null];
  modelInit?: () => M | Promise<M>;
}

export class Trainer<M extends PreTrainedModel = PreTrainedModel> {
  model: M;
  readonly args: TrainingArguments;
  trainDataset?: Dataset;
  evalDataset?: Dataset;
  readonly dataCollator: (features: Features[]) => Batch;
  readonly processingClass?: PreTrainedTokenizer;
  readonly computeMetrics?: ComputeMetrics<Predictions<M>>;
  readonly modelInit?: TrainerInit<M>["modelInit"];
  /** DefaultFlowCallback first, then the callbacks given (HF's callback_handler). */
  readonly callbackHandler: CallbackHandler;
  state = new TrainerState();
  control = new TrainerControl();
  optimizer: Optimizer | null;
  lrScheduler: LambdaLR | null;
  scaler: GradScaler | null = null;
  readonly device: string;
  /** Processes training together (WORLD_SIZE under `finetune launch`/torchrun; 1 otherwise) and this one's rank. */
  readonly worldSize: number;
  readonly processIndex: number;
  #ddp: DistributedDataParallel<PreTrainedModel> | null = null;
  /** The resume instruction printed after Ctrl-C; the CLI sets its own command line here. */
  resumeHint: (checkpoint: string) => string = (c) =>
    `Resume with trainer.train({ resumeFromCheckpoint: "${c}" }) (or resumeFromCheckpoint: true for the latest).`;
  #reporters: Reporter[] = [];
  #table: EvalTable | null = null;
  #bar: Progress | null = null;
  #lastLoggedLoss: number | null = null;
  #createdScheduler = false;
  // The loss since the last log, the loss of the logged steps, and the step of the last log (HF's
  // tr_loss, _total_loss_scalar and _globalstep_last_logged).
  #trLoss: LossTracker | null = null;
  #totalLossScalar = 0;
  #globalStepLastLogged = 0;
  #inTrain = false;
  // Floating-point operations since they were last added to state.total_flos (HF's current_flos).
  #currentFlos = 0;
  #interrupted = false;
  #warnedNonFinite = false;

  constructor(o: TrainerInit<M>) {
    if (!(o.args instanceof TrainingArguments)) throw new TypeError("Trainer: args must be a TrainingArguments");
    if (!o.model && !o.modelInit) throw new TypeError("Trainer: give model or modelInit");
    if (o.model && !(o.model instanceof PreTrainedModel)) throw new TypeError("Trainer: model must be a PreTrainedModel");
    this.args = o.args;
    this.#uploads = new CheckpointUploads(this.args);
    // HF seeds first thing in Trainer.__init__: a model made by modelInit (or after) draws from it.
    torch.manualSeed(this.args.seed);
    this.model = o.model as M;
    this.modelInit = o.modelInit;
    this.trainDataset = o.trainDataset;
    this.evalDataset = o.evalDataset;
    this.processingClass = o.processingClass ?? o.tokenizer;
    this.dataCollator = o.dataCollator ?? (this.processingClass ? new DataCollatorWithPadding({ tokenizer: this.processingClass }) : defaultCollator);
    this.computeMetrics = o.computeMetrics;
    this.callbackHandler = new CallbackHandler([new DefaultFlowCallback(), ...(o.callbacks ?? [])]);
    this.optimizer = o.optimizers?.[0] ?? null;
    this.lrScheduler = o.optimizers?.[1] ?? null;
    if (this.args.evalStrategy !== "no" && !this.evalDataset) {
      throw new Error(
        `You have set \`args.eval_strategy\` to ${this.args.evalStrategy} but you didn't pass an \`eval_dataset\` to \`Trainer\`. Either set \`args.eval_strategy\` to \`no\` or pass an \`eval_dataset\`. `,
      );
    }
    if ((this.args.saveStrategy === "best" || this.args.loadBestModelAtEnd) && !this.args.metricForBestModel) {
      throw new Error("`args.metric_for_best_model` must be provided when using 'best' save_strategy or if `args.load_best_model_at_end` is set to `True`.");
    }
    if (this.args.fp16 && (this.args.useCpu || !torch.cuda.isAvailable())) {
      throw new Error("fp16 mixed precision requires a GPU (not 'cpu'). On a CPU, use bf16: true (--bf16), which needs no loss scaling.");
    }
    // HF's Trainer sets the library's verbosity from log_level ("passive" leaves it).
    if (this.args.logLevel !== "passive") setVerbosity(this.args.logLevel);
    this.worldSize = this.args.worldSize;
    this.processIndex = this.args.processIndex;
    const cuda = !this.args.useCpu && torch.cuda.isAvailable();
    // One process per GPU under DDP: LOCAL_RANK picks it.
    this.device = cuda ? (this.worldSize > 1 ? `cuda:${this.args.localProcessIndex}` : "cuda") : "cpu";
    // HF's _setup_devices: the process group, when launched distributed and not yet made.
    if (this.worldSize > 1 && !isInitialized())
      initProcessGroup({ backend: this.args.ddpBackend ?? (cuda ? "nccl" : "gloo"), timeout: this.args.ddpTimeout * 1000 });
    if (this.device === "cpu")
      torch.configureThreads({
        threads: this.args.torchThreads ?? undefined,
        blasThreads: this.args.blasThreads ?? undefined,
        precision: this.args.bf16 ? "bf16" : "fp32",
      });
    if (this.model) this.model.to({ device: this.device });
    this.#call("onInitEnd");
  }

  // ---- callbacks ----
  get callbacks(): readonly TrainerCallback[] {
    return this.callbackHandler.callbacks;
  }
  addCallback(callback: TrainerCallback | (new () => TrainerCallback)): void {
    this.callbackHandler.add(callback);
  }
  /** Removes a callback (an instance, or the first of a class) and returns it. */
  popCallback(callback: TrainerCallback | (new () => TrainerCallback)): TrainerCallback | undefined {
    return this.callbackHandler.pop(callback);
  }
  removeCallback(callback: TrainerCallback | (new () => TrainerCallback)): void {
    this.callbackHandler.pop(callback);
  }

  #call(event: EventName, extra: CallbackArgs = {}): void {
    this.control = this.callbackHandler.call(event, this.args, this.state, this.control, {
      model: this.model,
      processingClass: this.processingClass,
      optimizer: this.optimizer,
      lrScheduler: this.lrScheduler,
      ...extra,
    });
  }

  #print(line: string): void {
    // As HF's should_log: the first process (of each node, by default) speaks for the run.
    if (!this.args.shouldLog) return;
    if (this.#bar) this.#bar.write(line);
    else process.stderr.write(line + "\n");
  }

  // ---- data ----
  #columnsFor(ds: Dataset): string[] {
    return signatureColumns(this.model, this.args, ds, this.signatureColumnNames(), (l) => this.#print(l));
  }

  /** The columns the model is given (HF's _signature_columns): forward's inputs, then the label columns. */
  protected signatureColumnNames(): string[] {
    return [...this.model.modelInputNames(), "label", "label_ids", ...(this.args.labelNames ?? [])];
  }

  #checked = new WeakSet<Dataset>();
  /** Labels and token ids the model cannot take fail here, once per dataset, naming the column, the row and the value. */
  #checkData(ds: Dataset, columns: string[]): void {
    if (this.#checked.has(ds)) return;
    checkLabels(this.model, ds, columns, this.#datasetName(ds));
    checkTokenIds(this.model, ds, columns, this.#datasetName(ds), this.processingClass?.nameOrPath ?? null);
    this.#checked.add(ds);
  }

  #datasetName(ds: Dataset): string {
    return ds === this.trainDataset ? "train dataset" : ds === this.evalDataset ? "eval dataset" : "dataset";
  }

  /** This process's batches of row indices (the dataset in `order`, sharded under DDP). */
  #batches(ds: Dataset, order: Int32Array | null, batchSize: number, dropLast: boolean): Int32Array[] {
    return batchesOf(ds, order, batchSize, dropLast, this.worldSize, this.processIndex);
  }

  #interrupt(): void {
    if (this.#interrupted) return;
    this.#interrupted = true;
    this.#print("\nInterrupted: finishing the current step, then saving a checkpoint (Ctrl-C again to stop at once)…");
  }

  /** A number reduced over the ranks (one tiny all-reduce); itself when there is one rank. */
  protected overRanks(v: number, op: "sum" | "max"): number {
    return this.worldSize === 1 ? v : reduceNumber(v, op);
  }

  /** Under DDP, every rank's batch in rank order (padded to a common size); the batch itself otherwise. */
  #gatherBatch(t: Tensor, pad: number): Tensor {
    return this.worldSize === 1 ? t : gatherPadded(t, pad);
  }

  #batchMaker: BatchMaker | null = null;
  #collate(ds: Dataset, rows: Int32Array, columns: string[]): ModelInputs {
    this.#batchMaker ??= new BatchMaker(this.dataCollator, this.device, this.args.dataloaderPinMemory);
    return this.#batchMaker.collate(ds, rows, columns);
  }

  // ---- optimizer ----
  #createOptimizer(): void {
    this.optimizer ??= createOptimizer(this.model, this.args);
  }

  #createScheduler(maxSteps: number): void {
    // As HF: a schedule the Trainer made is made anew for each run (its length may differ); one given is kept.
    if (this.lrScheduler && !this.#createdScheduler) return;
    this.lrScheduler = createScheduler(this.args, this.optimizer!, maxSteps);
    this.#createdScheduler = true;
  }

  /** fn under the run's mixed precision (bf16 or fp16 autocast), or as it is in fp32. */
  #mixedPrecision<T>(fn: () => T): T {
    if (!this.args.bf16 && !this.args.fp16) return fn();
    return torch.autocast({ deviceType: this.device.startsWith("cuda") ? "cuda" : "cpu", dtype: this.args.bf16 ? "bfloat16" : "float16" }, fn);
  }

  /**
   * HF's compute_loss: the model's forward on a batch under the run's mixed precision (DDP's forward
   * while training distributed), for training steps and evaluation alike. Subclasses extend it
   * (SFTTrainer records its token metrics from the logits here).
   */
  protected computeLoss(batch: ModelInputs, o: { numItemsInBatch?: number } = {}): ModelOutput {
    return this.#mixedPrecision(() => {
      const fo = o.numItemsInBatch === undefined ? {} : { numItemsInBatch: o.numItemsInBatch };
      return this.#ddp && this.model.training ? this.#ddp.forward(batch, fo) : this.model.forward(batch, fo);
    });
  }

  #forward(batch: ModelInputs, numItemsInBatch?: number): { loss: Tensor; logits?: Tensor } {
    const out = this.computeLoss(batch, numItemsInBatch === undefined ? {} : { numItemsInBatch });
    let loss = out.loss;
    if (this.args.labelSmoothingFactor > 0 && batch.labels && out.logits) {
      const logits = out.logits;
      loss = this.#mixedPrecision(() =>
        torch.crossEntropy(logits.view(-1, logits.shape[logits.ndim - 1]), batch.labels!.view(-1), { labelSmoothing: this.args.labelSmoothingFactor }),
      );
    }
    if (!loss)
      throw new Error(
        `The model did not return a loss from the inputs, only the following keys: ${Object.keys(out)
          .filter((k) => (out as Record<string, unknown>)[k])
          .join(",")}. For reference, the inputs it received are ${Object.keys(batch).join(",")}.`,
      );
    return { loss, logits: out.logits };
  }

  // ---- training ----
  /**
   * Trains (HF's Trainer.train). Refuses an output dir that holds an earlier run's checkpoints or
   * model unless resuming or overwriteOutputDir, and one that another run is using.
   */
  async train(o: { resumeFromCheckpoint?: string | boolean | null } = {}): Promise<TrainOutput> {
    const args = this.args;
    if (!this.trainDataset) throw new Error("Trainer: training requires a trainDataset.");
    const resume = o.resumeFromCheckpoint ?? args.resumeFromCheckpoint ?? null;
    const checkpoint = resume === true ? latestCheckpoint(args.outputDir) : resume === false || resume === null ? null : resume;
    if (resume === true && !checkpoint) throw new Error(`No valid checkpoint found in output directory (${args.outputDir})`);
    if (checkpoint && !existsSync(join(checkpoint, FILES.state))) throw new Error(`Can't find a valid checkpoint at ${checkpoint}`);
    const dir = args.outputDir;
    if (existsSync(dir) && !statSync(dir).isDirectory()) throw new Error(`output_dir ${dir} exists and is not a directory`);
    mkdirSync(dir, { recursive: true });
    // Under DDP the process that saves holds the output dir for the run (the others write only their RNG files).
    const lock = this.args.shouldSave ? lockOutputDir(dir, (l) => this.#print(l)) : null;
    try {
      // Holding the lock, nothing else writes here: what a killed run staged and never renamed goes.
      if (this.args.shouldSave) removeLeftovers(dir, (l) => this.#print(l));
      if (!checkpoint && this.args.shouldSave) refuseEarlierRun(dir, this.args.overwriteOutputDir, (l) => this.#print(l));
      if (this.modelInit) {
        torch.manualSeed(args.seed);
        this.model = await this.modelInit();
        this.model.to({ device: this.device });
        this.optimizer = null;
        this.lrScheduler = null;
      }
      return await this.#innerTrainingLoop(checkpoint);
    } finally {
      lock?.release();
    }
  }

  #runShape(ds: Dataset): RunShape {
    const batchesPerEpoch = this.#batches(ds, null, this.args.perDeviceTrainBatchSize, this.args.dataloaderDropLast).length;
    return runShape(this.args, batchesPerEpoch, ds.numRows, this.worldSize);
  }

  async #innerTrainingLoop(checkpoint: string | null): Promise<TrainOutput> {
    const args = this.args;
    const ds = this.trainDataset!;
    const columns = this.#columnsFor(ds);
    this.#checkData(ds, columns);
    if (args.gradientCheckpointing) {
      // The recompute calls back into JavaScript, which libtorch's CUDA backward threads cannot do:
      // on a GPU the run goes on without it (the gradients are the same; only memory differs).
      if (this.device.startsWith("cuda"))
        this.#print("warning: gradient checkpointing runs on CPU tensors only here; training on the GPU without it (same gradients, more activation memory).");
      else this.model.gradientCheckpointingEnable();
    }
    if (this.evalDataset && args.evalStrategy !== "no") this.#checkData(this.evalDataset, this.#columnsFor(this.evalDataset));
    const shape = this.#runShape(ds);
    const { maxSteps, numTrainEpochs, updatesPerEpoch } = shape;
    const stepsOf = (v: number | null) => (v !== null && v < 1 ? Math.ceil(maxSteps * v) : (v ?? 0));

    this.#createOptimizer();
    this.#createScheduler(maxSteps);
    if (args.fp16) this.scaler = new GradScaler();
    this.state = new TrainerState();
    Object.assign(this.state, {
      max_steps: maxSteps,
      num_train_epochs: numTrainEpochs,
      train_batch_size: args.perDeviceTrainBatchSize,
      epoch: 0,
      logging_steps: stepsOf(args.loggingSteps),
      eval_steps: stepsOf(args.evalSteps ?? args.loggingSteps),
      save_steps: stepsOf(args.saveSteps),
    });
    this.control = new TrainerControl();
    let epochsTrained = 0;
    let stepsTrainedInCurrentEpoch = 0;
    if (checkpoint) {
      this.#loadCheckpoint(checkpoint);
      if (this.state.global_step >= maxSteps) return this.#alreadyFinished(checkpoint, maxSteps);
      epochsTrained = Math.floor(this.state.global_step / updatesPerEpoch);
      stepsTrainedInCurrentEpoch = (this.state.global_step % updatesPerEpoch) * args.gradientAccumulationSteps;
      this.#print(
        `Continuing training from checkpoint ${checkpoint}: epoch ${epochsTrained}, global step ${this.state.global_step}; skipping ${stepsTrainedInCurrentEpoch} batches of the current epoch.`,
      );
    }
    this.#reporters = this.processIndex === 0 ? reportersFor(args) : [];
    this.#table = new EvalTable(args.evalStrategy === "epoch", (l) => this.#print(l));
    const nonEmbedding =
      this.model.numParameters() -
      [...this.model.namedModules()].filter(([, m]) => m.constructor.name === "Embedding").reduce((a, [, m]) => a + m.numParameters(), 0);
    // logger.info in HF: shown with logLevel "info" (or the library's verbosity at info).
    if (isEnabledFor("info")) {
      this.#print(
        runningTrainingBlock({
          examples: ds.numRows,
          epochs: numTrainEpochs,
          batch: args.perDeviceTrainBatchSize,
          accumulation: args.gradientAccumulationSteps,
          worldSize: this.worldSize,
          steps: maxSteps,
          parameters: this.model.numParameters({ onlyTrainable: true }),
        }),
      );
    }

    // HF wraps the model after loading the checkpoint: rank 0's weights are then broadcast to all.
    if (this.worldSize > 1) {
      this.#ddp = new DistributedDataParallel(this.model, {
        bucketCapMb: args.ddpBucketCapMb ?? 25,
        findUnusedParameters: args.ddpFindUnusedParameters ?? false,
        broadcastBuffers: args.ddpBroadcastBuffers ?? true,
      });
    }
    this.#interrupted = false;
    this.#warnedNonFinite = false;
    // This process's own Ctrl-Cs: under DDP another rank's may stop the run first (overRanks), and that
    // must not count as this one's first.
    let sigints = 0;
    const onSigint = () => {
      if (++sigints > 1) {
        // The second Ctrl-C: stop now. Checkpoints are written to a temporary name, so none is half written.
        process.stderr.write("\nInterrupted again: stopping now.\n");
        process.exit(130);
      }
      this.#interrupt();
    };
    process.on("SIGINT", onSigint);
    const start = performance.now();
    this.#trLoss?.dispose();
    this.#trLoss = new LossTracker(this.device);
    this.#totalLossScalar = 0;
    this.#globalStepLastLogged = this.state.global_step;
    this.#lastLoggedLoss = null;
    this.#inTrain = true;
    this.#currentFlos = 0;
    this.model.train();
    this.#call("onTrainBegin");
    if (args.evalOnStart && this.evalDataset && !checkpoint) await this.#evaluateDuringTraining();
    this.#bar = progressBar("", maxSteps, "it", args.disableTqdm || !args.shouldLog);
    this.#bar.update(this.state.global_step);
    try {
      for (let epoch = epochsTrained; epoch < numTrainEpochs; epoch++) {
        const resuming = epoch === epochsTrained ? checkpoint : null;
        const trained = await this.#trainEpoch(ds, columns, epoch, resuming ? stepsTrainedInCurrentEpoch : 0, resuming, nonEmbedding);
        if (this.#interrupted) break;
        if (!trained) {
          this.#print(`There seems not to be a single sample in your epoch_iterator, stopping training at step ${this.state.global_step}!`);
          this.control.shouldTrainingStop = true;
        }
        // HF's epoch end runs also when the epoch stopped early (maxSteps): its evaluation and save still happen.
        this.#call("onEpochEnd");
        // As HF: the epoch's log carries its last step's grad_norm and learning rate.
        await this.#maybeLogSaveEvaluate(this.#lastGradNorm, this.#lastLearningRate);
        if (this.control.shouldTrainingStop) break;
      }
    } finally {
      process.off("SIGINT", onSigint);
      this.#ddp?.destroy();
      this.#ddp = null;
      this.#inTrain = false;
      this.#bar.stop();
      this.#bar = null;
    }
    if (this.#interrupted) {
      const last = join(args.outputDir, `checkpoint-${this.state.global_step}`);
      this.#print(`Training interrupted at step ${this.state.global_step}. Checkpoint saved to ${last}.\n${this.resumeHint(last)}`);
    } else if (args.loadBestModelAtEnd && this.state.best_model_checkpoint) {
      this.#print(`\n\nTraining completed. Loading best model from ${this.state.best_model_checkpoint} (score: ${this.state.best_metric}).`);
      this.model.loadSavedWeights(this.state.best_model_checkpoint);
    }
    const speed = speedMetrics("train", start, shape.numTrainSamples, maxSteps);
    this.#storeFlos();
    this.#checkFinite();
    this.#totalLossScalar += this.#trLoss!.take();
    this.#trLoss!.dispose();
    this.#trLoss = null;
    this.#setGradNorm(null);
    const trainLoss = this.#totalLossScalar / Math.max(this.state.global_step, 0.001);
    const metrics: Record<string, number> = {
      ...speed,
      total_flos: this.state.total_flos,
      train_loss: trainLoss,
    };
    this.log(metrics);
    this.#call("onTrainEnd");
    for (const r of this.#reporters) r.close();
    await this.#uploads.settle();
    this.model.eval();
    return { globalStep: this.state.global_step, trainingLoss: trainLoss, metrics, interrupted: this.#interrupted };
  }

  /** Resuming a run that already reached maxSteps trains nothing (HF would train past the end). */
  #alreadyFinished(checkpoint: string, maxSteps: number): TrainOutput {
    this.#print(
      `${checkpoint} already finished training (global step ${this.state.global_step} of ${maxSteps}): nothing to train. Raise maxSteps or numTrainEpochs to train further.`,
    );
    this.model.eval();
    return {
      globalStep: this.state.global_step,
      trainingLoss: NaN,
      metrics: { train_runtime: 0, total_flos: this.state.total_flos, epoch: this.state.epoch ?? 0 },
      interrupted: false,
    };
  }

  /**
   * One epoch: accumulation groups of gradientAccumulationSteps batches aligned to the epoch's
   * start, the last group shorter when the batches do not divide (HF's remainder). Returns whether
   * any batch was trained.
   */
  async #trainEpoch(ds: Dataset, columns: string[], epoch: number, skip: number, resumedFrom: string | null, nonEmbedding: number): Promise<boolean> {
    const args = this.args;
    const ga = args.gradientAccumulationSteps;
    this.#call("onEpochBegin");
    // HF restores the RNG at the epoch's start, or, after skipping batches, right before the first one trained.
    let rngToSync = false;
    if (resumedFrom && skip === 0) this.#loadRngState(resumedFrom);
    else if (resumedFrom) rngToSync = true;
    // The DataLoader's iterator: its base seed, then its sampler's order.
    dataloaderBaseSeedDraw();
    const batches = this.#batches(ds, epochOrder(ds, epoch, args), args.perDeviceTrainBatchSize, args.dataloaderDropLast);
    const stepsInEpoch = batches.length;
    let trained = false;
    for (let groupStart = skip; groupStart < stepsInEpoch; groupStart += ga) {
      const groupEnd = Math.min(groupStart + ga, stepsInEpoch);
      this.#call("onStepBegin");
      let stopped = false;
      if (rngToSync) {
        this.#loadRngState(resumedFrom!);
        rngToSync = false;
      }
      // HF's get_batch_samples: the group's batches are collated before its first forward (so a
      // collator's random draws all come before the group's dropout), and their label count is the
      // group's num_items_in_batch for a model whose loss takes it.
      const group = batches.slice(groupStart, groupEnd).map((rows) => this.#collate(ds, rows, columns));
      const numItemsInBatch = this.#numItemsInBatch(group);
      for (let i = groupStart; i < groupEnd; i++) {
        const batch = group[i - groupStart];
        // Under DDP only the group's last micro-batch synchronizes gradients (accelerate's accumulate()).
        const step = () => this.#trainingStep(batch, groupEnd - groupStart, numItemsInBatch);
        const loss = this.#ddp && i + 1 < groupEnd ? this.#ddp.noSync(step) : step();
        trained = true;
        const tokens = batch.input_ids?.numel() ?? 0;
        torch.dispose(batch);
        this.#trLoss!.add(loss, this.state.global_step + 1, this.state.global_step - this.#globalStepLastLogged, args.loggingNanInfFilter);
        loss.dispose();
        this.#currentFlos += 6 * tokens * nonEmbedding;
        // HF: accelerator.gather(input_tokens).sum(): every rank's tokens, on every rank.
        if (args.includeNumInputTokensSeen) this.state.num_input_tokens_seen += this.overRanks(tokens, "sum");
        if (i + 1 < groupEnd) {
          this.#call("onSubstepEnd");
          if (this.control.shouldEpochStop || this.control.shouldTrainingStop) {
            stopped = true;
            break;
          }
        }
      }
      torch.dispose(group);
      if (stopped) break;
      const learningRate = this.#optimizerStep();
      this.#lastLearningRate = learningRate;
      this.state.global_step += 1;
      this.state.epoch = epoch + groupEnd / stepsInEpoch;
      this.#call("onStepEnd");
      this.#bar!.update(this.state.global_step);
      // Let the event loop run (Ctrl-C's handler, output, timers) between optimizer steps.
      await new Promise<void>((resolve) => setImmediate(resolve));
      // Ctrl-C reaches the ranks at different moments: they agree to stop at the same step.
      if (this.overRanks(this.#interrupted ? 1 : 0, "max") > 0) this.#interrupt();
      if (this.#interrupted) this.control.shouldSave = this.control.shouldTrainingStop = true;
      await this.#maybeLogSaveEvaluate(this.#lastGradNorm, learningRate);
      if (this.control.shouldEpochStop || this.control.shouldTrainingStop) break;
    }
    return trained;
  }

  /**
   * Forward and backward of one micro-batch; returns its loss divided by the micro-batches of its
   * step (HF's training_step), detached and left on the device: nothing here waits for the device.
   */
  #trainingStep(batch: ModelInputs, microBatches: number, numItemsInBatch: number | null): Tensor {
    return torch.tidy(() => {
      let scaled: Tensor;
      if (numItemsInBatch !== null) {
        // The loss is already the batch's share of the group's token mean (HF: no division by the
        // accumulation steps); under DDP with averageTokensAcrossDevices it is scaled back up by the
        // process count, which DDP's gradient average divides away.
        const { loss } = this.#forward(batch, numItemsInBatch);
        scaled = this.args.averageTokensAcrossDevices && this.worldSize > 1 ? loss.mul(this.worldSize) : loss;
      } else scaled = this.#forward(batch).loss.div(microBatches);
      (this.scaler ? this.scaler.scaleLoss(scaled) : scaled).backward();
      return scaled.detach();
    });
  }

  /**
   * HF's num_items_in_batch: the labels that are not -100 in the group's batches (summed over the
   * processes with averageTokensAcrossDevices), for a model whose loss takes it (acceptsLossKwargs); null otherwise.
   */
  #numItemsInBatch(group: ModelInputs[]): number | null {
    const accepts = this.model.takesLossKwargs();
    if (!accepts || !group.length || !group[0].labels) return null;
    let n = 0;
    for (const b of group) n += torch.tidy(() => b.labels!.ne(-100).sum().item());
    return this.args.averageTokensAcrossDevices && this.worldSize > 1 ? this.overRanks(n, "sum") : n;
  }

  /**
   * Warns once when a loss was nan/inf. On the CPU it is checked after every step (reading a CPU
   * scalar costs nothing); on a GPU only when a log is due or training ends, so no step waits.
   */
  #checkFinite(): void {
    if (this.#warnedNonFinite || !this.#trLoss) return;
    const step = this.#trLoss.firstNonFiniteStep();
    if (step === null) return;
    this.#warnedNonFinite = true;
    this.#print(
      `warning: the training loss is not finite (nan or inf) at step ${step}: training is diverging. ` +
        `Lower the learning rate, clip gradients (maxGradNorm), or use bf16 instead of fp16.${this.args.loggingNanInfFilter ? " The logged losses leave out nan/inf steps (loggingNanInfFilter)." : ""}`,
    );
  }

  // The last step's gradient norm, on the device until a log reads it.
  #lastGradNorm: Tensor | null = null;
  #lastLearningRate: number | null = null;
  #setGradNorm(t: Tensor | null): void {
    this.#lastGradNorm?.dispose();
    this.#lastGradNorm = t ? torch.keep(t) : null;
  }

  /** Clipping, the optimizer (through the GradScaler under fp16) and the schedule; returns the step's learning rate. */
  #optimizerStep(): number {
    const args = this.args;
    if (this.scaler) this.scaler.unscale_(this.optimizer!);
    this.#setGradNorm(args.maxGradNorm > 0 ? clipGradNormTensor(this.model.parameters(), args.maxGradNorm) : null);
    this.#call("onPreOptimizerStep");
    const { learningRate } = optimizerStep(this.optimizer!, this.lrScheduler!, this.scaler, () => this.#call("onOptimizerStep"));
    this.optimizer!.zeroGrad();
    return learningRate;
  }

  /** HF's _maybe_log_save_evaluate. */
  async #maybeLogSaveEvaluate(gradNorm: Tensor | null, learningRate: number | null): Promise<void> {
    const logDue = this.control.shouldLog && this.state.global_step > this.#globalStepLastLogged;
    if (this.device === "cpu" || logDue) this.#checkFinite();
    if (logDue) {
      // HF: the loss since the last log, averaged over the ranks (_nested_gather(tr_loss).mean()).
      const trLoss = this.overRanks(this.#trLoss!.take(), "sum") / this.worldSize;
      // transformers 5 keeps the full value in the log history (4.x rounded it to 4 digits).
      const loss = trLoss / (this.state.global_step - this.#globalStepLastLogged);
      const logs: LogEntry = { loss };
      if (gradNorm !== null) logs.grad_norm = gradNorm.item();
      logs.learning_rate = learningRate ?? this.lrScheduler!.getLastLr()[0];
      this.#totalLossScalar += trLoss;
      this.#globalStepLastLogged = this.state.global_step;
      this.#lastLoggedLoss = loss;
      this.log(logs);
    }
    if (this.control.shouldEvaluate) {
      const metrics = await this.#evaluateDuringTraining();
      if (metrics) {
        const isNewBest = this.#determineBestMetric(metrics);
        if (this.args.saveStrategy === "best") this.control.shouldSave = isNewBest;
      }
    }
    if (this.control.shouldSave) {
      this.#saveCheckpoint();
      this.#call("onSave");
    }
  }

  /** An evaluation inside training: a table row, or null when Ctrl-C stopped it. */
  async #evaluateDuringTraining(): Promise<Record<string, number> | null> {
    try {
      const metrics = await this.evaluate();
      this.#table?.row(this.args.evalStrategy === "epoch" ? Math.trunc(this.state.epoch ?? 0) : this.state.global_step, this.#lastLoggedLoss, metrics);
      return metrics;
    } catch (e) {
      if (!(e instanceof Interrupted)) throw e;
      // Ctrl-C in the middle of an evaluation: no metrics; save this step and stop.
      this.control.shouldEvaluate = false;
      this.control.shouldSave = this.control.shouldTrainingStop = true;
      return null;
    } finally {
      this.model.train();
    }
  }

  /** HF's _determine_best_metric: whether this evaluation is the best so far. */
  #determineBestMetric(metrics: Record<string, number>): boolean {
    const name = this.args.metricForBestModel;
    if (!name) return false;
    const key = name.startsWith("eval_") ? name : `eval_${name}`;
    const value = metrics[key];
    if (value === undefined) {
      throw new Error(
        `The \`metric_for_best_model\` training argument is set to '${key}', which is not found in the evaluation metrics. The available evaluation metrics are: ${JSON.stringify(Object.keys(metrics))}. Consider changing the \`metric_for_best_model\` via the TrainingArguments.`,
      );
    }
    const best = this.state.best_metric ?? (this.args.greaterIsBetter ? -Infinity : Infinity);
    if (!(this.args.greaterIsBetter ? value > best : value < best)) return false;
    this.state.best_metric = value;
    this.state.best_global_step = this.state.global_step;
    return true;
  }

  /** Records logs (HF's log): the epoch joins them, then the log history, the console, the reporters and onLog. */
  log(logs: LogEntry): void {
    // As HF's log(): the epoch joins the logs (the caller's dict too) once training has run.
    if (this.state.epoch !== null && logs.epoch === undefined) logs.epoch = this.state.epoch;
    if (this.args.includeNumInputTokensSeen) logs.num_input_tokens_seen = this.state.num_input_tokens_seen;
    const entry: LogEntry = { ...logs, step: this.state.global_step };
    this.state.log_history.push(entry);
    this.#print(pyDict(logs));
    for (const r of this.#reporters) r.log(entry, this.state.global_step);
    this.#call("onLog", { logs: entry });
  }

  // ---- evaluation ----
  async #loop(ds: Dataset, prefix: string, lossOnly: boolean): Promise<PredictionOutput> {
    const columns = this.#columnsFor(ds);
    this.#checkData(ds, columns);
    // Under DDP each rank evaluates its shard; batches are gathered in the order of the whole set and
    // the rows that completed the last round are dropped at the end (accelerate's gather_for_metrics),
    // so the metrics are a one-process evaluation's.
    return evaluationLoop(
      {
        model: this.model,
        args: this.args,
        worldSize: this.worldSize,
        // The loop passes what the model's head gives, which is what Predictions<M> names.
        computeMetrics: this.computeMetrics as ComputeMetrics<Tensor | [Tensor, Tensor]> | undefined,
        lossOnly,
        columns,
        batches: this.#batches(ds, null, this.args.perDeviceEvalBatchSize, false),
        collate: (rows) => this.#collate(ds, rows, columns),
        forward: (batch) => this.computeLoss(batch),
        gatherBatch: (t, pad) => this.#gatherBatch(t, pad),
        afterBatch: async () => {
          this.#call("onPredictionStep");
          if (!this.#inTrain) return;
          // Ctrl-C during a long evaluation takes effect within a batch.
          await new Promise<void>((resolve) => setImmediate(resolve));
          // Under DDP the ranks stop at the same batch: each waits for the others' gathers.
          if (this.overRanks(this.#interrupted ? 1 : 0, "max") > 0) {
            this.#interrupt();
            throw new Interrupted("evaluation interrupted");
          }
        },
      },
      ds,
      prefix,
    );
  }

  /** Evaluates on evalDataset (or the given one); metrics are prefixed eval_, logged, and carry the epoch once trained. */
  async evaluate(o: { evalDataset?: Dataset; metricKeyPrefix?: string } = {}): Promise<Record<string, number>> {
    const ds = o.evalDataset ?? this.evalDataset;
    if (!ds) throw new Error("Trainer: evaluation requires an evalDataset.");
    const out = await this.#loop(ds, o.metricKeyPrefix ?? "eval", !this.computeMetrics);
    torch.dispose([out.predictions, out.labelIds]);
    this.log(out.metrics);
    this.#call("onEvaluate", { metrics: out.metrics });
    return out.metrics;
  }

  /** Predictions (logits) and labels for a dataset, with test_ metrics. */
  async predict<T extends object>(ds: Dataset<T>, o: { metricKeyPrefix?: string } = {}): Promise<PredictionOutputFor<T, Predictions<M>>> {
    const out = await this.#loop(ds as unknown as Dataset, o.metricKeyPrefix ?? "test", false);
    this.#call("onPredict", { metrics: out.metrics });
    // The loop gives labels whenever the dataset has a label column, and a QA head's two logits as a
    // pair, which is what the type says.
    return out as PredictionOutputFor<T, Predictions<M>>;
  }

  // ---- metrics and state files (HF's log_metrics, save_metrics, save_state) ----
  /** Prints `***** train metrics *****` and the metrics, formatted as HF's log_metrics. */
  logMetrics(split: string, metrics: Record<string, number>): void {
    if (this.processIndex === 0) printMetrics(split, metrics);
  }

  /** Writes `{split}_results.json` and merges the metrics into all_results.json in outputDir. */
  saveMetrics(split: string, metrics: Record<string, number>, combined = true): void {
    if (this.processIndex === 0) writeMetrics(this.args.outputDir, split, metrics, combined);
  }

  /** Writes trainer_state.json to outputDir (HF's save_state). */
  saveState(): void {
    if (this.processIndex !== 0) return;
    mkdirSync(this.args.outputDir, { recursive: true });
    writeJsonAtomic(join(this.args.outputDir, FILES.state), this.state.toJSON());
  }

  // ---- checkpoints ----
  /** The name of a parameter holding nan/inf, or null. */
  #nonFiniteParameter(): string | null {
    for (const [name, p] of this.model.namedParameters()) {
      if (!torch.tidy(() => p.isfinite().all().item())) return name;
    }
    return null;
  }

  /** The RNG file of this process: rng_state for one process, rng_state_<rank> under DDP (as HF's). */
  #rngFile(dir: string): string {
    return rngFile(dir, this.worldSize, this.processIndex);
  }

  /** HF's store_flos: this rank's operations (summed over the ranks under DDP) join total_flos. */
  #storeFlos(): void {
    this.state.total_flos += this.overRanks(this.#currentFlos, "sum");
    this.#currentFlos = 0;
  }

  /**
   * Every rank takes part (HF's _save_checkpoint): the saving process writes the checkpoint to a
   * temporary folder, each other rank adds its RNG file to it, and only then is it renamed into place;
   * barriers keep the ranks in step so that no rank reads a checkpoint before it is whole.
   */
  #saveCheckpoint(): void {
    this.#storeFlos();
    if (this.worldSize === 1) return this.#writeCheckpoint();
    const args = this.args;
    if (!args.shouldSave) this.#noteBestCheckpoint();
    const tmp = join(args.outputDir, `tmp-checkpoint-${this.state.global_step}-ddp`);
    if (args.shouldSave) this.#writeCheckpoint(tmp);
    barrier();
    if (!args.shouldSave && !args.saveOnlyModel) {
      // Without a shared disk (another node) the folder is not here: the RNG file goes to this node's checkpoint.
      const target = existsSync(tmp) ? tmp : checkpointDir(args.outputDir, this.state.global_step);
      mkdirSync(target, { recursive: true });
      saveRngState(this.#rngFile(target));
    }
    barrier();
    if (args.shouldSave) this.#publishCheckpoint(tmp);
    barrier();
  }

  #writeCheckpoint(ddpTmp?: string): void {
    const args = this.args;
    const name = `checkpoint-${this.state.global_step}`;
    const final = join(args.outputDir, name);
    const bad = this.#nonFiniteParameter();
    if (bad)
      this.#print(
        `warning: saving ${name} with non-finite weights (${bad} holds nan/inf): training has diverged, and this checkpoint will not give useful predictions.`,
      );
    this.#noteBestCheckpoint();
    mkdirSync(args.outputDir, { recursive: true });
    // Unique per process: even without the output-dir lock, two writers never share a temporary folder.
    const tmp = ddpTmp ?? join(args.outputDir, `tmp-${name}-${process.pid}`);
    writeCheckpointFiles(tmp, final, {
      model: this.model,
      tokenizer: this.processingClass,
      state: this.state,
      args,
      training: args.saveOnlyModel ? null : { optimizer: this.optimizer!, scheduler: this.lrScheduler!, scaler: this.scaler, rngFile: this.#rngFile(tmp) },
    });
    // Under DDP the other ranks add their RNG files first; #saveCheckpoint publishes it after them.
    if (!ddpTmp) this.#publishCheckpoint(tmp);
  }

  /** The state a checkpoint records: the best checkpoint so far, the callbacks' states (every rank keeps it). */
  #noteBestCheckpoint(): void {
    if (this.state.best_global_step !== null) {
      const best = join(this.args.outputDir, `checkpoint-${this.state.best_global_step}`);
      if (this.state.best_global_step === this.state.global_step || existsSync(best)) this.state.best_model_checkpoint = best;
    }
    this.#exportCallbackStates();
  }

  /** Renames a whole checkpoint into place, then uploads (pushToHub) and rotates. */
  #publishCheckpoint(tmp: string): void {
    const args = this.args;
    const final = checkpointDir(args.outputDir, this.state.global_step);
    renameIntoPlace(tmp, final);
    // In the background (the loop yields to the event loop between steps); rotated once it is done.
    if (args.pushToHub) this.#uploads.pushCheckpoint(final, this.state.global_step, () => existsSync(args.outputDir) && this.#rotate());
    this.#rotate();
  }

  /** HF's stateful_callbacks: each exportable callback's state. */
  #exportCallbackStates(): void {
    this.state.stateful_callbacks = exportCallbackStates([...this.callbacks, this.control]);
  }

  /** HF's _load_callback_state, on when restoreCallbackStatesFromCheckpoint is set. */
  #restoreCallbackStates(): void {
    if (!this.args.restoreCallbackStatesFromCheckpoint) return;
    const notFound = restoreCallbackStates([...this.callbacks, this.control], this.state.stateful_callbacks);
    if (notFound.length) this.#print(`Checkpoint included callbacks not included in current configuration. Ignoring. (${notFound.join(", ")})`);
  }

  readonly #uploads: CheckpointUploads;

  /** Uploads the output folder (model, tokenizer, logs; not the checkpoints) to hubModelId, as HF's push_to_hub. */
  async pushToHub(o: { commitMessage?: string } = {}): Promise<void> {
    if (this.processIndex !== 0) return; // as HF: the first process uploads for the run
    if (!this.args.hubModelId) throw new Error("pushToHub(): set hubModelId (or pushToHub: true, which names the repo after outputDir)");
    await this.#uploads.wait();
    this.saveModel();
    writeJsonAtomic(join(this.args.outputDir, FILES.args), this.args.toJSON());
    await this.#uploads.push(
      this.args.outputDir,
      o.commitMessage ?? "End of training",
      (p) => /^(checkpoint-\d+|tmp-checkpoint-\d+[-\d]*)(\/|$)/.test(p) || p === LOCK_FILE,
    );
  }

  /** Keeps at most saveTotalLimit checkpoints, oldest deleted first, never the best one. */
  #rotate(): void {
    rotateCheckpoints(this.args.outputDir, this.args.saveTotalLimit, this.state.best_model_checkpoint, this.#uploads.busy);
  }

  #loadCheckpoint(dir: string): void {
    this.model.loadSavedWeights(dir);
    const saved = readJsonObject(join(dir, FILES.state), FILES.state);
    if (typeof saved.global_step !== "number") throw new Error(`${join(dir, FILES.state)}: no global_step (is it a trainer_state.json?)`);
    this.state = TrainerState.fromJSON({ ...this.state.toJSON(), ...saved, max_steps: this.state.max_steps });
    this.#restoreCallbackStates();
    loadTrainingState(dir, this.optimizer!, this.lrScheduler!, this.scaler, (l) => this.#print(l));
  }

  #loadRngState(dir: string): void {
    if (!loadRngState(this.#rngFile(dir))) {
      // HF's messages: a checkpoint of another world size has its RNG files under other names.
      this.#print(
        this.worldSize > 1
          ? `Didn't find an RNG file for process ${this.processIndex} in ${dir}: if you are resuming a training that wasn't launched in a distributed fashion, reproducibility is not guaranteed.`
          : `Didn't find an RNG file in ${dir}: if you are resuming a training that was launched in a distributed fashion, reproducibility is not guaranteed.`,
      );
    }
  }

  /** Saves the model (and tokenizer) to outputDir or dir, as HF's save_model; says so when the weights are not finite. */
  saveModel(dir = this.args.outputDir): void {
    // HF's save_model writes from the saving process only (its weights are every rank's).
    if (!this.args.shouldSave) return;
    const bad = this.#nonFiniteParameter();
    if (bad)
      this.#print(
        `warning: saving a model with non-finite weights to ${dir} (${bad} holds nan/inf): training has diverged, and this model will not give useful predictions.`,
      );
    this.model.savePretrained(dir);
    this.processingClass?.savePretrained(dir);
  }

  /** Whether every weight is finite (a diverged run's are not). */
  weightsAreFinite(): boolean {
    return this.#nonFiniteParameter() === null;
  }
}
