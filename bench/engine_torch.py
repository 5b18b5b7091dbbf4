"""PyTorch's side of bench/engine.ts: the same work, timed the same way, printed as JSON.

Usage: python3 bench/engine_torch.py THREADS BLAS_THREADS DEVICE
"""
import ctypes
import json
import os
import sys
import time

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "scripts", "golden"))
from tiny_encoder import Layer as EncoderLayer  # noqa: E402  (the golden tests' layer, same math as ours)

threads, blas_threads, device = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
torch.set_num_threads(threads)
try:
    ctypes.CDLL("libopenblas.so.0").openblas_set_num_threads(blas_threads)
except OSError:
    pass


def sync():
    if device.startswith("cuda"):
        torch.cuda.synchronize()


def timeit(fn, min_time=1.0, warmup=3):
    for _ in range(warmup):
        fn()
    sync()
    n, start = 0, time.perf_counter()
    while True:
        fn()
        n += 1
        if n % 5 == 0 or n > 2:
            sync()
            elapsed = time.perf_counter() - start
            if elapsed >= min_time:
                return elapsed / n


results = {}

a, b = torch.ones(1, device=device), torch.ones(1, device=device)
N = 20000
results["op_call_us"] = timeit(lambda: [a + b for _ in range(N)], 1.0, 1) / N * 1e6

for dtype, name in [(torch.float32, "fp32"), (torch.bfloat16, "bf16")]:
    n = 1024
    x, y = torch.randn(n, n, device=device, dtype=dtype), torch.randn(n, n, device=device, dtype=dtype)
    results[f"matmul_{name}_gflops"] = 2 * n**3 / timeit(lambda: x @ y) / 1e9


class MLP(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.l1, self.l2, self.l3 = torch.nn.Linear(512, 1024), torch.nn.Linear(1024, 1024), torch.nn.Linear(1024, 10)

    def forward(self, x):
        return self.l3(F.gelu(self.l2(F.gelu(self.l1(x)))))


def train_step_bench(model, make_loss, autocast):
    opt = torch.optim.AdamW(model.parameters(), lr=1e-4)

    def step():
        opt.zero_grad(set_to_none=True)
        with torch.autocast(device_type=device.split(":")[0], dtype=torch.bfloat16, enabled=autocast):
            loss = make_loss()
        loss.backward()
        opt.step()

    return timeit(step, 2.0)


torch.manual_seed(0)
mlp = MLP().to(device)
xm, ym = torch.randn(64, 512, device=device), torch.randint(0, 10, (64,), device=device)
results["mlp_step_ms"] = train_step_bench(mlp, lambda: F.cross_entropy(mlp(xm), ym), False) * 1e3

enc = EncoderLayer(dict(hidden_size=256, num_heads=4, intermediate_size=1024, layer_norm_eps=1e-12)).to(device)
xe = torch.randn(8, 128, 256, device=device)
mask = torch.zeros(8, 1, 1, 128, device=device)
for name, ac in [("encoder_step_fp32_ms", False), ("encoder_step_bf16_ms", True)]:
    results[name] = train_step_bench(enc, lambda: enc(xe, mask).float().pow(2).mean(), ac) * 1e3

results["torch_version"] = torch.__version__
print(json.dumps(results))
