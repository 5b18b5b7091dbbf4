// The metrics of evaluate.load(): accuracy, f1, precision, recall, matthews_correlation, pearsonr,
// spearmanr, and "glue" with each GLUE task's metric set.
import { Metric } from "./metric.js";
import { accuracy, matthews, prfs, type Average } from "./classification.js";
import { pearson, spearman } from "./regression.js";

type Opts = Record<string, unknown>;
const weightsOf = (o: Opts) => (o.sampleWeight ?? o.sample_weight) as number[] | undefined;
const scoreOpts = (o: Opts) => ({
  average: (o.average === undefined ? "binary" : o.average) as Average,
  posLabel: (o.posLabel ?? o.pos_label) as number | undefined,
  labels: o.labels as number[] | undefined,
  sampleWeight: weightsOf(o),
  zeroDivision: (o.zeroDivision ?? o.zero_division) === 1 ? (1 as const) : (0 as const),
});

export class Accuracy extends Metric<{ accuracy: number }> {
  readonly name = "accuracy";
  protected score(p: number[], r: number[], o: Opts) {
    return { accuracy: accuracy(p, r, { normalize: o.normalize as boolean | undefined, sampleWeight: weightsOf(o) }) };
  }
}
export class F1 extends Metric<{ f1: number | number[] }> {
  readonly name = "f1";
  protected score(p: number[], r: number[], o: Opts) {
    return { f1: prfs(p, r, scoreOpts(o)).f };
  }
}
export class Precision extends Metric<{ precision: number | number[] }> {
  readonly name = "precision";
  protected score(p: number[], r: number[], o: Opts) {
    return { precision: prfs(p, r, scoreOpts(o)).precision };
  }
}
export class Recall extends Metric<{ recall: number | number[] }> {
  readonly name = "recall";
  protected score(p: number[], r: number[], o: Opts) {
    return { recall: prfs(p, r, scoreOpts(o)).recall };
  }
}
export class MatthewsCorrelation extends Metric<{ matthews_correlation: number }> {
  readonly name = "matthews_correlation";
  protected score(p: number[], r: number[], o: Opts) {
    return { matthews_correlation: matthews(p, r, { sampleWeight: weightsOf(o) }) };
  }
}
export class PearsonR extends Metric<{ pearsonr: number }> {
  readonly name = "pearsonr";
  protected score(p: number[], r: number[], o: Opts) {
    if (o.return_pvalue || o.returnPvalue) throw new Error("pearsonr: returnPvalue is not supported");
    return { pearsonr: pearson(p, r) };
  }
}
export class SpearmanR extends Metric<{ spearmanr: number }> {
  readonly name = "spearmanr";
  protected score(p: number[], r: number[], o: Opts) {
    if (o.return_pvalue || o.returnPvalue) throw new Error("spearmanr: returnPvalue is not supported");
    return { spearmanr: spearman(p, r) };
  }
}

type AccuracyF1 = { accuracy: number; f1: number };
type AccuracyOnly = { accuracy: number };
/** What evaluate's glue metric returns for each task (glue.py's _compute). */
export type GlueResults = {
  sst2: AccuracyOnly;
  mnli: AccuracyOnly;
  mnli_mismatched: AccuracyOnly;
  mnli_matched: AccuracyOnly;
  qnli: AccuracyOnly;
  rte: AccuracyOnly;
  wnli: AccuracyOnly;
  hans: AccuracyOnly;
  cola: { matthews_correlation: number };
  stsb: { pearson: number; spearmanr: number };
  mrpc: AccuracyF1;
  qqp: AccuracyF1;
};
export type GlueConfig = keyof GlueResults;
export const GLUE_CONFIGS: readonly GlueConfig[] = [
  "sst2",
  "mnli",
  "mnli_mismatched",
  "mnli_matched",
  "cola",
  "stsb",
  "mrpc",
  "qqp",
  "qnli",
  "rte",
  "wnli",
  "hans",
];

/** evaluate's "glue" metric: the metric set of one GLUE task. */
export class Glue<C extends GlueConfig = GlueConfig> extends Metric<GlueResults[C]> {
  readonly name = "glue";
  constructor(config: C) {
    if (!(GLUE_CONFIGS as readonly string[]).includes(config)) {
      throw new Error(`You should supply a configuration name selected in ${JSON.stringify(GLUE_CONFIGS).replace(/,/g, ", ")}`);
    }
    super(config);
  }
  protected score(p: number[], r: number[]): GlueResults[C] {
    const byTask: { [K in GlueConfig]?: () => GlueResults[K] } = {
      cola: () => ({ matthews_correlation: matthews(p, r) }),
      stsb: () => ({ pearson: pearson(p, r), spearmanr: spearman(p, r) }),
      mrpc: () => ({ accuracy: accuracy(p, r), f1: prfs(p, r, { average: "binary" }).f as number }),
      qqp: () => ({ accuracy: accuracy(p, r), f1: prfs(p, r, { average: "binary" }).f as number }),
    };
    const task = byTask[this.configName as C] as (() => GlueResults[C]) | undefined;
    return task ? task() : ({ accuracy: accuracy(p, r) } as GlueResults[C]);
  }
}
