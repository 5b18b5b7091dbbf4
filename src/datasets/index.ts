// finetune-ts/datasets: Dataset, DatasetDict, loadDataset, loadFromDisk and features.
export { Dataset, type Row, type Batch, type Example, type MapOptions, type FormatType } from "./dataset.js";
export { DatasetDict } from "./dataset_dict.js";
export { loadDataset, loadFromDisk, datasetsCacheDir, type LoadDatasetOptions, type DataFiles } from "./load.js";
export { Value, ClassLabel, Sequence, Struct, featuresFromJson, featuresToJson, type Feature, type Features, type Dtype } from "./features.js";
export { conll2003Features, type Conll2003Row } from "./conll2003.js";
export { squadFeatures, type SquadRow } from "./squad.js";
