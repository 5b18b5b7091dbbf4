// finetune-ts/evaluate: evaluate.load(name, config) and the metrics behind it.
import { Metric } from "./metric.js";
import { Squad, normalizeAnswer, squadScores, type SquadPrediction, type SquadReference, type SquadResult } from "./squad.js";
import { Seqeval, getEntities, type EntityScores, type SeqevalOptions, type SeqevalResult } from "./seqeval.js";
import { Accuracy, F1, Glue, MatthewsCorrelation, PearsonR, Precision, Recall, SpearmanR, GLUE_CONFIGS, type GlueConfig, type GlueResults } from "./metrics.js";

/** The metrics by the names evaluate.load takes (each typed by what it returns). */
export type MetricsByName = {
  accuracy: Accuracy;
  f1: F1;
  precision: Precision;
  recall: Recall;
  matthews_correlation: MatthewsCorrelation;
  pearsonr: PearsonR;
  spearmanr: SpearmanR;
};

const METRICS: { [K in keyof MetricsByName]: () => MetricsByName[K] } = {
  accuracy: () => new Accuracy(),
  f1: () => new F1(),
  precision: () => new Precision(),
  recall: () => new Recall(),
  matthews_correlation: () => new MatthewsCorrelation(),
  pearsonr: () => new PearsonR(),
  spearmanr: () => new SpearmanR(),
};

/**
 * evaluate.load: a metric by name ("accuracy", "f1", …) or "glue" with a task's config ("mrpc", …).
 * Known names are typed by their results: evaluate.load("glue", "mrpc") computes { accuracy, f1 }.
 */
export async function load<C extends GlueConfig>(name: "glue", configName: C): Promise<Glue<C>>;
export async function load<N extends keyof MetricsByName>(name: N): Promise<MetricsByName[N]>;
export async function load(name: "seqeval"): Promise<Seqeval>;
export async function load(name: "squad"): Promise<Squad>;
export async function load(name: string, configName?: string): Promise<Metric | Seqeval | Squad>;
export async function load(name: string, configName?: string): Promise<Metric | Seqeval | Squad> {
  const key = String(name).replace(/^evaluate-metric\//, "");
  if (key === "glue") {
    if (!configName) throw new Error(`You should supply a configuration name selected in ${JSON.stringify(GLUE_CONFIGS).replace(/,/g, ", ")}`);
    return new Glue(configName as GlueConfig);
  }
  if (key === "seqeval") return new Seqeval();
  if (key === "squad") return new Squad();
  const make = (METRICS as Record<string, (() => Metric) | undefined>)[key];
  if (!make) throw new Error(`Unknown metric '${name}': available are ${Object.keys(METRICS).concat("glue", "seqeval", "squad").join(", ")}`);
  return make();
}

export { postprocessQaPredictions, sliceCodePoints, type QaPostprocessingOptions } from "./qa_postprocessing.js";
export { Squad, normalizeAnswer, squadScores, type SquadPrediction, type SquadReference, type SquadResult };
export { Seqeval, getEntities, type EntityScores, type SeqevalOptions, type SeqevalResult };
export { Metric, Accuracy, F1, Precision, Recall, MatthewsCorrelation, PearsonR, SpearmanR, Glue, GLUE_CONFIGS };
export type { GlueConfig, GlueResults };
export type { ComputeArgs, MetricResult } from "./metric.js";
