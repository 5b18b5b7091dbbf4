// The KV cache of generation (transformers' cache_utils.py DynamicCache): what each attention layer has
// computed for the positions so far, so that each new token attends to them without recomputing them.
import * as torch from "../torch/index.js";
import type { Tensor } from "../torch/index.js";

/** HF's DynamicCache: each layer's keys and values so far ([b, kv_heads, seen, head_dim]), grown by concatenation. */
export class KvCache {
  readonly layers: ([Tensor, Tensor] | undefined)[] = [];
  /** How many positions are cached (HF's get_seq_length). */
  get length(): number {
    return this.layers[0]?.[0].shape[2] ?? 0;
  }
  update(layer: number, k: Tensor, v: Tensor): [Tensor, Tensor] {
    const past = this.layers[layer];
    const next: [Tensor, Tensor] = past ? [torch.cat([past[0], k], 2), torch.cat([past[1], v], 2)] : [k, v];
    torch.keep(next[0]);
    torch.keep(next[1]);
    if (past) torch.dispose(past);
    this.layers[layer] = next;
    return next;
  }
  /** Keeps only the given rows of the batch (beam or finished-sequence bookkeeping). */
  selectRows(rows: Tensor): void {
    this.layers.forEach((kv, i) => {
      if (!kv) return;
      const next: [Tensor, Tensor] = [torch.keep(kv[0].indexSelect(0, rows)), torch.keep(kv[1].indexSelect(0, rows))];
      torch.dispose(kv);
      this.layers[i] = next;
    });
  }
  dispose(): void {
    for (const kv of this.layers) if (kv) torch.dispose(kv);
    this.layers.length = 0;
  }
}
