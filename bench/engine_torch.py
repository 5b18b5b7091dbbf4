"""PyTorch's side of bench/engine.ts: the same work, timed the same way, printed as JSON.

Usage: python3 bench/engine_torch.py THREADS BLAS_THREADS DEVICE
"""
import ctypes
import json
import math
import sys
import time

import torch
import torch.nn.functional as F

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


class EncoderLayer(torch.nn.Module):
    def __init__(self, h=256, heads=4, ffn=1024):
        super().__init__()
        self.heads = heads
        self.query, self.key, self.value = torch.nn.Linear(h, h), torch.nn.Linear(h, h), torch.nn.Linear(h, h)
        self.attention_output = torch.nn.Linear(h, h)
        self.attention_norm = torch.nn.LayerNorm(h, eps=1e-12)
        self.intermediate, self.output = torch.nn.Linear(h, ffn), torch.nn.Linear(ffn, h)
        self.output_norm = torch.nn.LayerNorm(h, eps=1e-12)

    def split(self, x):
        b, l, h = x.shape
        return x.view(b, l, self.heads, h // self.heads).permute(0, 2, 1, 3)

    def forward(self, x, additive_mask):
        q, k, v = self.split(self.query(x)), self.split(self.key(x)), self.split(self.value(x))
        scores = q @ k.transpose(-2, -1) / math.sqrt(q.shape[-1]) + additive_mask
        ctx = scores.softmax(-1) @ v
        b, _, l, _ = ctx.shape
        x = self.attention_norm(self.attention_output(ctx.permute(0, 2, 1, 3).reshape(b, l, -1)) + x)
        return self.output_norm(self.output(F.gelu(self.intermediate(x))) + x)


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

enc = EncoderLayer().to(device)
xe = torch.randn(8, 128, 256, device=device)
mask = torch.zeros(8, 1, 1, 128, device=device)
for name, ac in [("encoder_step_fp32_ms", False), ("encoder_step_bf16_ms", True)]:
    results[name] = train_step_bench(enc, lambda: enc(xe, mask).float().pow(2).mean(), ac) * 1e3

results["torch_version"] = torch.__version__
print(json.dumps(results))
