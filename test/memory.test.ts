// 1,000 training steps inside tidy scopes leak nothing: the live-tensor count returns to where it
// was and the process RSS stays flat.
import "./hermetic.js";
import { test } from "node:test";
import assert from "node:assert/strict";
import * as torch from "../src/torch/index.js";
import { AdamW, clipGradNorm, getScheduler } from "../src/optim/index.js";
import { TinyEncoder } from "../examples/tiny_encoder.js";

test("1,000 steps of training: live tensors and RSS do not grow", () => {
  torch.manualSeed(0);
  const model = new TinyEncoder({
    vocab_size: 30,
    hidden_size: 16,
    num_layers: 1,
    num_heads: 2,
    intermediate_size: 32,
    max_positions: 8,
    num_labels: 2,
    layer_norm_eps: 1e-12,
    pad_token_id: 0,
    dropout: 0.1,
  });
  const opt = new AdamW(model.parameters(), { lr: 1e-3 });
  const sched = getScheduler("linear", opt, { numWarmupSteps: 10, numTrainingSteps: 1000 });
  const ids = torch.keep(torch.randint(1, 30, [4, 8]));
  const mask = torch.keep(torch.ones([4, 8], { dtype: "int64" }));
  const labels = torch.keep(torch.tensor([0, 1, 1, 0]));
  const step = () => {
    opt.zeroGrad();
    torch.tidy(() => model.forward(ids, mask, labels).loss!.backward());
    clipGradNorm(model.parameters(), 1.0);
    opt.step();
    sched.step();
  };
  for (let i = 0; i < 50; i++) step(); // optimizer state and allocator pools settle
  global.gc?.();
  const live = torch.liveTensors();
  const rss = process.memoryUsage().rss;
  for (let i = 0; i < 950; i++) step();
  global.gc?.();
  assert.equal(torch.liveTensors(), live, "live tensors after 1,000 steps");
  const grownMb = (process.memoryUsage().rss - rss) / 2 ** 20;
  assert.ok(grownMb < 16, `RSS grew ${grownMb.toFixed(1)} MiB over 950 steps`);
  opt.dispose();
  torch.dispose([ids, mask, labels, model.parameters()]);
});
