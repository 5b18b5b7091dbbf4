// What only a GPU can show: ops on "cuda" equal the CPU's, mixed precision with loss scaling, the
// fused attention kernels, the caching allocator's counters over a long run, out-of-memory errors,
// and checkpoints that cross devices. Skipped without CUDA (CI has none): scripts/gpu-check.sh runs
// it on a GPU machine, against the libtorch of that machine's PyTorch.
import { test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import * as torch from "../src/torch/index.js";
import type { Tensor } from "../src/torch/index.js";
import { AdamW, GradScaler } from "../src/optim/index.js";
import { AutoModelForCausalLM, AutoModelForSequenceClassification, BertModel, LlamaModel, type PreTrainedModel } from "../src/models/index.js";
import type { Json } from "../src/models/configuration_utils.js";
import { Trainer, TrainingArguments } from "../src/trainer/index.js";
import { BatchMaker } from "../src/trainer/batching.js";
import { assertClose } from "./helpers.js";
import { out, padCollator, quiet, runCourseGolden, silenced, tinyModel, toyDataset, zip } from "./trainer_helpers.js";

const skip = torch.cuda.isAvailable() ? false : "no CUDA device (this libtorch has no CUDA, or no GPU was found)";

/** One forward and backward of a batch of the toy task; returns the loss (the caller disposes). */
function lossOf(model: PreTrainedModel, batch: Record<string, Tensor>): Tensor {
  return model.forward(batch).loss!;
}
function toyBatch(device: string): Record<string, Tensor> {
  const rows = toyDataset(16, 3);
  const b = padCollator(rows.toList());
  const moved = Object.fromEntries(Object.entries(b).map(([k, t]) => [k, t.to(device)]));
  torch.dispose(Object.values(b));
  return moved;
}

test("ops on cuda equal the same ops on the CPU (float32, TF32 off)", { skip }, () => {
  assert.equal(torch.backends.cuda.matmul.allowTf32, false, "TF32 is off by default, as in PyTorch");
  torch.manualSeed(0);
  const a = torch.randn([4, 8, 16]);
  const b = torch.randn([4, 16, 8]);
  const w = torch.randn([16]);
  const bias = torch.randn([16]);
  const table = torch.randn([32, 16]);
  const ids = torch.randint(0, 32, [4, 8]);
  const target = torch.randint(0, 8, [4]);
  const mask = torch.rand([4, 1, 8, 8]).gt(0.3);
  const q = torch.randn([4, 2, 8, 8]);
  const cases: [string, (d: string) => Tensor][] = [
    ["matmul", (d) => a.to(d).matmul(b.to(d))],
    ["linear", (d) => torch.linear(a.to(d), table.to(d), null)],
    ["softmax", (d) => a.to(d).softmax(-1)],
    ["logSoftmax", (d) => a.to(d).logSoftmax(-1)],
    ["layerNorm", (d) => torch.layerNorm(a.to(d), [16], w.to(d), bias.to(d), 1e-12)],
    ["gelu", (d) => torch.gelu(a.to(d))],
    ["gelu tanh", (d) => torch.gelu(a.to(d), "tanh")],
    ["tanh, erf, exp", (d) => a.to(d).tanh().add(a.to(d).erf()).add(a.to(d).exp())],
    ["embedding", (d) => torch.embedding(ids.to(d), table.to(d))],
    ["crossEntropy", (d) => torch.crossEntropy(a.to(d).select(1, 0).narrow(-1, 0, 8), target.to(d))],
    ["sum, mean, var", (d) => a.to(d).sum(-1).add(a.to(d).mean(-1)).add(a.to(d).var(-1))],
    ["maskedFill", (d) => a.to(d).narrow(-1, 0, 8).maskedFill(mask.to(d).select(1, 0), -1e4)],
    ["sdpa with a mask", (d) => torch.scaledDotProductAttention(q.to(d), q.to(d).mul(0.5), q.to(d).add(1), { attnMask: mask.to(d) })],
    ["composed attention", (d) => torch.scaledDotProductAttention(q.to(d), q.to(d), q.to(d), { attnMask: mask.to(d), composed: true })],
  ];
  try {
    for (const [what, f] of cases) {
      torch.tidy(() => {
        const onGpu = f("cuda");
        assert.equal(onGpu.device, "cuda:0", what);
        assertClose(onGpu.cpu(), f("cpu"), { rtol: 1e-5, atol: 1e-5, what });
      });
    }
  } finally {
    torch.dispose([a, b, w, bias, table, ids, target, mask, q]);
  }
});

test("a training step on cuda equals the CPU's: loss, every gradient, AdamW's update (op-by-op and fused)", { skip }, () => {
  for (const fused of [false, true]) trainingStepMatches(fused);
});

function trainingStepMatches(fused: boolean): void {
  const run = (device: string) => {
    const model = tinyModel(0).to(device);
    const batch = toyBatch(device);
    const opt = new AdamW(model.parameters(), { lr: 1e-2, fused });
    const losses: number[] = [];
    for (let step = 0; step < 3; step++) {
      torch.tidy(() => {
        const loss = lossOf(model, batch);
        loss.backward();
        losses.push(loss.item());
      });
      if (step < 2) {
        opt.step();
        opt.zeroGrad();
      }
    }
    torch.dispose(Object.values(batch));
    return { model, losses };
  };
  const gpu = run("cuda");
  const cpu = run("cpu");
  const how = fused ? "fused" : "op-by-op";
  zip(gpu.losses, cpu.losses).forEach(([g, c], i) => assert.ok(Math.abs(g - c) <= 1e-5, `${how}: loss at step ${i + 1}: cuda ${g} vs cpu ${c}`));
  for (const [[name, p], [, q]] of zip([...gpu.model.namedParameters()], [...cpu.model.namedParameters()])) {
    assert.equal(p.device, "cuda:0");
    torch.tidy(() => {
      assertClose(p.cpu(), q, { rtol: 1e-4, atol: 1e-6, what: `${how}: ${name}` });
      if (p.grad && q.grad) assertClose(p.grad.cpu(), q.grad, { rtol: 1e-3, atol: 1e-6, what: `${how}: ${name}.grad` });
    });
  }
}

test("the Trainer's per-epoch shuffle leaves the CUDA generator alone (dropout on a GPU continues as in HF)", { skip }, async () => {
  // A CPU run (useCpu) with dropout: nothing in it may draw from or reseed the GPU's generator, so its
  // state after two epochs is the one the Trainer's manualSeed(seed) left.
  const t = new Trainer({
    model: tinyModel(0.1),
    args: new TrainingArguments({ outputDir: out(), numTrainEpochs: 2, perDeviceTrainBatchSize: 8, useCpu: true, saveStrategy: "no", ...quiet }),
    trainDataset: toyDataset(24, 1),
    dataCollator: padCollator,
  });
  torch.manualSeed(t.args.seed);
  const expected = torch.getRngState("cuda");
  await silenced(() => t.train());
  const after = torch.getRngState("cuda");
  try {
    assert.ok(
      torch.tidy(() => after.equal(expected)),
      "the CUDA generator was reseeded or drawn from by a CPU run",
    );
  } finally {
    torch.dispose([expected, after]);
  }
});

test("batches reach the GPU through pinned memory and a non-blocking copy (or a plain one), equal to the CPU's", { skip }, () => {
  const ds = toyDataset(16, 3);
  const rows = Int32Array.from([3, 0, 7, 5]);
  const columns = Object.keys(ds.features);
  const onCpu = new Map(Object.entries(new BatchMaker(padCollator, "cpu").collate(ds, rows, columns)));
  for (const pin of [true, false]) {
    const onGpu = new BatchMaker(padCollator, "cuda", pin).collate(ds, rows, columns);
    for (const [k, t] of Object.entries(onGpu)) {
      assert.equal(t.device, "cuda:0", `${k} on the GPU`);
      assert.ok(t.cpu().equal(onCpu.get(k)!), `${k} (pinMemory ${pin}) equals the CPU batch`);
    }
    torch.dispose(Object.values(onGpu));
  }
  const pinned = torch.ones([4]).pinMemory();
  assert.ok(pinned.isPinned() && !torch.ones([4]).isPinned());
});

test("fp16 autocast on cuda: matmuls in float16, softmax and losses in float32; bf16 likewise", { skip }, () => {
  torch.tidy(() => {
    const x = torch.randn([8, 16], { device: "cuda" });
    const w = torch.randn([4, 16], { device: "cuda" });
    for (const dtype of ["float16", "bfloat16"] as const) {
      torch.autocast({ deviceType: "cuda", dtype }, () => {
        const y = torch.linear(x, w);
        assert.equal(y.dtype, dtype, `linear under ${dtype} autocast`);
        assert.equal(y.softmax(-1).dtype, "float32", `softmax under ${dtype} autocast`);
        assertClose(y.float(), torch.linear(x.to(dtype), w.to(dtype)).float(), { rtol: 0, atol: 0, what: `${dtype} linear = linear of ${dtype} inputs` });
      });
      assert.equal(torch.linear(x, w).dtype, "float32", "outside autocast");
    }
  });
});

test("GradScaler on cuda: overflowing steps are skipped and halve the scale, growth after growthInterval good steps", { skip }, () => {
  const model = tinyModel(0).to("cuda");
  const batch = toyBatch("cuda");
  const opt = new AdamW(model.parameters(), { lr: 1e-3 });
  // 2^40 overflows float16 gradients at once: steps are skipped until the scale comes down.
  const scaler = new GradScaler({ initScale: 2 ** 40, growthInterval: 3 });
  const snapshot = () => [...model.parameters()].map((p) => p.detach().cpu());
  const scales: number[] = [];
  const stepped: boolean[] = [];
  try {
    for (let i = 0; i < 40; i++) {
      const before = snapshot();
      torch.tidy(() => {
        const loss = torch.autocast({ deviceType: "cuda", dtype: "float16" }, () => lossOf(model, batch));
        scaler.scaleLoss(loss).backward();
      });
      scales.push(scaler.scale);
      const did = scaler.step(opt);
      stepped.push(did);
      scaler.update();
      opt.zeroGrad();
      const after = snapshot();
      const unchanged = zip(before, after).every(([p, q]) => torch.tidy(() => p.equal(q)));
      assert.equal(unchanged, !did, `step ${i + 1}: parameters ${did ? "must move" : "must not move"} (scale ${scales[i]})`);
      torch.dispose([...before, ...after]);
    }
  } finally {
    torch.dispose(Object.values(batch));
  }
  const firstGood = stepped.indexOf(true);
  assert.ok(firstGood > 0, `the first steps overflow at scale 2^40 (stepped: ${stepped.join(",")})`);
  for (let i = 1; i < scales.length; i++) {
    // HF/torch's update rule: halve after a skip; double after growthInterval good steps in a row.
    let goodRun = 0;
    for (let j = i - 1; j >= 0 && stepped[j]; j--) goodRun++;
    const want = !stepped[i - 1] ? scales[i - 1] / 2 : goodRun > 0 && goodRun % 3 === 0 ? scales[i - 1] * 2 : scales[i - 1];
    assert.equal(scales[i], want, `scale before step ${i + 1}`);
  }
  assert.ok(
    scales.some((s, i) => i > 0 && s > scales[i - 1]),
    "the scale grew again after good steps",
  );
});

test("the Trainer in fp16 and bf16 on cuda learns the toy task as fp32 does", { skip }, async () => {
  const train = async (precision: "fp32" | "fp16" | "bf16") => {
    const t = new Trainer({
      model: tinyModel(0),
      args: new TrainingArguments({
        outputDir: out(),
        numTrainEpochs: 3,
        perDeviceTrainBatchSize: 16,
        learningRate: 5e-3,
        saveStrategy: "no",
        loggingSteps: 1,
        fp16: precision === "fp16",
        bf16: precision === "bf16",
        ...quiet,
      }),
      trainDataset: toyDataset(96, 1),
      dataCollator: padCollator,
    });
    const r = await silenced(() => t.train());
    assert.equal([...t.model.parameters()][0].device, "cuda:0", `${precision} trains on the GPU`);
    return { r, losses: t.state.log_history.filter((e) => "loss" in e).map((e) => e.loss) };
  };
  const fp32 = await train("fp32");
  for (const p of ["fp16", "bf16"] as const) {
    const low = await train(p);
    assert.equal(low.losses.length, fp32.losses.length);
    low.losses.forEach((l, i) =>
      assert.ok(Number.isFinite(l) && Math.abs(l - fp32.losses[i]) <= 5e-2, `${p} loss at step ${i + 1}: ${l} vs fp32 ${fp32.losses[i]}`),
    );
  }
});

test("SDPA through the flash and memory-efficient kernels equals the composed attention", { skip }, () => {
  const saved = [torch.backends.cuda.flashSdpEnabled(), torch.backends.cuda.memEfficientSdpEnabled(), torch.backends.cuda.mathSdpEnabled()] as const;
  const only = (flash: boolean, memEfficient: boolean, math: boolean) => {
    torch.backends.cuda.enableFlashSdp(flash);
    torch.backends.cuda.enableMemEfficientSdp(memEfficient);
    torch.backends.cuda.enableMathSdp(math);
  };
  try {
    torch.tidy(() => {
      torch.manualSeed(1);
      const [q, k, v] = [0, 1, 2].map(() => torch.randn([2, 4, 128, 64], { device: "cuda" }));
      const reference = torch.scaledDotProductAttention(q, k, v, { composed: true });
      only(true, false, false);
      assert.deepEqual(
        [torch.backends.cuda.flashSdpEnabled(), torch.backends.cuda.memEfficientSdpEnabled(), torch.backends.cuda.mathSdpEnabled()],
        [true, false, false],
      );
      const flash = torch.scaledDotProductAttention(q.half(), k.half(), v.half());
      assertClose(flash.float(), reference, { rtol: 1e-2, atol: 2e-3, what: "flash (float16)" });
      // Flash has no float32 kernel: with it alone, float32 must fail rather than fall back quietly.
      assert.throws(() => torch.scaledDotProductAttention(q, k, v), /kernel|backend/i);
      only(false, true, false);
      const mask = torch.randn([2, 1, 128, 128], { device: "cuda" });
      const efficient = torch.scaledDotProductAttention(q, k, v, { attnMask: mask });
      assertClose(efficient, torch.scaledDotProductAttention(q, k, v, { attnMask: mask, composed: true }), {
        rtol: 1e-4,
        atol: 1e-5,
        what: "memory-efficient (float32, additive mask)",
      });
    });
  } finally {
    only(...saved);
  }
});

test("the caching allocator's counters: exact for one tensor, flat over 1,000 training steps", { skip }, () => {
  const base = torch.cuda.memoryAllocated();
  const mib = torch.empty([256 * 1024], { device: "cuda" });
  assert.equal(torch.cuda.memoryAllocated() - base, 1 << 20, "one MiB of float32");
  mib.dispose();
  assert.equal(torch.cuda.memoryAllocated(), base);

  const model = tinyModel(0).to("cuda");
  const batch = toyBatch("cuda");
  const opt = new AdamW(model.parameters(), { lr: 1e-3 });
  const step = () => {
    torch.tidy(() => lossOf(model, batch).backward());
    opt.step();
    opt.zeroGrad();
  };
  try {
    for (let i = 0; i < 10; i++) step();
    torch.cuda.synchronize();
    const settled = torch.cuda.memoryAllocated();
    const handles = torch.liveTensors();
    torch.cuda.resetPeakMemoryStats();
    assert.equal(torch.cuda.maxMemoryAllocated(), settled, "the peak starts again from what is allocated");
    for (let i = 0; i < 990; i++) step();
    torch.cuda.synchronize();
    assert.equal(torch.cuda.memoryAllocated(), settled, "bytes allocated after 1,000 steps = after 10");
    assert.equal(torch.liveTensors(), handles, "live tensors after 1,000 steps = after 10");
    assert.ok(torch.cuda.maxMemoryAllocated() > settled, "a step's activations raise the peak");
    assert.ok(torch.cuda.memoryReserved() >= torch.cuda.memoryAllocated());
  } finally {
    torch.dispose(Object.values(batch));
  }
});

test("CUDA out of memory is a JS error that says what to change, and the GPU stays usable", { skip }, () => {
  // 2^42 float32 elements = 16 TiB: more than any GPU has.
  assert.throws(
    () => torch.empty([1 << 21, 1 << 21], { device: "cuda" }),
    (e: Error) => /out of memory/i.test(e.message) && /perDeviceTrainBatchSize/.test(e.message) && /gradientAccumulationSteps/.test(e.message),
  );
  torch.tidy(() => assert.equal(torch.ones([4], { device: "cuda" }).sum().item(), 4));
});

test("a checkpoint saved from cuda loads on the CPU and back: weights exact, resumed runs equal", { skip }, async () => {
  const args = (dir: string, o: Partial<ConstructorParameters<typeof TrainingArguments>[0]> = {}) =>
    new TrainingArguments({ outputDir: dir, maxSteps: 6, perDeviceTrainBatchSize: 8, learningRate: 5e-3, saveSteps: 3, loggingSteps: 1, ...quiet, ...o });
  const ds = toyDataset(48, 2);
  const dir = out();
  const full = new Trainer({ model: tinyModel(0), args: args(dir), trainDataset: ds, dataCollator: padCollator });
  await silenced(() => full.train());
  const ckpt = join(dir, "checkpoint-3");
  assert.ok(existsSync(join(ckpt, "model.safetensors")));

  const onCpu = await AutoModelForSequenceClassification.fromPretrained(ckpt);
  const back = (await AutoModelForSequenceClassification.fromPretrained(ckpt)).to("cuda");
  for (const [[name, p], [, q]] of zip([...onCpu.namedParameters()], [...back.namedParameters()])) {
    assert.equal(p.device, "cpu");
    assert.equal(q.device, "cuda:0");
    torch.tidy(() => assert.ok(p.equal(q.cpu()), `${name} round trip cuda → file → cpu → cuda`));
  }

  // A resumed run's history starts with the checkpoint's (steps 1–3), as HF's does.
  const losses = (t: Trainer, after = 0) => t.state.log_history.filter((e) => "loss" in e && (e.step as number) > after).map((e) => e.loss);
  for (const useCpu of [true, false]) {
    const resumed = new Trainer({ model: tinyModel(0), args: args(out(), { useCpu }), trainDataset: ds, dataCollator: padCollator });
    await silenced(() => resumed.train({ resumeFromCheckpoint: ckpt }));
    assert.equal([...resumed.model.parameters()][0].device, useCpu ? "cpu" : "cuda:0");
    const want = losses(full, 3);
    assert.equal(losses(resumed, 3).length, 3);
    losses(resumed, 3).forEach((l, i) => assert.ok(Math.abs(l - want[i]) <= 1e-4, `${useCpu ? "cpu" : "cuda"} resume, step ${i + 4}: ${l} vs ${want[i]}`));
  }
});

// The course's run on the GPU against a plain PyTorch loop on the same GPU: the golden file is made on
// that machine by scripts/golden/trainer_mrpc.py --device cuda (scripts/gpu-check.sh does both).
const courseGolden = process.env.FINETUNE_CUDA_COURSE_GOLDEN;
test(
  "the course's loop on MRPC on cuda equals plain PyTorch on the same GPU (TF32 off, dropout 0) within 1e-3",
  { skip: skip || (courseGolden && existsSync(courseGolden) ? false : "FINETUNE_CUDA_COURSE_GOLDEN is not set (scripts/gpu-check.sh makes it)") },
  async (t) => {
    const golden = JSON.parse(readFileSync(courseGolden!, "utf8"));
    assert.equal(golden.device, "cuda");
    t.diagnostic(await runCourseGolden(golden, { device: "cuda", tolerance: 1e-3 }));
  },
);

test(
  "on cuda the real tokens' rows where no dropout draws: a training step with dropout keeps the padded batch, evaluation and a dropout-free decoder take the rows",
  { skip },
  () => {
    const lengths = [9, 4, 6];
    const ids = torch
      .tensor(
        lengths.map((n, r) => Array.from({ length: 9 }, (_, i) => (i < n ? 2 + ((r * 5 + i * 3) % 40) : 0))),
        { dtype: "int64" },
      )
      .to("cuda");
    const mask = torch
      .tensor(
        lengths.map((n) => Array.from({ length: 9 }, (_, i) => (i < n ? 1 : 0))),
        { dtype: "int64" },
      )
      .to("cuda");
    const lmLabels = ids.maskedFill(mask.eq(0), -100);
    const cases: [string, Json, Record<string, Tensor>][] = [
      [
        "bert",
        {
          model_type: "bert",
          vocab_size: 50,
          hidden_size: 32,
          num_hidden_layers: 2,
          num_attention_heads: 4,
          intermediate_size: 48,
          max_position_embeddings: 16,
        },
        { input_ids: ids, attention_mask: mask, labels: torch.tensor([0, 1, 1], { dtype: "int64" }).to("cuda") },
      ],
      [
        "llama",
        {
          model_type: "llama",
          vocab_size: 50,
          hidden_size: 32,
          intermediate_size: 48,
          num_hidden_layers: 2,
          num_attention_heads: 4,
          num_key_value_heads: 2,
          max_position_embeddings: 16,
        },
        { input_ids: ids, attention_mask: mask, labels: lmLabels },
      ],
    ];
    for (const [name, config, inputs] of cases) {
      torch.manualSeed(0);
      const model = (name === "bert" ? AutoModelForSequenceClassification : AutoModelForCausalLM).fromConfig(config);
      model.to({ device: "cuda" });
      const switches = [...model.namedModules()]
        .map(([, m]) => m)
        .filter((m): m is BertModel | LlamaModel => m instanceof BertModel || m instanceof LlamaModel);
      const run = (unpad: boolean, train: boolean) => {
        for (const m of switches) m.unpadTokens = unpad;
        model.train(train);
        model.zeroGrad();
        torch.manualSeed(3);
        return torch.tidy(() => {
          const loss = model.forward(inputs).loss!;
          loss.backward();
          return { loss: loss.item(), grads: [...model.parameters()].filter((p) => p.grad).map((p) => p.grad!.cpu()) };
        });
      };
      for (const train of [true, false]) {
        const padded = run(false, train);
        const rows = run(true, train);
        // BERT in training draws dropout (CUDA's fused kernel): the padded batch both times, bit for bit.
        if (name === "bert" && train) assert.equal(rows.loss, padded.loss, `${name}: the padded batch in training`);
        else assert.ok(Math.abs(rows.loss - padded.loss) <= 1e-5, `${name} train=${train}: loss ${rows.loss} vs ${padded.loss}`);
        padded.grads.forEach((g, i) => assertClose(rows.grads[i], g, { rtol: 1e-4, atol: 1e-5, what: `${name} train=${train}: gradient ${i}` }));
      }
    }
  },
);
