// Arrow IPC files as HF datasets writes them: the streaming format, with the features in the
// schema's "huggingface" metadata. Writes go to a temporary name renamed into place.
import { readFileSync } from "node:fs";
import { writeFileAtomic } from "../util/files.js";
import * as arrow from "apache-arrow";
import { featureFromArrow, featuresFromJson, featuresToJson, type Features } from "./features.js";

export function withFeaturesMetadata(table: arrow.Table, features: Features): arrow.Table {
  const meta = new Map(table.schema.metadata);
  meta.set("huggingface", JSON.stringify({ info: { features: featuresToJson(features) } }));
  const schema = new arrow.Schema(table.schema.fields, meta);
  return new arrow.Table(
    schema,
    table.batches.map((b) => new arrow.RecordBatch(schema, b.data)),
  );
}

export function writeArrowFile(table: arrow.Table, features: Features, path: string): void {
  writeFileAtomic(path, arrow.tableToIPC(withFeaturesMetadata(table, features), "stream"));
}

export function featuresOf(schema: arrow.Schema, where: string): Features {
  const hf = schema.metadata.get("huggingface");
  if (hf) {
    try {
      const info = JSON.parse(hf) as { info?: { features?: unknown } };
      if (info.info?.features) return featuresFromJson(info.info.features, where);
    } catch (e) {
      throw new Error(`${where}: the 'huggingface' schema metadata is not valid (${(e as Error).message})`);
    }
  }
  return Object.fromEntries(schema.fields.map((f) => [f.name, featureFromArrow(f.type)]));
}

export function readArrowFile(path: string): { table: arrow.Table; features: Features } {
  let table: arrow.Table;
  try {
    table = arrow.tableFromIPC(readFileSync(path));
  } catch (e) {
    throw new Error(`${path}: not a readable Arrow IPC file (${(e as Error).message})`);
  }
  return { table, features: featuresOf(table.schema, path) };
}
