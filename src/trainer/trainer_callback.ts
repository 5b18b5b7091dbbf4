// TrainerState, TrainerControl and callbacks as HF's trainer_callback.py has them: TrainerCallback's
// events are methods (so a subclass's methods are called), a CallbackHandler runs them in order
// with DefaultFlowCallback (when to log, evaluate, save and stop) first, and callbacks with state
// (EarlyStoppingCallback, TrainerControl) export it into trainer_state.json's stateful_callbacks.
import type { TrainingArguments } from "./training_args.js";

export type LogEntry = Record<string, number>;

/** What trainer_state.json holds, in HF's schema. */
export class TrainerState {
  /** null until training has run (HF's None), so a fresh Trainer's evaluate() logs no epoch. */
  epoch: number | null = null;
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
  stateful_callbacks: Record<string, CallbackState | CallbackState[]> = {};

  static fromJSON(j: Record<string, unknown>): TrainerState {
    const s = new TrainerState();
    for (const k of Object.keys(s) as (keyof TrainerState)[]) if (k in j) (s as unknown as Record<string, unknown>)[k] = j[k];
    return s;
  }
  toJSON(): Record<string, unknown> {
    return Object.fromEntries(
      Object.keys(this)
        .sort()
        .map((k) => [k, (this as unknown as Record<string, unknown>)[k]]),
    );
  }
}

/** HF's ExportableState: `args` rebuild the object, `attributes` are set on it afterwards. */
export interface CallbackState {
  args: Record<string, unknown>;
  attributes: Record<string, unknown>;
}
export interface ExportableState {
  state(): CallbackState;
  /** Restores what state() exported (HF rebuilds the object; we set it in place). */
  restoreState(s: CallbackState): void;
}
export function isExportable(x: unknown): x is ExportableState {
  return typeof (x as ExportableState | null)?.state === "function" && typeof (x as ExportableState).restoreState === "function";
}

export class TrainerControl implements ExportableState {
  shouldTrainingStop = false;
  shouldEpochStop = false;
  shouldSave = false;
  shouldEvaluate = false;
  shouldLog = false;

  state(): CallbackState {
    return {
      args: {
        should_training_stop: this.shouldTrainingStop,
        should_epoch_stop: this.shouldEpochStop,
        should_save: this.shouldSave,
        should_evaluate: this.shouldEvaluate,
        should_log: this.shouldLog,
      },
      attributes: {},
    };
  }
  restoreState(s: CallbackState): void {
    const a = s.args;
    this.shouldTrainingStop = a.should_training_stop === true;
    this.shouldEpochStop = a.should_epoch_stop === true;
    this.shouldSave = a.should_save === true;
    this.shouldEvaluate = a.should_evaluate === true;
    this.shouldLog = a.should_log === true;
  }
}

export interface CallbackArgs {
  model?: unknown;
  processingClass?: unknown;
  optimizer?: unknown;
  lrScheduler?: unknown;
  metrics?: Record<string, number>;
  logs?: LogEntry;
}

export type EventName =
  | "onInitEnd"
  | "onTrainBegin"
  | "onTrainEnd"
  | "onEpochBegin"
  | "onEpochEnd"
  | "onStepBegin"
  | "onPreOptimizerStep"
  | "onOptimizerStep"
  | "onSubstepEnd"
  | "onStepEnd"
  | "onEvaluate"
  | "onPredict"
  | "onSave"
  | "onLog"
  | "onPredictionStep";

/**
 * HF's TrainerCallback: override the events you need (as methods or arrow-function fields); return
 * a TrainerControl, or change the one given, to steer the loop.
 */
export class TrainerCallback {
  onInitEnd(_args: TrainingArguments, _state: TrainerState, _control: TrainerControl, _extra: CallbackArgs): TrainerControl | void {}
  onTrainBegin(_args: TrainingArguments, _state: TrainerState, _control: TrainerControl, _extra: CallbackArgs): TrainerControl | void {}
  onTrainEnd(_args: TrainingArguments, _state: TrainerState, _control: TrainerControl, _extra: CallbackArgs): TrainerControl | void {}
  onEpochBegin(_args: TrainingArguments, _state: TrainerState, _control: TrainerControl, _extra: CallbackArgs): TrainerControl | void {}
  onEpochEnd(_args: TrainingArguments, _state: TrainerState, _control: TrainerControl, _extra: CallbackArgs): TrainerControl | void {}
  onStepBegin(_args: TrainingArguments, _state: TrainerState, _control: TrainerControl, _extra: CallbackArgs): TrainerControl | void {}
  onPreOptimizerStep(_args: TrainingArguments, _state: TrainerState, _control: TrainerControl, _extra: CallbackArgs): TrainerControl | void {}
  onOptimizerStep(_args: TrainingArguments, _state: TrainerState, _control: TrainerControl, _extra: CallbackArgs): TrainerControl | void {}
  onSubstepEnd(_args: TrainingArguments, _state: TrainerState, _control: TrainerControl, _extra: CallbackArgs): TrainerControl | void {}
  onStepEnd(_args: TrainingArguments, _state: TrainerState, _control: TrainerControl, _extra: CallbackArgs): TrainerControl | void {}
  onEvaluate(_args: TrainingArguments, _state: TrainerState, _control: TrainerControl, _extra: CallbackArgs): TrainerControl | void {}
  onPredict(_args: TrainingArguments, _state: TrainerState, _control: TrainerControl, _extra: CallbackArgs): TrainerControl | void {}
  onSave(_args: TrainingArguments, _state: TrainerState, _control: TrainerControl, _extra: CallbackArgs): TrainerControl | void {}
  onLog(_args: TrainingArguments, _state: TrainerState, _control: TrainerControl, _extra: CallbackArgs): TrainerControl | void {}
  onPredictionStep(_args: TrainingArguments, _state: TrainerState, _control: TrainerControl, _extra: CallbackArgs): TrainerControl | void {}
}

/** HF's DefaultFlowCallback (transformers 5): when to log, evaluate, save and stop. */
export class DefaultFlowCallback extends TrainerCallback {
  override onStepEnd(args: TrainingArguments, state: TrainerState, control: TrainerControl): TrainerControl {
    if (state.global_step === 1 && args.loggingFirstStep) control.shouldLog = true;
    if (args.loggingStrategy === "steps" && state.global_step % state.logging_steps === 0) control.shouldLog = true;
    if (args.evalStrategy === "steps" && state.global_step % state.eval_steps === 0 && args.evalDelay <= state.global_step) control.shouldEvaluate = true;
    if (args.saveStrategy === "steps" && state.save_steps > 0 && state.global_step % state.save_steps === 0) control.shouldSave = true;
    if (state.global_step >= state.max_steps) {
      control.shouldTrainingStop = true;
      // The last step is saved under the steps strategy; the epoch strategy saves at the epoch's end.
      if (args.saveStrategy === "steps") control.shouldSave = true;
    }
    return control;
  }

  override onEpochEnd(args: TrainingArguments, state: TrainerState, control: TrainerControl): TrainerControl {
    if (args.loggingStrategy === "epoch") control.shouldLog = true;
    if (args.evalStrategy === "epoch" && args.evalDelay <= (state.epoch ?? 0)) control.shouldEvaluate = true;
    if (args.saveStrategy === "epoch") control.shouldSave = true;
    return control;
  }
}

type CallbackLike = TrainerCallback | (new () => TrainerCallback);

/** HF's CallbackHandler: the callbacks in order, each event's flag resets, and the returned control. */
export class CallbackHandler {
  readonly callbacks: TrainerCallback[] = [];

  constructor(callbacks: CallbackLike[]) {
    for (const cb of callbacks) this.add(cb);
  }

  add(callback: CallbackLike): void {
    const cb = typeof callback === "function" ? new callback() : callback;
    if (this.callbacks.some((c) => c.constructor === cb.constructor)) {
      console.warn(
        `You are adding a ${cb.constructor.name} to the callbacks of this Trainer, but there is already one. The current list of callbacks is\n:${this.callbacks.map((c) => c.constructor.name).join("\n")}`,
      );
    }
    this.callbacks.push(cb);
  }

  /** Removes the first callback that is `callback` or an instance of it, and returns it. */
  pop(callback: CallbackLike): TrainerCallback | undefined {
    const i = this.callbacks.findIndex((c) => (typeof callback === "function" ? c instanceof callback : c === callback));
    return i < 0 ? undefined : this.callbacks.splice(i, 1)[0];
  }

  call(event: EventName, args: TrainingArguments, state: TrainerState, control: TrainerControl, extra: CallbackArgs): TrainerControl {
    switch (event) {
      case "onTrainBegin":
        control.shouldTrainingStop = false;
        break;
      case "onEpochBegin":
        control.shouldEpochStop = false;
        break;
      case "onStepBegin":
        control.shouldLog = control.shouldEvaluate = control.shouldSave = false;
        break;
      case "onEvaluate":
        control.shouldEvaluate = false;
        break;
      case "onSave":
        control.shouldSave = false;
        break;
      case "onLog":
        control.shouldLog = false;
        break;
    }
    for (const cb of this.callbacks) {
      const fn = (cb as unknown as Record<EventName, unknown>)[event];
      if (typeof fn !== "function") continue;
      const result: unknown = fn.call(cb, args, state, control, extra);
      // A callback may return the control (or another one) or nothing; as HF, a returned one is used.
      if (result instanceof TrainerControl) control = result;
    }
    return control;
  }
}

/** Stops training when the metric for the best model has not improved for `patience` evaluations. */
export class EarlyStoppingCallback extends TrainerCallback implements ExportableState {
  earlyStoppingPatience: number;
  earlyStoppingThreshold: number;
  /** Evaluations in a row without improvement. */
  earlyStoppingPatienceCounter = 0;

  constructor(o: { earlyStoppingPatience?: number; earlyStoppingThreshold?: number } = {}) {
    super();
    this.earlyStoppingPatience = o.earlyStoppingPatience ?? 1;
    this.earlyStoppingThreshold = o.earlyStoppingThreshold ?? 0;
  }

  override onTrainBegin(args: TrainingArguments): void {
    if (!args.loadBestModelAtEnd) {
      console.warn(
        "Using EarlyStoppingCallback without load_best_model_at_end=True. Once training is finished, the best model will not be loaded automatically.",
      );
    }
    if (!args.metricForBestModel) throw new Error("EarlyStoppingCallback requires metric_for_best_model to be defined");
    if (args.evalStrategy === "no") throw new Error("EarlyStoppingCallback requires IntervalStrategy of steps or epoch");
  }

  override onEvaluate(args: TrainingArguments, state: TrainerState, control: TrainerControl, extra: CallbackArgs): void {
    const name = args.metricForBestModel!.startsWith("eval_") ? args.metricForBestModel! : `eval_${args.metricForBestModel}`;
    const value = extra.metrics?.[name];
    if (value === undefined) {
      console.warn(`early stopping required metric_for_best_model, but did not find ${name} so early stopping is disabled`);
      return;
    }
    // As HF: compared with the best before this evaluation (the Trainer updates it after onEvaluate).
    const better = args.greaterIsBetter ? value > (state.best_metric ?? -Infinity) : value < (state.best_metric ?? Infinity);
    const improved = state.best_metric === null || (better && Math.abs(value - state.best_metric) > this.earlyStoppingThreshold);
    this.earlyStoppingPatienceCounter = improved ? 0 : this.earlyStoppingPatienceCounter + 1;
    if (this.earlyStoppingPatienceCounter >= this.earlyStoppingPatience) control.shouldTrainingStop = true;
  }

  state(): CallbackState {
    return {
      args: { early_stopping_patience: this.earlyStoppingPatience, early_stopping_threshold: this.earlyStoppingThreshold },
      attributes: { early_stopping_patience_counter: this.earlyStoppingPatienceCounter },
    };
  }
  restoreState(s: CallbackState): void {
    if (typeof s.args.early_stopping_patience === "number") this.earlyStoppingPatience = s.args.early_stopping_patience;
    if (typeof s.args.early_stopping_threshold === "number") this.earlyStoppingThreshold = s.args.early_stopping_threshold;
    if (typeof s.attributes.early_stopping_patience_counter === "number") this.earlyStoppingPatienceCounter = s.attributes.early_stopping_patience_counter;
  }
}

/** HF's stateful_callbacks: each exportable callback's state by class name (a list when a class appears twice). */
export function exportCallbackStates(callbacks: readonly object[]): Record<string, CallbackState | CallbackState[]> {
  const out: Record<string, CallbackState | CallbackState[]> = {};
  for (const cb of callbacks) {
    if (!isExportable(cb)) continue;
    const name = cb.constructor.name;
    const s = cb.state();
    const prev = out[name];
    out[name] = prev === undefined ? s : Array.isArray(prev) ? [...prev, s] : [prev, s];
  }
  return out;
}

/** HF's _load_callback_state: restores each saved state into the callbacks of its class; returns the classes not found. */
export function restoreCallbackStates(callbacks: readonly object[], saved: Record<string, CallbackState | CallbackState[]>): string[] {
  const notFound: string[] = [];
  for (const [name, data] of Object.entries(saved)) {
    const states = Array.isArray(data) ? data : [data];
    const targets = callbacks.filter((cb) => cb.constructor.name === name && isExportable(cb));
    if (!targets.length) notFound.push(name);
    targets.forEach((cb, i) => {
      if (states[i] && isExportable(cb)) cb.restoreState(states[i]);
    });
  }
  return notFound;
}
