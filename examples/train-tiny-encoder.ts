// The main job until the Trainer lands: fine-tunes a tiny transformer encoder on a task generated
// here (no download): "does token 7 come before token 9?". Prints an epoch table like the
// Trainer's, so you can watch it learn.
import * as torch from "../src/torch/index.js";
import { AdamW, clipGradNorm, getScheduler } from "../src/optim/index.js";
import { TinyEncoder } from "./tiny_encoder.js";

const VOCAB = 32;
const LEN = 16;
const FIRST = 7;
const SECOND = 9;

/**
 * Rows of random tokens with FIRST and SECOND each placed once at random positions; the label says
 * whether FIRST comes before SECOND. Token 1 plays [CLS], 0 pads, lengths vary from LEN/2 to LEN.
 */
function makeSplit(n: number, seed: number): { ids: torch.Tensor; mask: torch.Tensor; labels: torch.Tensor } {
  torch.manualSeed(seed);
  return torch.tidy(() => {
    let ids = torch.randint(2, VOCAB - 2, [n, LEN]);
    ids = ids.add(ids.ge(FIRST).to("int64")).add(ids.ge(SECOND - 1).to("int64")); // skip both marks
    const lengths = torch.randint(LEN / 2, LEN + 1, [n, 1]);
    const positions = torch.arange(LEN).unsqueeze(0);
    const mask = positions.lt(lengths).to("int64");
    const span = lengths.sub(1).to("float32");
    const a = torch.rand([n, 1]).mul(span).floor().to("int64").add(1);
    let b = torch.rand([n, 1]).mul(span.sub(1)).floor().to("int64").add(1);
    b = b.add(b.ge(a).to("int64"));
    ids = torch.where(positions.eq(a), FIRST, ids);
    ids = torch.where(positions.eq(b), SECOND, ids);
    ids = torch.where(positions.eq(0), 1, ids).mul(mask);
    return { ids, mask, labels: a.lt(b).to("int64").squeeze(1) };
  });
}

function evaluate(model: TinyEncoder, d: ReturnType<typeof makeSplit>): { loss: number; accuracy: number } {
  model.eval();
  const r = torch.noGrad(() =>
    torch.tidy(() => {
      const { logits, loss } = model.forward(d.ids, d.mask, d.labels);
      return { loss: loss!.item(), accuracy: logits.argmax(-1).eq(d.labels).to("float32").mean().item() };
    }),
  );
  model.train();
  return r;
}

function main(): void {
  torch.configureThreads({ precision: "fp32" });
  const train = makeSplit(2048, 1);
  const valid = makeSplit(512, 2);
  torch.manualSeed(42);
  const model = new TinyEncoder({
    vocab_size: VOCAB, hidden_size: 64, num_layers: 2, num_heads: 4, intermediate_size: 128,
    max_positions: LEN, num_labels: 2, layer_norm_eps: 1e-12, pad_token_id: 0, dropout: 0.1,
  });
  const epochs = 6;
  const batch = 32;
  const stepsPerEpoch = Math.ceil(2048 / batch);
  const opt = new AdamW(model.parameters(), { lr: 2e-3, weightDecay: 0.01 });
  const sched = getScheduler("linear", opt, { numWarmupSteps: stepsPerEpoch / 2, numTrainingSteps: epochs * stepsPerEpoch });
  console.log(`Training a ${model.numParameters().toLocaleString()}-parameter encoder on "does token ${FIRST} come before token ${SECOND}?" (libtorch ${torch.torchVersion}, ${torch.getNumThreads()} ATen / ${torch.getBlasThreads()} OpenBLAS threads)`);
  console.log("| Epoch | Training Loss | Validation Loss | Accuracy |");
  console.log("|-------|---------------|-----------------|----------|");
  const started = Date.now();
  for (let epoch = 1; epoch <= epochs; epoch++) {
    const order = torch.randperm(2048);
    let sum = 0;
    for (let s = 0; s < stepsPerEpoch; s++) {
      opt.zeroGrad();
      sum += torch.tidy(() => {
        const idx = order.slice(0, s * batch, (s + 1) * batch);
        const { loss } = model.forward(train.ids.indexSelect(0, idx), train.mask.indexSelect(0, idx), train.labels.indexSelect(0, idx));
        loss!.backward();
        return loss!.item();
      });
      clipGradNorm(model.parameters(), 1.0);
      opt.step();
      sched.step();
    }
    order.dispose();
    const v = evaluate(model, valid);
    console.log(`| ${String(epoch).padEnd(5)} | ${(sum / stepsPerEpoch).toFixed(6).padEnd(13)} | ${v.loss.toFixed(6).padEnd(15)} | ${v.accuracy.toFixed(6).padEnd(8)} |`);
  }
  console.log(`train_runtime: ${((Date.now() - started) / 1000).toFixed(1)} s`);
}

main();
