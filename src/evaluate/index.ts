// finetune-ts/evaluate: evaluate.load(name, config) and the metrics behind it.
import { Metric } from "./metric.js";
import { Accuracy, F1, Glue, MatthewsCorrelation, PearsonR, Precision, Recall, SpearmanR, GLUE_CONFIGS } from "./metrics.js";

const METRICS: Record<string, () => Metric> = {
  accuracy: () => new Accuracy(),
  f1: () => new F1(),
  precision: () => new Precision(),
  recall: () => new Recall(),
  matthews_correlation: () => new MatthewsCorrelation(),
  pearsonr: () => new PearsonR(),
  spearmanr: () => new SpearmanR(),
};

/** evaluate.load: a metric by name ("accuracy", "f1", …) or "glue" with a task's config ("mrpc", …). */
export async function load(name: string, configName?: string): Promise<Metric> {
  const key = String(name).replace(/^evaluate-metric\//, "");
  if (key === "glue") {
    if (!configName) throw new Error(`You should supply a configuration name selected in ${JSON.stringify(GLUE_CONFIGS).replace(/,/g, ", ")}`);
    return new Glue(configName);
  }
  const make = METRICS[key];
  if (!make) throw new Error(`Unknown metric '${name}': available are ${Object.keys(METRICS).concat("glue").join(", ")}`);
  return make();
}

export { Metric, Accuracy, F1, Precision, Recall, MatthewsCorrelation, PearsonR, SpearmanR, Glue, GLUE_CONFIGS };
export type { ComputeArgs } from "./metric.js";
