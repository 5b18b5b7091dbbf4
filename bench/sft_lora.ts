// `npm run bench:sft`: supervised fine-tuning of SmolLM2-135M's config (random weights) with SFTTrainer on
// chat data (../shared/data/sft/llama-factory/kto_en_demo.json's conversations, through a ChatML
// template), bf16 autocast: a full fine-tune, LoRA r 16 on every linear layer, LoRA + gradient
// checkpointing, and LoRA + packing — tokens/s (real tokens, as TRL's num_tokens counts them), the
// optimizer's state bytes and peak RSS, each variant in a process of its own; and the LoRA variant
// against a plain PyTorch LoRA loop (PEFT's math on the reference Llama of scripts/golden/decoders.py,
// python3-torch on the same libtorch, its malloc tuned) over the very same padded batches, each side
// at its best ATen/OpenBLAS split. Timed from the first step.
// SmolLM2's tokenizer is not available offline: GPT-2's (50,257 tokens against SmolLM2's 49,152) stands in.
// Env: BENCH_STEPS (4), BENCH_BATCH (4), BENCH_MAX_LENGTH (256), BENCH_THREADS ("2/1,1/2"), BENCH_PRECISION (bf16 | fp32),
// BENCH_UNPAD (0: the decoder on every padded position). `node dist/bench/sft_lora.js <variant> <threads> <blas> -` runs one variant.
import { execFileSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import * as torch from "../src/torch/index.js";
import { Dataset } from "../src/datasets/index.js";
import { AutoModelForCausalLM, LlamaModel } from "../src/models/index.js";
import { AutoTokenizer } from "../src/tokenizers/index.js";
import { LoraConfig } from "../src/peft/index.js";
import { DataCollatorForLanguageModeling, SFTConfig, SFTTrainer } from "../src/trl/index.js";
import { TrainerCallback } from "../src/trainer/index.js";
import type { Batch, Features } from "../src/trainer/data_collator.js";
import { cleanEnv, peerEnv } from "./peer_env.js";
import { SMOLLM2_135M } from "./smollm2.js";

const here = dirname(fileURLToPath(import.meta.url));
const repo = join(here, "..", "..");
const shared = join(repo, "..", "shared", "data");
const steps = Number(process.env.BENCH_STEPS ?? 4);
const batch = Number(process.env.BENCH_BATCH ?? 4);
const maxLength = Number(process.env.BENCH_MAX_LENGTH ?? 256);
const precision = process.env.BENCH_PRECISION === "fp32" ? "fp32" : "bf16";
const splits = (process.env.BENCH_THREADS ?? "2/1,1/2").split(",").map((c) => c.split("/").map(Number) as [number, number]);

// GPT-2's tokenizer stands in for SmolLM2's: its 50,257 tokens for SmolLM2's 49,152.
const CONFIG = { ...SMOLLM2_135M, vocab_size: 50257 };
// SmolLM2-Instruct's template is ChatML.
const CHATML =
  "{%- for message in messages %}{{ '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>\\n' }}{%- endfor %}{%- if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{%- endif %}";

type Variant = "full" | "lora" | "lora_gc" | "lora_packing";
const VARIANTS: Variant[] = ["full", "lora", "lora_gc", "lora_packing"];
interface Result {
  tokens_per_s: number;
  tokens: number;
  seconds: number;
  trainable: number;
  optimizer_state_bytes: number;
  peak_rss_mb: number;
}

/** One variant, in this process: SFTTrainer for `steps` steps; the padded batches go to `batchesFile` for the peer. */
async function runVariant(variant: Variant, threads: number, blas: number, batchesFile: string | null): Promise<Result> {
  torch.setNumThreads(threads);
  torch.setBlasThreads(blas);
  const dir = mkdtempSync(join(tmpdir(), "ft-bench-sft-"));
  const templateFile = join(dir, "chatml.jinja");
  writeFileSync(templateFile, CHATML);
  const tokenizer = await AutoTokenizer.fromPretrained(join(shared, "models", "gpt2-tokenizer"));
  const chats = (JSON.parse(readFileSync(join(shared, "sft", "llama-factory", "kto_en_demo.json"), "utf8")) as { messages: unknown }[]).map((c) => ({
    messages: c.messages,
  }));
  torch.manualSeed(0);
  const model = AutoModelForCausalLM.fromConfig(CONFIG);
  // BENCH_UNPAD=0: the decoder on every padded position (the "padded" column).
  if (process.env.BENCH_UNPAD === "0") for (const [, m] of model.namedModules()) if (m instanceof LlamaModel) m.unpadTokens = false;
  const lora = variant !== "full";
  const args = new SFTConfig({
    outputDir: join(dir, "out"),
    maxSteps: steps,
    perDeviceTrainBatchSize: batch,
    maxLength,
    packing: variant === "lora_packing",
    gradientCheckpointing: variant === "lora_gc",
    bf16: precision === "bf16",
    learningRate: 2e-4,
    loggingSteps: 1,
    saveStrategy: "no",
    disableTqdm: true,
    logLevel: "error",
    chatTemplatePath: templateFile,
    torchThreads: threads,
    blasThreads: blas,
  });
  const batches: Record<string, unknown>[] = [];
  // The LoRA run's batches, as the Trainer collated them, for the peer to train on.
  const collator = new DataCollatorForLanguageModeling({ padTokenId: tokenizer.eosTokenId! });
  const recording = (features: Features[]): Batch => {
    const b = collator(features);
    batches.push(Object.fromEntries(Object.entries(b).map(([k, t]) => [k, t.toArray()])));
    return b;
  };
  const trainer = new SFTTrainer({
    model,
    args,
    trainDataset: Dataset.fromList(chats),
    processingClass: tokenizer,
    peftConfig: lora ? new LoraConfig({ r: 16, loraAlpha: 32, targetModules: "all-linear", taskType: "CAUSAL_LM" }) : undefined,
    dataCollator: batchesFile ? recording : undefined,
  });
  await trainer.prepareDatasets();
  let first = 0;
  class Clock extends TrainerCallback {
    override onStepBegin(): void {
      if (!first) first = performance.now();
    }
  }
  trainer.addCallback(new Clock());
  const t0 = performance.now();
  await trainer.train();
  const end = performance.now();
  const seconds = (end - (first || t0)) / 1000;
  const tokens = trainer.state.log_history.filter((l) => "num_tokens" in l).at(-1)!.num_tokens;
  let stateBytes = 0;
  for (const s of trainer.optimizer!.state.values())
    for (const v of Object.values(s)) if (v instanceof torch.Tensor) stateBytes += v.numel() * torch.elementBytes(v.dtype);
  if (batchesFile) writeFileSync(batchesFile, JSON.stringify(batches));
  return {
    tokens_per_s: tokens / seconds,
    tokens,
    seconds,
    trainable: trainer.model.numParameters({ onlyTrainable: true }),
    optimizer_state_bytes: stateBytes,
    peak_rss_mb: process.resourceUsage().maxRSS / 1024,
  };
}

const py = [process.env.PYTHON, "/usr/bin/python3", "python3"].find((p) => p) as string;
const child = process.argv[2];
if (child) {
  const [variant, threads, blas, batchesFile] = process.argv.slice(2);
  const r = await runVariant(variant as Variant, Number(threads), Number(blas), batchesFile === "-" ? null : batchesFile);
  console.log(JSON.stringify(r));
} else {
  if (!existsSync(join(shared, "sft"))) throw new Error(`${shared}/sft is absent: the bench trains on its chat data`);
  const self = fileURLToPath(import.meta.url);
  const batchesFile = join(mkdtempSync(join(tmpdir(), "ft-bench-sft-batches-")), "batches.json");
  const mine = (variant: Variant, threads: number, blas: number, file: string | null): Result =>
    JSON.parse(
      execFileSync(process.execPath, [self, variant, String(threads), String(blas), file ?? "-"], { env: cleanEnv, maxBuffer: 1 << 24 })
        .toString()
        .trim()
        .split("\n")
        .pop()!,
    ) as Result;
  const peer = (threads: number, blas: number): Result & { torch_version: string } =>
    JSON.parse(
      execFileSync(py, [join(repo, "bench", "sft_lora_torch.py"), String(threads), String(blas), batchesFile, precision], { env: peerEnv, maxBuffer: 1 << 24 })
        .toString()
        .trim()
        .split("\n")
        .pop()!,
    ) as Result & { torch_version: string };
  const best = <T extends Result>(runs: [string, T][]): [string, T] => runs.reduce((a, b) => (b[1].tokens_per_s > a[1].tokens_per_s ? b : a));

  const table: [Variant, string, Result][] = [];
  for (const v of VARIANTS) {
    const runs = splits.map(([t, b]) => [`${t}/${b}`, mine(v, t, b, v === "lora" ? batchesFile : null)] as [string, Result]);
    const [split, r] = best(runs);
    table.push([v, split, r]);
  }
  const [peerSplit, p] = best(splits.map(([t, b]) => [`${t}/${b}`, peer(t, b)] as [string, Result & { torch_version: string }]));
  const lora = table.find(([v]) => v === "lora")!;
  const mb = (n: number) => (n / 2 ** 20).toFixed(1);
  console.log(
    `SmolLM2-135M config (random weights, GPT-2's tokenizer), SFTTrainer on ${batch} × ≤${maxLength}-token chat rows, ${precision}, ${steps} steps timed from the first; libtorch ${torch.torchVersion}`,
  );
  console.log("| variant | trainable params | tokens/s (split) | optimizer state | peak RSS |");
  console.log("|---|---|---|---|---|");
  for (const [v, split, r] of table)
    console.log(
      `| ${v} | ${r.trainable.toLocaleString("en-US")} | ${r.tokens_per_s.toFixed(1)} (${split}) | ${mb(r.optimizer_state_bytes)} MiB | ${r.peak_rss_mb.toFixed(0)} MB |`,
    );
  console.log(
    `\nLoRA r 16 on the same padded batches: finetune-ts ${lora[2].tokens_per_s.toFixed(1)} tokens/s (${lora[1]}) vs a plain PyTorch ${p.torch_version} loop ${p.tokens_per_s.toFixed(1)} tokens/s (${peerSplit}, peak RSS ${p.peak_rss_mb.toFixed(0)} MB): ${(lora[2].tokens_per_s / p.tokens_per_s).toFixed(2)}×`,
  );
}
