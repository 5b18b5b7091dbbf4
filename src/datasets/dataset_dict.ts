// DatasetDict: splits by name (dd["train"] or dd.train), with the Dataset operations applied to
// every split, and HF's printout.
import { mkdirSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { inspect } from "node:util";
import { Dataset, registerDatasetDict, type Example, type MapOptions, type FormatType } from "./dataset.js";
import type { Feature } from "./features.js";

// Names that JavaScript itself probes on any object (await, JSON.stringify, test matchers): reading
// them is not asking for a split.
const PROBED = new Set(["then", "toJSON", "asymmetricMatch", "$$typeof", "nodeType", "tagName"]);

class DatasetDictImpl {
  constructor(splits: Record<string, Dataset>) {
    for (const [k, d] of Object.entries(splits)) {
      if (!(d instanceof Dataset)) throw new TypeError(`DatasetDict: split '${k}' is not a Dataset`);
      Object.defineProperty(this, k, { value: d, enumerable: true, writable: false, configurable: true });
    }
    // Python's DatasetDict is a dict: raw["validaton"] is a KeyError, not a silent undefined that
    // fails three calls later. Methods run on the object itself (their private fields are there).
    return new Proxy(this, {
      get(target, prop) {
        if (typeof prop === "string" && !(prop in target) && !PROBED.has(prop)) {
          throw new Error(`Unknown split "${prop}". Should be one of ${JSON.stringify(target.splits)}.`);
        }
        const v: unknown = Reflect.get(target, prop);
        return typeof v === "function" ? v.bind(target) : v;
      },
    });
  }

  get splits(): string[] {
    return Object.keys(this);
  }
  get(split: string): Dataset {
    const d = (this as unknown as Record<string, unknown>)[split];
    if (!(d instanceof Dataset)) throw new Error(`Unknown split "${split}". Should be one of ${JSON.stringify(this.splits)}.`);
    return d;
  }
  entries(): [string, Dataset][] {
    return this.splits.map((s) => [s, this.get(s)]);
  }
  get numRows(): Record<string, number> {
    return Object.fromEntries(this.entries().map(([k, d]) => [k, d.numRows]));
  }
  get columnNames(): Record<string, string[]> {
    return Object.fromEntries(this.entries().map(([k, d]) => [k, d.columnNames]));
  }

  #each(fn: (d: Dataset) => Dataset): DatasetDict {
    return new DatasetDict(Object.fromEntries(this.entries().map(([k, d]) => [k, fn(d)])));
  }
  async #eachAsync(fn: (d: Dataset) => Promise<Dataset>): Promise<DatasetDict> {
    const out: Record<string, Dataset> = {};
    for (const [k, d] of this.entries()) out[k] = await fn(d);
    return new DatasetDict(out);
  }

  map(fn: (input: Example, indices?: number | number[]) => object | void | Promise<object | void>, o: MapOptions = {}): Promise<DatasetDict> {
    return this.#eachAsync((d) => d.map(fn, o));
  }
  filter(fn: (input: Example, index?: number | number[]) => boolean | boolean[] | Promise<boolean | boolean[]>, o: { batched?: boolean; batchSize?: number } = {}): Promise<DatasetDict> {
    return this.#eachAsync((d) => d.filter(fn, o));
  }
  shuffle(o: { seed?: number } = {}): DatasetDict {
    return this.#each((d) => d.shuffle(o));
  }
  flattenIndices(): DatasetDict {
    return this.#each((d) => d.flattenIndices());
  }
  renameColumn(from: string, to: string): DatasetDict {
    return this.#each((d) => d.renameColumn(from, to));
  }
  renameColumns(mapping: Record<string, string>): DatasetDict {
    return this.#each((d) => d.renameColumns(mapping));
  }
  removeColumns(columns: string | string[]): DatasetDict {
    return this.#each((d) => d.removeColumns(columns));
  }
  selectColumns(columns: string | string[]): DatasetDict {
    return this.#each((d) => d.selectColumns(columns));
  }
  castColumn(column: string, feature: Feature): DatasetDict {
    return this.#each((d) => d.castColumn(column, feature));
  }
  sort(column: string, o: { reverse?: boolean } = {}): DatasetDict {
    return this.#each((d) => d.sort(column, o));
  }
  async setFormat(type: FormatType | "pt", columns: string[] | null = null): Promise<void> {
    for (const [, d] of this.entries()) await d.setFormat(type, columns);
  }
  withFormat(type: FormatType | "pt", columns: string[] | null = null): Promise<DatasetDict> {
    return this.#eachAsync((d) => d.withFormat(type, columns));
  }

  /** save_to_disk: dataset_dict.json and one folder per split. */
  saveToDisk(dir: string): void {
    const tmp = `${dir}.tmp-${process.pid}-${Date.now()}`;
    mkdirSync(tmp, { recursive: true });
    try {
      writeFileSync(join(tmp, "dataset_dict.json"), JSON.stringify({ splits: this.splits }) + "\n");
      for (const [k, d] of this.entries()) d.saveToDisk(join(tmp, k));
      rmSync(dir, { recursive: true, force: true });
      renameSync(tmp, dir);
    } catch (e) {
      rmSync(tmp, { recursive: true, force: true });
      throw e;
    }
  }

  toString(): string {
    const body = this.entries()
      .map(([k, d]) => `    ${k}: ${d.toString().split("\n").join("\n    ")}`)
      .join("\n");
    return `DatasetDict({\n${body}\n})`;
  }
  [inspect.custom](): string {
    return this.toString();
  }
}

/** Splits read as properties, `dd["train"]` or `dd.train`, typed as Datasets. */
export type DatasetDict = DatasetDictImpl & { readonly [split: string]: Dataset };
export const DatasetDict = DatasetDictImpl as unknown as new (splits: Record<string, Dataset>) => DatasetDict;

registerDatasetDict(DatasetDict);
