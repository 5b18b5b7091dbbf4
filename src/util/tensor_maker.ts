// The tensor factory that finetune-ts/torch registers when it loads, for layers that make tensors
// only on request (a tokenizer's returnTensors: "pt") and must not load libtorch themselves:
// importing a tokenizer loads no native code, and a libtorch that fails to load fails with its own
// message where it is imported.
export type TensorMaker = (data: unknown[], o: { dtype: "int64" | "float32" }) => unknown;

let maker: TensorMaker | null = null;

export function registerTensorMaker(fn: TensorMaker): void {
  maker = fn;
}

/** The registered factory; `what` names the feature that needs it, in the error when none is. */
export function tensorMaker(what: string): TensorMaker {
  if (!maker) throw new Error(`${what} makes libtorch tensors: import "finetune-ts/torch" (or "finetune-ts") first, so that the libtorch addon is loaded`);
  return maker;
}
