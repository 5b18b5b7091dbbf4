// TrainingArguments: HF's fields and defaults in camelCase, HF's snake_case names accepted from
// JSON and the CLI, and HF's validation errors.
import { SCHEDULER_TYPES, type SchedulerType } from "../optim/index.js";
import { backends, cuda, torchAtLeast } from "../torch/index.js";
import { torchrunInt } from "../distributed/index.js";

export type IntervalStrategy = "no" | "steps" | "epoch";
export type SaveStrategy = IntervalStrategy | "best";

export interface TrainingArgumentsInit {
  outputDir: string;
  overwriteOutputDir?: boolean;
  evalStrategy?: IntervalStrategy;
  evalSteps?: number | null;
  evalDelay?: number;
  evalOnStart?: boolean;
  perDeviceTrainBatchSize?: number;
  perDeviceEvalBatchSize?: number;
  gradientAccumulationSteps?: number;
  evalAccumulationSteps?: number | null;
  learningRate?: number;
  weightDecay?: number;
  adamBeta1?: number;
  adamBeta2?: number;
  adamEpsilon?: number;
  maxGradNorm?: number;
  numTrainEpochs?: number;
  maxSteps?: number;
  lrSchedulerType?: SchedulerType;
  lrSchedulerKwargs?: Record<string, number>;
  warmupRatio?: number;
  /** Steps of linear warmup; below 1, a fraction of the training steps (transformers 5's replacement for warmupRatio). */
  warmupSteps?: number;
  loggingDir?: string | null;
  loggingStrategy?: IntervalStrategy;
  loggingFirstStep?: boolean;
  loggingSteps?: number;
  loggingNanInfFilter?: boolean;
  saveStrategy?: SaveStrategy;
  saveSteps?: number;
  saveTotalLimit?: number | null;
  saveOnlyModel?: boolean;
  useCpu?: boolean;
  seed?: number;
  dataSeed?: number | null;
  bf16?: boolean;
  fp16?: boolean;
  /** TF32 matmuls on Ampere or newer GPUs (HF's tf32): true/false sets torch.backends.cuda.matmul.allowTf32, null leaves it. */
  tf32?: boolean | null;
  dataloaderDropLast?: boolean;
  /** HF's dataloader_pin_memory: on a GPU, batches are copied from page-locked memory, without the host waiting. */
  dataloaderPinMemory?: boolean;
  runName?: string | null;
  /**
   * HF's log_level: "passive" (default) leaves the library's verbosity as it is (warnings); "info"
   * shows the "***** Running training *****" block and the info messages of model loading.
   */
  logLevel?: "passive" | "debug" | "info" | "warning" | "error" | "critical";
  disableTqdm?: boolean;
  removeUnusedColumns?: boolean;
  labelNames?: string[] | null;
  loadBestModelAtEnd?: boolean;
  metricForBestModel?: string | null;
  greaterIsBetter?: boolean | null;
  labelSmoothingFactor?: number;
  groupByLength?: boolean;
  /** Recompute each encoder/decoder layer in backward instead of keeping its activations (model.gradientCheckpointingEnable()). */
  gradientCheckpointing?: boolean;
  lengthColumnName?: string;
  reportTo?: string | string[];
  pushToHub?: boolean;
  hubModelId?: string | null;
  hubToken?: string | null;
  hubPrivateRepo?: boolean;
  resumeFromCheckpoint?: string | boolean | null;
  predictionLossOnly?: boolean;
  includeNumInputTokensSeen?: boolean;
  /** HF's average_tokens_across_devices (default true): num_items_in_batch counts every process's labels. */
  averageTokensAcrossDevices?: boolean;
  /** Restore stateful callbacks (EarlyStoppingCallback's patience) from the checkpoint on resume (HF's default: false). */
  restoreCallbackStatesFromCheckpoint?: boolean;
  /**
   * HF's optim: "adamw_torch" (torch's op-by-op AdamW) or "adamw_torch_fused" (one pass per tensor:
   * faster). The default is HF's: fused from torch 2.8 (here: the linked libtorch), else op-by-op.
   */
  optim?: "adamw_torch" | "adamw_torch_fused";
  /** Threads for ATen and OpenBLAS on CPU (see torch.configureThreads); null: measured defaults. */
  torchThreads?: number | null;
  blasThreads?: number | null;
  /** Under `finetune launch`/torchrun: the process group's backend, "gloo" or "nccl" (null: nccl for CUDA, else gloo). */
  ddpBackend?: "gloo" | "nccl" | null;
  /** DistributedDataParallel's gradient bucket size in MiB (null: 25). */
  ddpBucketCapMb?: number | null;
  /** DistributedDataParallel's find_unused_parameters (null: false, as HF for a model without gradient checkpointing). */
  ddpFindUnusedParameters?: boolean | null;
  /** DistributedDataParallel's broadcast_buffers (null: true). */
  ddpBroadcastBuffers?: boolean | null;
  /** Seconds the ranks wait for each other (rendezvous and each collective), as HF's ddp_timeout (1800). */
  ddpTimeout?: number;
  /** Save checkpoints on every node's local rank 0 (nodes without a shared disk), not only on the first process. */
  saveOnEachNode?: boolean;
  /** Log on every node's local rank 0 (HF's default), or only on the first process. */
  logOnEachNode?: boolean;
}

// The JSON types each field takes, for fromDict: a default's own type, null where the field is
// nullable, and the few fields that take more than one type.
const NULLABLE_TYPES: Partial<Record<keyof TrainingArgumentsInit, string[]>> = {
  evalSteps: ["number"],
  saveTotalLimit: ["number"],
  dataSeed: ["number"],
  runName: ["string"],
  loggingDir: ["string"],
  metricForBestModel: ["string"],
  greaterIsBetter: ["boolean"],
  hubModelId: ["string"],
  hubToken: ["string"],
  torchThreads: ["number"],
  blasThreads: ["number"],
  tf32: ["boolean"],
  ddpBackend: ["string"],
  ddpBucketCapMb: ["number"],
  ddpFindUnusedParameters: ["boolean"],
  ddpBroadcastBuffers: ["boolean"],
  resumeFromCheckpoint: ["string", "boolean"],
  reportTo: ["string", "array"],
  labelNames: ["array"],
  lrSchedulerKwargs: ["object"],
};

function defaultOptim(): "adamw_torch" | "adamw_torch_fused" {
  return torchAtLeast(2, 8) ? "adamw_torch_fused" : "adamw_torch";
}

const DEFAULTS: Required<Omit<TrainingArgumentsInit, "outputDir">> = {
  overwriteOutputDir: false,
  evalStrategy: "no",
  evalSteps: null,
  evalDelay: 0,
  evalOnStart: false,
  perDeviceTrainBatchSize: 8,
  perDeviceEvalBatchSize: 8,
  gradientAccumulationSteps: 1,
  evalAccumulationSteps: null,
  learningRate: 5e-5,
  weightDecay: 0,
  adamBeta1: 0.9,
  adamBeta2: 0.999,
  adamEpsilon: 1e-8,
  maxGradNorm: 1.0,
  numTrainEpochs: 3,
  maxSteps: -1,
  lrSchedulerType: "linear",
  lrSchedulerKwargs: {},
  warmupRatio: 0,
  warmupSteps: 0,
  loggingDir: null,
  loggingStrategy: "steps",
  loggingFirstStep: false,
  loggingSteps: 500,
  loggingNanInfFilter: true,
  saveStrategy: "steps",
  saveSteps: 500,
  saveTotalLimit: null,
  saveOnlyModel: false,
  useCpu: false,
  seed: 42,
  dataSeed: null,
  bf16: false,
  fp16: false,
  tf32: null,
  dataloaderDropLast: false,
  dataloaderPinMemory: true,
  runName: null,
  logLevel: "passive",
  disableTqdm: false,
  removeUnusedColumns: true,
  labelNames: null,
  loadBestModelAtEnd: false,
  metricForBestModel: null,
  greaterIsBetter: null,
  labelSmoothingFactor: 0,
  groupByLength: false,
  gradientCheckpointing: false,
  lengthColumnName: "length",
  reportTo: "none",
  pushToHub: false,
  hubModelId: null,
  hubToken: null,
  hubPrivateRepo: false,
  resumeFromCheckpoint: null,
  predictionLossOnly: false,
  includeNumInputTokensSeen: false,
  averageTokensAcrossDevices: true,
  restoreCallbackStatesFromCheckpoint: false,
  optim: defaultOptim(),
  torchThreads: null,
  blasThreads: null,
  ddpBackend: null,
  ddpBucketCapMb: null,
  ddpFindUnusedParameters: null,
  ddpBroadcastBuffers: null,
  ddpTimeout: 1800,
  saveOnEachNode: false,
  logOnEachNode: true,
};

export const FIELDS = ["outputDir", ...Object.keys(DEFAULTS)] as (keyof TrainingArgumentsInit)[];

const jsonType = (v: unknown): string => (v === null ? "null" : Array.isArray(v) ? "array" : typeof v);
const FIELD_TYPES = Object.fromEntries(
  FIELDS.map((k) => {
    const nullable = NULLABLE_TYPES[k];
    if (k === "outputDir") return [k, ["string"]];
    const d = DEFAULTS[k as Exclude<keyof TrainingArgumentsInit, "outputDir">];
    return [k, nullable ? [...nullable, "null"] : [jsonType(d)]];
  }),
) as Record<keyof TrainingArgumentsInit, string[]>;
export const toSnake = (k: string): string =>
  k
    .replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`)
    .replace(/bf_16/, "bf16")
    .replace(/fp_16/, "fp16");
export const toCamel = (k: string): string => k.replace(/_([a-z0-9])/g, (_, c: string) => c.toUpperCase());
// HF's older names still found in scripts and JSON files.
const RENAMED: Record<string, keyof TrainingArgumentsInit> = { evaluationStrategy: "evalStrategy", noCuda: "useCpu", useCpu: "useCpu" };

export class TrainingArguments {
  /** Every field's name (camelCase), in HF's order: what a command line offers as flags. */
  static readonly fields: readonly (keyof TrainingArgumentsInit)[] = FIELDS;
  /** A field's name as HF's TrainingArguments spells it (learningRate → learning_rate). */
  static snakeName(field: string): string {
    return toSnake(field);
  }
  [key: string]: unknown;
  readonly outputDir!: string;
  readonly evalStrategy!: IntervalStrategy;
  readonly evalSteps!: number | null;
  readonly evalDelay!: number;
  readonly evalOnStart!: boolean;
  readonly overwriteOutputDir!: boolean;
  readonly perDeviceTrainBatchSize!: number;
  readonly perDeviceEvalBatchSize!: number;
  readonly gradientAccumulationSteps!: number;
  readonly evalAccumulationSteps!: number | null;
  readonly learningRate!: number;
  readonly weightDecay!: number;
  readonly adamBeta1!: number;
  readonly adamBeta2!: number;
  readonly adamEpsilon!: number;
  readonly maxGradNorm!: number;
  readonly numTrainEpochs!: number;
  readonly maxSteps!: number;
  readonly lrSchedulerType!: SchedulerType;
  readonly lrSchedulerKwargs!: Record<string, number>;
  readonly warmupRatio!: number;
  readonly warmupSteps!: number;
  readonly loggingDir!: string | null;
  readonly loggingStrategy!: IntervalStrategy;
  readonly loggingFirstStep!: boolean;
  readonly loggingSteps!: number;
  readonly loggingNanInfFilter!: boolean;
  readonly saveStrategy!: SaveStrategy;
  readonly saveSteps!: number;
  readonly saveTotalLimit!: number | null;
  readonly saveOnlyModel!: boolean;
  readonly useCpu!: boolean;
  readonly seed!: number;
  readonly dataSeed!: number | null;
  readonly bf16!: boolean;
  readonly fp16!: boolean;
  readonly tf32!: boolean | null;
  readonly dataloaderDropLast!: boolean;
  readonly dataloaderPinMemory!: boolean;
  readonly runName!: string | null;
  readonly logLevel!: "passive" | "debug" | "info" | "warning" | "error" | "critical";
  readonly disableTqdm!: boolean;
  readonly removeUnusedColumns!: boolean;
  readonly labelNames!: string[] | null;
  readonly loadBestModelAtEnd!: boolean;
  readonly metricForBestModel!: string | null;
  readonly greaterIsBetter!: boolean | null;
  readonly labelSmoothingFactor!: number;
  readonly groupByLength!: boolean;
  readonly gradientCheckpointing!: boolean;
  readonly lengthColumnName!: string;
  readonly reportTo!: string[];
  readonly pushToHub!: boolean;
  readonly hubModelId!: string | null;
  readonly hubToken!: string | null;
  readonly hubPrivateRepo!: boolean;
  readonly resumeFromCheckpoint!: string | boolean | null;
  readonly predictionLossOnly!: boolean;
  readonly includeNumInputTokensSeen!: boolean;
  readonly averageTokensAcrossDevices!: boolean;
  readonly restoreCallbackStatesFromCheckpoint!: boolean;
  readonly optim!: "adamw_torch" | "adamw_torch_fused";
  readonly torchThreads!: number | null;
  readonly blasThreads!: number | null;
  readonly ddpBackend!: "gloo" | "nccl" | null;
  readonly ddpBucketCapMb!: number | null;
  readonly ddpFindUnusedParameters!: boolean | null;
  readonly ddpBroadcastBuffers!: boolean | null;
  readonly ddpTimeout!: number;
  readonly saveOnEachNode!: boolean;
  readonly logOnEachNode!: boolean;

  /**
   * Typed fields in camelCase: a misspelt field or a value of the wrong type is a compile error.
   * Untyped input (HF's snake_case JSON, the CLI's options) goes through fromDict/fromJSON.
   */
  constructor(init: TrainingArgumentsInit) {
    if (!init || typeof init !== "object") throw new TypeError("TrainingArguments: expected an object of fields");
    const given: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(init)) {
      if (v === undefined) continue;
      if (!FIELDS.includes(k as keyof TrainingArgumentsInit)) {
        const camel = RENAMED[toCamel(k)] ?? toCamel(k);
        const hint = FIELDS.includes(camel as keyof TrainingArgumentsInit)
          ? ` (HF's name for ${camel}: pass it as ${camel}, or the dict through TrainingArguments.fromDict)`
          : "";
        throw new TypeError(`TrainingArguments: unknown field '${k}'${hint}`);
      }
      given[k] = v;
    }
    if (typeof given.outputDir !== "string" || given.outputDir === "") throw new TypeError("TrainingArguments: outputDir (output_dir) is required");
    Object.assign(this, DEFAULTS, given);
    const self = this as Record<string, unknown>;
    if (typeof self.reportTo === "string") self.reportTo = self.reportTo === "none" ? [] : self.reportTo === "all" ? ["tensorboard", "jsonl"] : [self.reportTo];
    else if (Array.isArray(self.reportTo) && (self.reportTo as string[]).includes("none")) self.reportTo = [];
    self.loggingDir ??= `${this.outputDir}/runs`;
    this.#validate();
  }

  #validate(): void {
    const strategies: IntervalStrategy[] = ["no", "steps", "epoch"];
    for (const k of ["evalStrategy", "loggingStrategy"] as const) {
      if (!strategies.includes(this[k])) throw new TypeError(`${toSnake(k)} must be one of 'no', 'steps', 'epoch', got '${this[k]}'`);
    }
    if (![...strategies, "best"].includes(this.saveStrategy))
      throw new TypeError(`save_strategy must be one of 'no', 'steps', 'epoch', 'best', got '${this.saveStrategy}'`);
    if (!SCHEDULER_TYPES.includes(this.lrSchedulerType)) {
      throw new TypeError(`'${this.lrSchedulerType}' is not a valid SchedulerType, please select one of ${SCHEDULER_TYPES.map((s) => `'${s}'`).join(", ")}`);
    }
    for (const k of ["perDeviceTrainBatchSize", "perDeviceEvalBatchSize", "gradientAccumulationSteps"] as const) {
      if (!Number.isInteger(this[k]) || this[k] < 1) throw new RangeError(`${toSnake(k)} must be a positive integer, got ${this[k]}`);
    }
    if (!(this.learningRate >= 0)) throw new RangeError(`learning_rate must be >= 0, got ${this.learningRate}`);
    if (!(this.numTrainEpochs > 0) && this.maxSteps <= 0) throw new RangeError("num_train_epochs must be > 0 when max_steps is not set");
    if (this.warmupRatio < 0 || this.warmupRatio > 1) throw new RangeError("warmup_ratio must lie in range [0,1]");
    const self = this as Record<string, unknown>;
    if (this.evalStrategy === "steps" && (this.evalSteps === null || this.evalSteps === 0)) {
      if (this.loggingSteps > 0) self.evalSteps = this.loggingSteps;
      else throw new RangeError(`evaluation strategy ${this.evalStrategy} requires either non-zero --eval_steps or --logging_steps`);
    }
    if (this.loggingStrategy === "steps" && this.loggingSteps === 0)
      throw new RangeError(`logging strategy ${this.loggingStrategy} requires non-zero --logging_steps`);
    if (this.saveStrategy === "steps" && this.saveSteps === 0) throw new RangeError(`save strategy ${this.saveStrategy} requires non-zero --save_steps`);
    for (const k of ["loggingSteps", "saveSteps", "evalSteps"] as const) {
      const v = this[k];
      if (v !== null && v > 1 && !Number.isInteger(v)) throw new RangeError(`--${toSnake(k)} must be an integer if bigger than 1: ${v}`);
    }
    if (this.loadBestModelAtEnd && this.saveStrategy !== "best") {
      if (this.evalStrategy !== this.saveStrategy) {
        throw new Error(
          `--load_best_model_at_end requires the save and eval strategy to match, but found\n- Evaluation strategy: ${this.evalStrategy}\n- Save strategy: ${this.saveStrategy}`,
        );
      }
      if (this.evalStrategy === "steps" && this.saveSteps % this.evalSteps! !== 0) {
        throw new Error(
          `--load_best_model_at_end requires the saving steps to be a round multiple of the evaluation steps, but found ${this.saveSteps}, which is not a round multiple of ${this.evalSteps}.`,
        );
      }
    }
    if ((this.loadBestModelAtEnd || this.saveStrategy === "best") && this.metricForBestModel === null) self.metricForBestModel = "loss";
    if (this.greaterIsBetter === null && this.metricForBestModel !== null) self.greaterIsBetter = !this.metricForBestModel.endsWith("loss");
    if (this.fp16 && this.bf16) throw new Error("At most one of fp16 and bf16 can be True, but not both");
    if (!["passive", "debug", "info", "warning", "error", "critical"].includes(this.logLevel)) {
      throw new TypeError(`log_level must be one of 'passive', 'debug', 'info', 'warning', 'error', 'critical', got '${this.logLevel}'`);
    }
    // As HF's __post_init__: the switch is process-wide and set when the arguments are made.
    if (this.tf32 !== null) {
      if (this.tf32 && !cuda.isAvailable()) throw new Error("--tf32 requires Ampere or a newer GPU arch, cuda>=11 and torch>=1.7");
      backends.cuda.matmul.allowTf32 = this.tf32;
    }
    if (this.ddpBackend !== null && this.ddpBackend !== "gloo" && this.ddpBackend !== "nccl")
      throw new TypeError(`ddp_backend: '${String(this.ddpBackend)}' is not supported (gloo, nccl)`);
    if (this.ddpBucketCapMb !== null && !(this.ddpBucketCapMb > 0)) throw new RangeError(`ddp_bucket_cap_mb must be positive, got ${this.ddpBucketCapMb}`);
    if (!(this.ddpTimeout > 0)) throw new RangeError(`ddp_timeout must be a positive number of seconds, got ${this.ddpTimeout}`);
    if (!["adamw_torch", "adamw_torch_fused"].includes(this.optim))
      throw new TypeError(`optim: '${this.optim}' is not supported (adamw_torch, adamw_torch_fused)`);
    if (this.saveTotalLimit !== null && (!Number.isInteger(this.saveTotalLimit) || this.saveTotalLimit < 1)) {
      throw new RangeError(`save_total_limit must be a positive integer or null, got ${this.saveTotalLimit}`);
    }
    if (this.pushToHub && !this.hubModelId) self.hubModelId = this.outputDir.split("/").filter(Boolean).pop() ?? null;
    for (const r of this.reportTo) {
      if (!["tensorboard", "jsonl"].includes(r)) throw new TypeError(`report_to: '${r}' is not supported (tensorboard, jsonl, none, all)`);
    }
  }

  get trainBatchSize(): number {
    return this.perDeviceTrainBatchSize;
  }

  /** Processes in the run: WORLD_SIZE as torchrun and `finetune launch` set it (1 otherwise), as HF's world_size. */
  get worldSize(): number {
    return torchrunInt("WORLD_SIZE") ?? 1;
  }
  /** This process's rank (HF's process_index): RANK, 0 when not distributed. */
  get processIndex(): number {
    return torchrunInt("RANK") ?? 0;
  }
  /** This process's rank on its node (HF's local_process_index): LOCAL_RANK, 0 when not distributed. */
  get localProcessIndex(): number {
    return torchrunInt("LOCAL_RANK") ?? 0;
  }
  /** Whether this process logs: local rank 0 (or, with logOnEachNode false, rank 0), as HF's should_log. */
  get shouldLog(): boolean {
    return this.logOnEachNode ? this.localProcessIndex === 0 : this.processIndex === 0;
  }
  /** Whether this process writes checkpoints and the model: rank 0 (local rank 0 with saveOnEachNode), as HF's should_save. */
  get shouldSave(): boolean {
    return this.saveOnEachNode ? this.localProcessIndex === 0 : this.processIndex === 0;
  }

  /** HF's to_dict/to_json_string, with snake_case names (what training_args.json holds). */
  toJSON(): Record<string, unknown> {
    const out: Record<string, unknown> = {};
    for (const k of FIELDS) out[toSnake(k)] = k === "hubToken" && this.hubToken ? "<HUB_TOKEN>" : this[k];
    return out;
  }

  /**
   * From untyped fields, camelCase or HF's snake_case names (training_args.json, a parsed config):
   * unknown fields and values of the wrong type are errors that name the field.
   */
  static fromDict(d: Record<string, unknown>): TrainingArguments {
    if (!d || typeof d !== "object" || Array.isArray(d)) throw new TypeError("TrainingArguments.fromDict: expected an object of fields");
    const camelCased: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(d)) {
      const camel = RENAMED[toCamel(k)] ?? toCamel(k);
      if (!FIELDS.includes(camel as keyof TrainingArgumentsInit)) throw new TypeError(`TrainingArguments: unknown field '${k}'`);
      const want = FIELD_TYPES[camel as keyof TrainingArgumentsInit];
      if (v !== undefined && !want.includes(jsonType(v))) {
        throw new TypeError(`TrainingArguments: ${k} must be ${want.join(" or ")}, got ${JSON.stringify(v)}`);
      }
      // HF's older name (evaluation_strategy) gives way to the current one when both are there.
      if (!(camel in camelCased) || RENAMED[toCamel(k)] === undefined) camelCased[camel] = v;
    }
    // Checked above, field by field; the constructor validates values and relations.
    return new TrainingArguments(camelCased as unknown as TrainingArgumentsInit);
  }

  /** fromDict of a JSON text (HF's TrainingArguments.to_json_string, training_args.json). */
  static fromJSON(text: string): TrainingArguments {
    let d: unknown;
    try {
      d = JSON.parse(text);
    } catch (e) {
      throw new SyntaxError(`TrainingArguments.fromJSON: not JSON (${(e as Error).message})`);
    }
    if (!d || typeof d !== "object" || Array.isArray(d)) throw new TypeError("TrainingArguments.fromJSON: expected a JSON object of fields");
    return TrainingArguments.fromDict(d as Record<string, unknown>);
  }

  /** A copy with some fields changed. */
  with(changes: Partial<TrainingArgumentsInit>): TrainingArguments {
    const base = Object.fromEntries(FIELDS.map((k) => [k, this[k]]));
    return new TrainingArguments({ ...base, ...changes } as TrainingArgumentsInit);
  }
}
