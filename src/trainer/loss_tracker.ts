// The training loss as HF's loop keeps it: a tensor on the model's device that the micro-batch
// losses are added to, read back (a device sync) only when a log is due. HF's
// logging_nan_inf_filter and the first non-finite step are computed on the device too.
import * as torch from "../torch/index.js";
import type { Tensor } from "../torch/index.js";

export class LossTracker {
  #total: Tensor;
  /** The step (1-based) of the first non-finite micro-batch loss, or -1. */
  #firstBad: Tensor;

  constructor(device: string) {
    this.#total = torch.keep(torch.zeros([], { dtype: "float32", device }));
    this.#firstBad = torch.keep(torch.full([], -1, { dtype: "float64", device }));
  }

  /**
   * Adds a micro-batch's loss (HF's `tr_loss = tr_loss + tr_loss_step`); with the nan/inf filter, a
   * non-finite loss adds the mean since the last log instead (`tr_loss / (1 + steps since log)`).
   */
  add(loss: Tensor, step: number, stepsSinceLog: number, filter: boolean): void {
    const [total, firstBad] = torch.tidy(() => {
      const l = loss.detach().to("float32");
      const finite = l.isfinite();
      const added = this.#total.add(l);
      const next = filter ? torch.where(finite, added, this.#total.add(this.#total.div(1 + stepsSinceLog))) : added;
      const seen = finite.logicalOr(this.#firstBad.ge(0));
      return [next, torch.where(seen, this.#firstBad, torch.full([], step, { dtype: "float64", device: this.#firstBad.device }))];
    });
    this.#total.dispose();
    this.#firstBad.dispose();
    this.#total = torch.keep(total);
    this.#firstBad = torch.keep(firstBad);
  }

  /** The loss added since the last take (read from the device), and back to zero. */
  take(): number {
    const v = this.#total.item();
    this.#total.zero_();
    return v;
  }

  /** The step of the first non-finite loss so far, or null. */
  firstNonFiniteStep(): number | null {
    const s = this.#firstBad.item();
    return s >= 0 ? s : null;
  }

  dispose(): void {
    torch.dispose([this.#total, this.#firstBad]);
  }
}
