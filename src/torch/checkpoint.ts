// Activation checkpointing (torch.utils.checkpoint): a function's forward runs without keeping its
// activations, and its backward runs it again with a graph. Built on the addon's JavaScript autograd
// node: the node's backward calls back here, recomputes, and hands libtorch the gradients of the
// function's inputs and parameters.
import { native, type Handle } from "./native.js";
import { Tensor } from "./tensor.js";
import { tidy } from "./scope.js";
import { autocast, enableGrad, isAutocastEnabled, isGradEnabled, noGrad } from "./autograd.js";
import { getRngState, setRngState } from "./runtime.js";

type Backward = (saved: Tensor[], grads: (Tensor | null)[]) => (Tensor | null)[];

const backwards = new Map<number, Backward>();
let nextId = 1;
let dispatcherSet = false;

function dispatch(id: number, saved: Handle[], grads: (Handle | null)[]): (Handle | null)[] {
  const backward = backwards.get(id);
  if (!backward) throw new Error(`autograd function ${id}: its backward is no longer registered`);
  const out = tidy(() =>
    backward(
      saved.map((h) => new Tensor(h)),
      grads.map((h) => (h === null ? null : new Tensor(h))),
    ),
  );
  // Each gradient's handle passes to the addon, which frees it; a tensor returned twice is given
  // twice as its own handle.
  const given = new Set<Tensor>();
  return out.map((t) => {
    if (t === null) return null;
    const own = given.has(t) ? t.detach() : t;
    given.add(t);
    return own._releaseHandle();
  });
}

function forgetReleased(): void {
  for (const id of native.releasedJsFunctions()) backwards.delete(id);
}

/** The number of checkpointed functions whose graph is still alive (tests use it to prove none leaks). */
export function liveCheckpoints(): number {
  forgetReleased();
  return backwards.size;
}

/**
 * torch.autograd.grad: the gradients of outputs (weighted by gradOutputs) with respect to inputs,
 * without accumulating into `.grad`. With allowUnused, an input the outputs do not depend on gives null.
 */
export function autogradGrad(outputs: Tensor[], inputs: Tensor[], gradOutputs: Tensor[], o: { allowUnused?: boolean } = {}): (Tensor | null)[] {
  if (gradOutputs.length !== outputs.length) throw new TypeError(`autogradGrad(): ${outputs.length} outputs but ${gradOutputs.length} gradOutputs`);
  const hs = native.autogradGrad(
    outputs.map((t) => t.handle),
    inputs.map((t) => t.handle),
    gradOutputs.map((t) => t.handle),
    o.allowUnused ?? false,
  );
  return hs.map((h) => (h === null ? null : new Tensor(h)));
}

/**
 * torch.utils.checkpoint.checkpoint(fn, *args) with non-reentrant semantics: fn(...args) runs under
 * noGrad and keeps none of its activations; backward runs it again, with the RNG state and autocast
 * state of the forward (dropout draws the same masks), and returns the gradients of the args that
 * require grad and of `params` (the parameters fn reads; those requiring grad get gradients whether
 * or not an arg requires grad, as with use_reentrant=False). fn's outputs, in order, come back with
 * the recompute as their backward; the tensors in `args` are kept for it, nothing else is. Outside
 * grad mode, fn simply runs.
 *
 * CPU tensors only: libtorch runs a CUDA graph's backward on its own threads, where JavaScript
 * cannot be called.
 */
export function checkpoint<A extends (Tensor | null)[], R extends (Tensor | undefined)[]>(fn: (...args: A) => R, args: [...A], params: Tensor[]): R {
  if (!isGradEnabled()) return tidy(() => fn(...args));
  const grads = params.filter((p) => p.requiresGrad);
  const differentiable = new Set(args.flatMap((a, i) => (a?.requiresGrad ? [i] : [])));
  if (grads.length === 0 && differentiable.size === 0) return tidy(() => fn(...args));
  for (const t of [...args, ...grads]) {
    if (t && t.device !== "cpu") throw new Error(`checkpoint(): gradient checkpointing runs on CPU tensors only, got a tensor on ${t.device}`);
  }
  forgetReleased();
  if (!dispatcherSet) {
    native.setJsFunctionDispatcher(dispatch);
    dispatcherSet = true;
  }
  const rngState = getRngState();
  const amp = isAutocastEnabled("cpu");
  const outputs = tidy(() => noGrad(() => fn(...args)));
  const present = outputs.flatMap((t, i) => (t ? [i] : []));
  const wrt = [...[...differentiable].map((i) => args[i] as Tensor), ...grads];

  const id = nextId++;
  const backward: Backward = (saved, outGrads) => {
    const [state, ...kept] = saved;
    let k = 0;
    const again = args.map((a, i) => {
      if (a === null) return null;
      const t = kept[k++];
      return differentiable.has(i) ? t.detach().requiresGrad_(true) : t;
    }) as A;
    const current = getRngState();
    setRngState(state);
    try {
      const recomputed = enableGrad(() => autocast({ deviceType: "cpu", dtype: amp.dtype, enabled: amp.enabled }, () => fn(...again)));
      const outs: Tensor[] = [];
      const weights: Tensor[] = [];
      present.forEach((i, j) => {
        const o = recomputed[i];
        const g = outGrads[j];
        if (o?.requiresGrad && g) {
          outs.push(o);
          weights.push(g);
        }
      });
      const inputs = [...[...differentiable].map((i) => again[i] as Tensor), ...grads];
      if (outs.length === 0) return inputs.map(() => null);
      return autogradGrad(outs, inputs, weights, { allowUnused: true });
    } finally {
      setRngState(current);
    }
  };
  const attached = native.attachJsFunction(
    id,
    present.map((i) => outputs[i]!.handle),
    wrt.map((t) => t.handle),
    [rngState.handle, ...args.flatMap((a) => (a ? [a.detach().handle] : []))],
  );
  backwards.set(id, backward);
  const result = outputs.slice();
  present.forEach((i, j) => {
    outputs[i]!.dispose();
    result[i] = new Tensor(attached[j]);
  });
  return result as R;
}
