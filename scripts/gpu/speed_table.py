"""Prints the GPU speed bench's table from the JSON files bench/gpu_speed.ts and scripts/gpu/hf_speed.py
wrote (speed_<impl>_<precision>.json in DIR): samples/s after warm-up and its ratio to transformers'
Trainer and to the plain loop, MFU (HF's total_flos formula over the steady step time, against the
GPU's dense 16-bit peak), the whole run's wall time from launch, and the last eval loss.

  python3 scripts/gpu/speed_table.py DIR
"""
import json
import os
import sys

# Dense bf16/fp16 tensor-core peaks (vendor datasheets, SXM parts), FLOP/s.
PEAKS = {"H100": 989.4e12, "H200": 989.4e12, "A100": 312e12}


def main():
    d = sys.argv[1]
    runs = {}
    for impl in ("hf", "loop", "ours"):
        for precision in ("bf16", "fp16"):
            path = os.path.join(d, f"speed_{impl}_{precision}.json")
            if os.path.exists(path):
                with open(path) as f:
                    runs[(impl, precision)] = json.load(f)
    if not runs:
        raise SystemExit(f"no speed_*.json in {d}")
    device = next((r["device"] for r in runs.values() if r.get("device") not in (None, "cuda", "cpu")), "")
    peak = next((v for k, v in PEAKS.items() if k in device), None)
    print(f"bert-base on MRPC, batch 32, dynamic padding, eval each epoch — {device or 'GPU'}"
          f"{f', peak {peak / 1e12:.0f} TFLOP/s' if peak else ''}")
    print(f"{'run':<28} {'samples/s':>10} {'vs HF':>7} {'vs loop':>8} {'MFU':>6} {'wall s':>7} {'last eval loss':>15}")
    for precision in ("bf16", "fp16"):
        hf, loop = runs.get(("hf", precision)), runs.get(("loop", precision))
        for impl, name in (("hf", "transformers Trainer"), ("loop", "PyTorch loop"), ("ours", "finetune-ts Trainer")):
            r = runs.get((impl, precision))
            if not r:
                continue
            sps = r.get("samples_per_second")
            ratio = lambda other: f"{sps / other['samples_per_second']:.2f}x" if sps and other and other.get("samples_per_second") else "-"  # noqa: E731
            flos_per_sample = r["total_flos"] / (r["global_step"] * r["batch"]) if r.get("global_step") else None
            mfu = f"{sps * flos_per_sample / peak:.1%}" if peak and sps and flos_per_sample else "-"
            last = r["eval_losses"][-1] if r.get("eval_losses") else float("nan")
            print(f"{name + ' ' + precision:<28} {sps or 0:>10.1f} {ratio(hf):>7} {ratio(loop):>8} {mfu:>6} {r['wall_seconds']:>7.1f} {last:>15.4f}")


if __name__ == "__main__":
    main()
