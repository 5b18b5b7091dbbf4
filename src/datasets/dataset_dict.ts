// DatasetDict: splits by name (dd["train"] or dd.train), with the Dataset operations applied to
// every split, and HF's printout.
import { mkdirSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { inspect } from "node:util";
import { Dataset, registerDatasetDict, type Columns, type Example, type MapOptions, type Merge, type RowOf, type FormatType } from "./dataset.js";
import type { Feature } from "./features.js";

// Names that JavaScript itself probes on any object (await, JSON.stringify, test matchers): reading
// them is not asking for a split.
const PROBED = new Set(["then", "toJSON", "asymmetricMatch", "$$typeof", "nodeType", "tagName"]);

class DatasetDictImpl<T extends object = Example, S extends string = string> {
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
  get(split: S): Dataset<T> {
    const d = (this as unknown as Record<string, unknown>)[split];
    if (!(d instanceof Dataset)) throw new Error(`Unknown split "${split}". Should be one of ${JSON.stringify(this.splits)}.`);
    return d as Dataset<T>;
  }
  entries(): [S, Dataset<T>][] {
    return this.splits.map((s) => [s as S, this.get(s as S)]);
  }
  get numRows(): Record<string, number> {
    return Object.fromEntries(this.entries().map(([k, d]) => [k, d.numRows]));
  }
  get columnNames(): Record<string, string[]> {
    return Object.fromEntries(this.entries().map(([k, d]) => [k, d.columnNames]));
  }

  // The splits, each through fn, as a DatasetDict of the row type U (the caller's to say).
  #each<U extends object = T>(fn: (d: Dataset<T>) => Dataset): DatasetDict<U, S> {
    return new DatasetDict(Object.fromEntries(this.entries().map(([k, d]) => [k, fn(d)]))) as unknown as DatasetDict<U, S>;
  }
  async #eachAsync<U extends object = T>(fn: (d: Dataset<T>) => Promise<Dataset>): Promise<DatasetDict<U, S>> {
    const out: Record<string, Dataset> = {};
    for (const [k, d] of this.entries()) out[k] = await fn(d);
    return new DatasetDict(out) as unknown as DatasetDict<U, S>;
  }

  map<R extends object>(
    fn: (batch: Columns<T>, indices?: number[]) => R | void | Promise<R | void>,
    o: MapOptions & { batched: true },
  ): Promise<DatasetDict<Merge<T, RowOf<R>>, S>>;
  map<R extends object>(
    fn: (row: T, index?: number) => R | void | Promise<R | void>,
    o?: MapOptions & { batched?: false },
  ): Promise<DatasetDict<Merge<T, R>, S>>;
  map(fn: (input: Example, indices?: number | number[]) => object | void | Promise<object | void>, o?: MapOptions): Promise<DatasetDict<Example, S>>;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  map(fn: (input: any, indices?: any) => object | void | Promise<object | void>, o: MapOptions = {}): Promise<DatasetDict<Example, S>> {
    return this.#eachAsync((d) => d.map(fn, o));
  }
  filter(
    fn: (input: Example, index?: number | number[]) => boolean | boolean[] | Promise<boolean | boolean[]>,
    o: { batched?: boolean; batchSize?: number } = {},
  ): Promise<DatasetDict<T, S>> {
    return this.#eachAsync((d) => d.filter(fn, o));
  }
  shuffle(o: { seed?: number } = {}): DatasetDict<T, S> {
    return this.#each((d) => d.shuffle(o));
  }
  flattenIndices(): DatasetDict<T, S> {
    return this.#each((d) => d.flattenIndices());
  }
  renameColumn(from: string, to: string): DatasetDict<Example, S> {
    return this.#each((d) => d.renameColumn(from, to));
  }
  renameColumns(mapping: Record<string, string>): DatasetDict<Example, S> {
    return this.#each((d) => d.renameColumns(mapping));
  }
  removeColumns<K extends keyof T & string>(columns: K | K[]): DatasetDict<Omit<T, K>, S> {
    return this.#each((d) => d.removeColumns(columns));
  }
  selectColumns(columns: string | string[]): DatasetDict<Example, S> {
    return this.#each((d) => d.selectColumns(columns));
  }
  castColumn(column: string, feature: Feature): DatasetDict<Example, S> {
    return this.#each((d) => d.castColumn(column, feature));
  }
  sort(column: string, o: { reverse?: boolean } = {}): DatasetDict<T, S> {
    return this.#each((d) => d.sort(column, o));
  }
  async setFormat(type: FormatType | "pt", columns: string[] | null = null): Promise<void> {
    for (const [, d] of this.entries()) await d.setFormat(type, columns);
  }
  withFormat(type: FormatType | "pt", columns: string[] | null = null): Promise<DatasetDict<Example, S>> {
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

/**
 * Splits read as properties, `dd["train"]` or `dd.train`. With known split names (S) a misspelt one
 * does not compile; with any names (string) it is a run-time error naming the splits.
 */
export type DatasetDict<T extends object = Example, S extends string = string> = DatasetDictImpl<T, S> & { readonly [K in S]: Dataset<T> };
export const DatasetDict = DatasetDictImpl as unknown as new <T extends object = Example, S extends string = string>(
  splits: Record<S, Dataset<T>>,
) => DatasetDict<T, S>;

registerDatasetDict(DatasetDict);
