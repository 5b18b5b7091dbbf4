// HF's ACT2FN for the activations BERT-family configs name.
import type { Tensor } from "../torch/index.js";
import { F } from "../nn/index.js";

export type Activation = (x: Tensor) => Tensor;

export function activation(name: string): Activation {
  switch (name) {
    case "gelu":
      return (x) => F.gelu(x);
    case "gelu_new":
    case "gelu_pytorch_tanh":
      return (x) => F.gelu(x, "tanh");
    case "relu":
      return (x) => F.relu(x);
    case "tanh":
      return (x) => F.tanh(x);
    case "silu":
    case "swish":
      return (x) => F.silu(x);
    default:
      throw new Error(`activation function '${name}' is not supported (gelu, gelu_new, relu, tanh, silu)`);
  }
}
