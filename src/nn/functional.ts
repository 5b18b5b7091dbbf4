// torch.nn.functional under its usual alias: `import { F } from "finetune-ts/nn"`.
export {
  linear, softmax, logSoftmax, relu, gelu, silu, tanh, sigmoid, layerNorm, dropout, embedding,
  crossEntropy, nllLoss, mseLoss, binaryCrossEntropyWithLogits, scaledDotProductAttention,
  type CrossEntropyOptions, type SdpaOptions, type Reduction,
} from "../torch/ops.js";
