// The arithmetic of a run (HF's set_initial_training_values): optimizer steps per epoch, the total
// steps and epochs from maxSteps or numTrainEpochs, and the samples the speed metrics count.
import type { TrainingArguments } from "./training_args.js";

export interface RunShape {
  batchesPerEpoch: number;
  updatesPerEpoch: number;
  maxSteps: number;
  numTrainEpochs: number;
  numTrainSamples: number;
}

/** The run's shape for this process's batches per epoch (under DDP, its share), the dataset's rows and the ranks. */
export function runShape(args: TrainingArguments, batchesPerEpoch: number, numRows: number, worldSize: number): RunShape {
  const ga = args.gradientAccumulationSteps;
  if (batchesPerEpoch === 0) throw new Error("Trainer: the training set is empty (or smaller than one batch with dataloaderDropLast)");
  // HF: a last, short accumulation group is an optimizer step of its own.
  const updatesPerEpoch = Math.max(Math.ceil(batchesPerEpoch / ga), 1);
  if (args.maxSteps > 0) {
    const maxSteps = args.maxSteps;
    return {
      batchesPerEpoch,
      updatesPerEpoch,
      maxSteps,
      numTrainEpochs: Math.floor(maxSteps / updatesPerEpoch) + (maxSteps % updatesPerEpoch > 0 ? 1 : 0),
      numTrainSamples: maxSteps * args.perDeviceTrainBatchSize * ga * worldSize,
    };
  }
  return {
    batchesPerEpoch,
    updatesPerEpoch,
    maxSteps: Math.ceil(args.numTrainEpochs * updatesPerEpoch),
    numTrainEpochs: Math.ceil(args.numTrainEpochs),
    numTrainSamples: numRows * args.numTrainEpochs,
  };
}
