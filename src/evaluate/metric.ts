// evaluate's Metric: compute() on whole inputs, or add()/addBatch() as predictions arrive, then compute().
import { pair, type MetricInput } from "./inputs.js";

export interface ComputeArgs {
  predictions?: MetricInput;
  references?: MetricInput;
  [option: string]: unknown;
}

/** What compute() returns: the metric's values by name. */
export type MetricResult = Record<string, number | number[]>;

export abstract class Metric<R extends MetricResult = MetricResult> {
  abstract readonly name: string;
  readonly configName: string;
  #predictions: number[] = [];
  #references: number[] = [];

  constructor(configName = "default") {
    this.configName = configName;
  }

  protected abstract score(predictions: number[], references: number[], options: Record<string, unknown>): R;

  /** Adds one prediction/reference pair. */
  add(o: { prediction: number | bigint | boolean; reference: number | bigint | boolean }): void {
    this.addBatch({ predictions: [Number(o.prediction)], references: [Number(o.reference)] });
  }

  /** Adds a batch of predictions and references (arrays or Tensors). */
  addBatch(o: { predictions: MetricInput; references: MetricInput }): void {
    const [p, r] = pair(o.predictions, o.references);
    this.#predictions.push(...p);
    this.#references.push(...r);
  }

  /** The metric over the given inputs, or over everything added since the last compute(). */
  compute(args: ComputeArgs = {}): R {
    const { predictions, references, ...options } = args;
    let p: number[];
    let r: number[];
    if (predictions !== undefined || references !== undefined) {
      if (this.#predictions.length) {
        [p, r] = pair(predictions, references);
        p = this.#predictions.concat(p);
        r = this.#references.concat(r);
      } else [p, r] = pair(predictions, references);
    } else {
      p = this.#predictions;
      r = this.#references;
    }
    this.#predictions = [];
    this.#references = [];
    return this.score(p, r, options);
  }

  toString(): string {
    return `EvaluationModule(name: "${this.name}", module_type: "metric", config_name: "${this.configName}")`;
  }
}
