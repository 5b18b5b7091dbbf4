// Parameter initialisers (torch.nn.init): in place, without recording gradients.
import { noGrad, type Tensor } from "../torch/index.js";

let skipping = 0;

/**
 * HF's no_init_weights: while fn runs the initialisers below do nothing, so a model that is about
 * to be loaded from a checkpoint is built without drawing a single random number; the weights the
 * checkpoint lacks are initialised afterwards, drawing from the generator as HF does.
 */
export function noInitWeights<T>(fn: () => T): T {
  skipping++;
  try {
    return fn();
  } finally {
    skipping--;
  }
}

export function normal_(t: Tensor, mean = 0, std = 1): Tensor {
  return skipping ? t : noGrad(() => t.normal_(mean, std));
}
export function uniform_(t: Tensor, a = 0, b = 1): Tensor {
  return skipping ? t : noGrad(() => t.uniform_(a, b));
}
/** The error function to double precision: its Taylor series near 0, a continued fraction for erfc beyond. */
export function erf(x: number): number {
  const ax = Math.abs(x);
  if (ax < 3) {
    let term = x;
    let sum = x;
    for (let n = 1; n < 200; n++) {
      term *= (-x * x) / n;
      const add = term / (2 * n + 1);
      sum += add;
      if (Math.abs(add) < 1e-17 * Math.abs(sum)) break;
    }
    return (2 / Math.sqrt(Math.PI)) * sum;
  }
  // erfc(x) = exp(-x²)/√π · 1/(x + 1/2/(x + 1/(x + 3/2/(x + …)))), evaluated from the tail.
  let f = ax;
  for (let n = 60; n >= 1; n--) f = ax + n / 2 / f;
  const erfc = Math.exp(-ax * ax) / Math.sqrt(Math.PI) / f;
  return x > 0 ? 1 - erfc : erfc - 1;
}

/** torch.nn.init.trunc_normal_: normal(mean, std) cut to [a, b], by inverting the CDF of a uniform draw (the same draws as torch). */
export function truncNormal_(t: Tensor, mean = 0, std = 1, a = -2, b = 2): Tensor {
  if (skipping) return t;
  const cdf = (x: number) => (1 + erf(x / Math.SQRT2)) / 2;
  const l = cdf((a - mean) / std);
  const u = cdf((b - mean) / std);
  return noGrad(() =>
    t
      .uniform_(2 * l - 1, 2 * u - 1)
      .erfinv_()
      .mul_(std * Math.SQRT2)
      .add_(mean)
      .clamp_(a, b),
  );
}

export function constant_(t: Tensor, value: number): Tensor {
  return skipping ? t : noGrad(() => t.fill_(value));
}
export function zeros_(t: Tensor): Tensor {
  return skipping ? t : noGrad(() => t.zero_());
}
export function ones_(t: Tensor): Tensor {
  return skipping ? t : noGrad(() => t.fill_(1));
}

function fans(t: Tensor): [number, number] {
  const s = t.shape;
  if (s.length < 2) throw new Error(`fan in/out needs a tensor with at least 2 dims, got shape [${s.join(", ")}]`);
  const receptive = s.slice(2).reduce((a, b) => a * b, 1);
  return [s[1] * receptive, s[0] * receptive];
}

/** torch.nn.init.kaiming_uniform_ for leaky_relu with slope a (fan_in mode). */
export function kaimingUniform_(t: Tensor, a = 0): Tensor {
  const [fanIn] = fans(t);
  const gain = Math.sqrt(2 / (1 + a * a));
  const bound = gain * Math.sqrt(3 / fanIn);
  return uniform_(t, -bound, bound);
}
export function xavierUniform_(t: Tensor, gain = 1): Tensor {
  const [fanIn, fanOut] = fans(t);
  const bound = gain * Math.sqrt(6 / (fanIn + fanOut));
  return uniform_(t, -bound, bound);
}
export function fanIn(t: Tensor): number {
  return fans(t)[0];
}
