// TrainerState, TrainerControl and callbacks with HF's events, plus EarlyStoppingCallback.
import type { TrainingArguments } from "./training_args.js";

export type LogEntry = Record<string, number>;

/** What trainer_state.json holds, in HF's schema. */
export class TrainerState {
  epoch = 0;
  global_step = 0;
  max_steps = 0;
  logging_steps = 500;
  eval_steps = 500;
  save_steps = 500;
  train_batch_size = 8;
  num_train_epochs = 0;
  num_input_tokens_seen = 0;
  total_flos = 0;
  log_history: LogEntry[] = [];
  best_metric: number | null = null;
  best_global_step: number | null = null;
  best_model_checkpoint: string | null = null;
  is_local_process_zero = true;
  is_world_process_zero = true;
  is_hyper_param_search = false;
  trial_name: string | null = null;
  trial_params: null = null;
  stateful_callbacks: Record<string, unknown> = {};

  static fromJSON(j: Record<string, unknown>): TrainerState {
    const s = new TrainerState();
    for (const k of Object.keys(s) as (keyof TrainerState)[]) if (k in j) (s as unknown as Record<string, unknown>)[k] = j[k];
    return s;
  }
  toJSON(): Record<string, unknown> {
    return Object.fromEntries(Object.keys(this).sort().map((k) => [k, (this as unknown as Record<string, unknown>)[k]]));
  }
}

export class TrainerControl {
  shouldTrainingStop = false;
  shouldEpochStop = false;
  shouldSave = false;
  shouldEvaluate = false;
  shouldLog = false;
  /** Set by Ctrl-C: finish the step, save, stop. */
  interrupted = false;
}

export interface CallbackArgs {
  model?: unknown;
  processingClass?: unknown;
  optimizer?: unknown;
  lrScheduler?: unknown;
  metrics?: Record<string, number>;
  logs?: LogEntry;
}

type Event = (args: TrainingArguments, state: TrainerState, control: TrainerControl, extra: CallbackArgs) => TrainerControl | void;

/** HF's TrainerCallback: override the events you need; return (or mutate) the control to steer. */
export class TrainerCallback {
  onInitEnd?: Event;
  onTrainBegin?: Event;
  onTrainEnd?: Event;
  onEpochBegin?: Event;
  onEpochEnd?: Event;
  onStepBegin?: Event;
  onSubstepEnd?: Event;
  onStepEnd?: Event;
  onEvaluate?: Event;
  onPredict?: Event;
  onSave?: Event;
  onLog?: Event;
  onPredictionStep?: Event;
}

export type EventName = Exclude<keyof TrainerCallback, never>;

/** Stops training when the metric for the best model has not improved for `patience` evaluations. */
export class EarlyStoppingCallback extends TrainerCallback {
  readonly patience: number;
  readonly threshold: number;
  #bad = 0;

  constructor(o: { earlyStoppingPatience?: number; earlyStoppingThreshold?: number } = {}) {
    super();
    this.patience = o.earlyStoppingPatience ?? 1;
    this.threshold = o.earlyStoppingThreshold ?? 0;
  }

  override onTrainBegin: Event = (args) => {
    if (!args.loadBestModelAtEnd) throw new Error("EarlyStoppingCallback requires load_best_model_at_end = True");
    if (!args.metricForBestModel) throw new Error("EarlyStoppingCallback requires metric_for_best_model to be defined");
    if (args.evalStrategy === "no") throw new Error("EarlyStoppingCallback requires IntervalStrategy of steps or epoch");
  };

  override onEvaluate: Event = (args, state, control, extra) => {
    const name = args.metricForBestModel!.startsWith("eval_") ? args.metricForBestModel! : `eval_${args.metricForBestModel}`;
    const value = extra.metrics?.[name];
    if (value === undefined) {
      console.warn(`early stopping required metric_for_best_model, but did not find ${name} so early stopping is disabled`);
      return;
    }
    const better = args.greaterIsBetter ? (a: number, b: number) => a > b : (a: number, b: number) => a < b;
    const improved = state.best_metric === null || (better(value, state.best_metric) && Math.abs(value - state.best_metric) > this.threshold);
    this.#bad = improved ? 0 : this.#bad + 1;
    if (this.#bad >= this.patience) control.shouldTrainingStop = true;
  };
}
