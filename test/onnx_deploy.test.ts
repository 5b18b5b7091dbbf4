// The way to the browser, end to end on MRPC: examples/deploy-browser fine-tunes a small BERT and
// exports it; onnxruntime-node on the files gives our libtorch logits on all 408 validation pairs;
// transformers.js loads the folder and agrees with our pipeline; and in headless Chromium the
// example's page, served with transformers.js and onnxruntime-web from node_modules, classifies its
// two pairs as our pipeline does (a screenshot is kept in test-artifacts/).
import { before, test } from "node:test";
import assert from "node:assert/strict";
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { AutoTokenizer, type PreTrainedModel, type PreTrainedTokenizer } from "../src/index.js";
import { loadDataset } from "../src/datasets/index.js";
import { TextClassificationPipeline } from "../src/pipelines/index.js";
import { exportOnnx } from "../src/export/index.js";
import * as torch from "../src/torch/index.js";
import { trainAndExport } from "../examples/deploy-browser/train.js";
import { serveDeploy } from "../examples/deploy-browser/serve.js";
import { repoRoot, withEnv, needs } from "./helpers.js";

import type { Tensor as TjsTensor } from "@huggingface/transformers";

// Dev dependencies: where only the production packages are installed (the GPU machine's pack), skip.
const [ortModule, tjsModule, puppeteerModule] = await Promise.all(
  [import("onnxruntime-node"), import("@huggingface/transformers"), import("puppeteer-core")].map((p) => p.catch(() => undefined)),
);
const ort = (ortModule ?? {}) as typeof import("onnxruntime-node");
const tjs = (tjsModule ?? {}) as typeof import("@huggingface/transformers");
const puppeteer = ((puppeteerModule ?? {}) as typeof import("puppeteer-core")).default;
const shared = join(repoRoot, "..", "shared", "data");
const noShared =
  needs(
    "onnxruntime",
    !!ortModule && !!tjsModule && !!puppeteerModule,
    "onnxruntime-node, @huggingface/transformers or puppeteer-core is not installed (dev dependencies: npm ci)",
  ) || needs("shared", existsSync(join(shared, "hf-home")), "../shared/data is absent");
const chromium = process.env.CHROMIUM ?? "/usr/bin/chromium";
const noBrowser =
  noShared || (existsSync(chromium) ? false : `no Chromium at ${chromium} (scripts/setup.sh installs Debian's chromium; CHROMIUM=path overrides)`);

let trained: { dir: string; model: PreTrainedModel; tokenizer: PreTrainedTokenizer };
let pairs: { text: string; textPair: string }[];
const root = mkdtempSync(join(tmpdir(), "ft-deploy-"));
const hubEnv = { HF_HOME: join(shared, "hf-home"), HF_HUB_OFFLINE: "1", HF_DATASETS_CACHE: join(root, "datasets") };

before(async () => {
  if (noShared) return;
  await withEnv({ ...hubEnv, EPOCHS: "3", MAX_STEPS: undefined, CHECKPOINT: undefined }, async () => {
    trained = await trainAndExport(join(root, "models"));
    const validation = (await loadDataset("glue", "mrpc")).validation;
    pairs = validation.column("sentence1").map((text, i) => ({ text, textPair: validation.column("sentence2")[i] }));
  });
});

/** Our libtorch logits for pairs, in batches of 32 padded to their longest. */
function ourLogits(p: { text: string; textPair: string }[]): number[][] {
  const out: number[][] = [];
  trained.model.eval();
  for (let s = 0; s < p.length; s += 32) {
    const part = p.slice(s, s + 32);
    out.push(
      ...torch.noGrad(() =>
        torch.tidy(() => {
          const enc = trained.tokenizer(
            part.map((x) => x.text),
            part.map((x) => x.textPair),
            { truncation: true, padding: true, returnTensors: "pt" },
          );
          return trained.model
            .forward({ input_ids: enc.input_ids, attention_mask: enc.attention_mask, token_type_ids: enc.token_type_ids })
            .logits!.toArray() as number[][];
        }),
      ),
    );
  }
  return out;
}

/** onnxruntime's logits, in batches of `size` padded to their longest (q8's activation ranges depend on the batch). */
async function ortLogits(file: string, p: { text: string; textPair: string }[], size = 32): Promise<number[][]> {
  const session = await ort.InferenceSession.create(readFileSync(file), { graphOptimizationLevel: "all" });
  const out: number[][] = [];
  for (let s = 0; s < p.length; s += size) {
    const part = p.slice(s, s + size);
    const enc = trained.tokenizer(
      part.map((x) => x.text),
      part.map((x) => x.textPair),
      { truncation: true, padding: true },
    );
    const t = (rows: number[][]) =>
      new ort.Tensor(
        "int64",
        BigInt64Array.from(rows.flat(), (v) => BigInt(v)),
        [rows.length, rows[0].length],
      );
    const r = await session.run({ input_ids: t(enc.input_ids), attention_mask: t(enc.attention_mask), token_type_ids: t(enc.token_type_ids!) });
    const data = Array.from(r.logits.data as Float32Array);
    for (let i = 0; i < part.length; i++) out.push(data.slice(2 * i, 2 * i + 2));
  }
  return out;
}

const argmax = (row: number[]) => row.indexOf(Math.max(...row));
const softmax = (row: number[]) => {
  const e = row.map((v) => Math.exp(v - Math.max(...row)));
  const sum = e.reduce((a, b) => a + b, 0);
  return e.map((v) => v / sum);
};

test(
  "MRPC validation (408 pairs): onnxruntime on model.onnx = our logits within 1e-4, fp16 within 1e-2, q8 the same prediction for ≥ 99%",
  { skip: noShared },
  async (t) => {
    const want = ourLogits(pairs);
    const worst = (got: number[][]) => Math.max(...got.flatMap((row, i) => row.map((v, j) => Math.abs(v - want[i][j]))));
    const fp32 = await ortLogits(join(trained.dir, "onnx", "model.onnx"), pairs);
    const fp16 = await ortLogits(join(trained.dir, "onnx", "model_fp16.onnx"), pairs);
    const q8 = await ortLogits(join(trained.dir, "onnx", "model_quantized.onnx"), pairs);
    assert.ok(worst(fp32) <= 1e-4, `fp32: ${worst(fp32)}`);
    assert.ok(worst(fp16) <= 1e-2, `fp16: ${worst(fp16)}`);
    const same = q8.filter((row, i) => argmax(row) === argmax(want[i])).length;
    assert.ok(same / pairs.length >= 0.99, `q8 agrees on ${same} of ${pairs.length}`);
    // The trained model must not be a constant: otherwise "same prediction" would be empty praise.
    const predicted = new Set(want.map(argmax));
    assert.equal(predicted.size, 2, "the fine-tuned model predicts both labels on the validation set");
    t.diagnostic(
      `max |Δlogit| fp32 ${worst(fp32).toExponential(2)}, fp16 ${worst(fp16).toExponential(2)}, q8 ${worst(q8).toExponential(2)}; q8 same prediction ${same}/${pairs.length}`,
    );
  },
);

test(
  "transformers.js loads the exported folder: pipeline('text-classification') = our pipeline (fp32 within 1e-4; q8 as onnxruntime runs the file)",
  { skip: noShared },
  async () => {
    tjs.env.allowRemoteModels = false;
    tjs.env.localModelPath = join(root, "models") + "/";
    const ours = new TextClassificationPipeline(trained.model, trained.tokenizer);
    const sample = pairs.slice(0, 64);
    for (const dtype of ["fp32", "q8"] as const) {
      const clf = await tjs.pipeline("text-classification", "mrpc", { dtype, local_files_only: true });
      // Single texts through the pipeline call itself.
      const texts = sample.slice(0, 16).map((p) => p.text);
      const theirs = (await clf(texts, { top_k: 1 })) as { label: string; score: number }[];
      const mine = ours(texts).map((r) => r[0]);
      // Pairs: transformers.js's pipeline takes single texts, so pairs go through its own tokenizer
      // (text_pair) and model, as transformers.js documents for cross-encoders.
      const enc = clf.tokenizer(
        sample.map((p) => p.text),
        { text_pair: sample.map((p) => p.textPair), padding: true, truncation: true },
      );
      const pairLogits = ((await clf.model(enc)) as { logits: TjsTensor }).logits.tolist() as number[][];
      if (dtype === "fp32") {
        theirs.forEach((r, i) => {
          assert.equal(r.label, mine[i].label, `text ${i}`);
          assert.ok(Math.abs(r.score - mine[i].score) <= 1e-4, `text ${i}: ${r.score} vs ${mine[i].score}`);
        });
        const minePairs = ours(sample, { topK: null });
        pairLogits.forEach((z, i) => {
          const p = softmax(z);
          const best = minePairs[i][0];
          assert.equal(trained.model.config.id2label[String(argmax(z))], best.label, `pair ${i}`);
          assert.ok(Math.abs(p[argmax(z)] - best.score) <= 1e-4, `pair ${i}: ${p[argmax(z)]} vs ${best.score}`);
        });
      } else {
        // q8's numbers are its own: transformers.js must give exactly what onnxruntime gives on the same file.
        const direct = await ortLogits(join(trained.dir, "onnx", "model_quantized.onnx"), sample, sample.length);
        pairLogits.forEach((z, i) => z.forEach((v, j) => assert.ok(Math.abs(v - direct[i][j]) <= 1e-4, `q8 pair ${i}`)));
        // And on all 408 pairs, transformers.js's q8 labels are our pipeline's for ≥ 99%.
        const all = clf.tokenizer(
          pairs.map((p) => p.text),
          { text_pair: pairs.map((p) => p.textPair), padding: true, truncation: true },
        );
        const allLogits = ((await clf.model(all)) as { logits: TjsTensor }).logits.tolist() as number[][];
        const labels = ours(pairs).map((r) => r[0].label);
        const agree = allLogits.filter((z, i) => trained.model.config.id2label[String(argmax(z))] === labels[i]).length;
        assert.ok(agree / pairs.length >= 0.99, `q8 labels agree with ours on ${agree}/${pairs.length}`);
      }
      await clf.dispose();
    }
  },
);

test(
  "a tokenizer from vocab.txt (no tokenizer.json) gets a tokenizer.json, and transformers.js encodes pairs with it as we do",
  { skip: noShared },
  async () => {
    const vocabOnly = join(root, "vocab-only");
    mkdirSync(vocabOnly, { recursive: true });
    // As old BERT checkpoints ship it: vocab.txt and tokenizer_config.json, no tokenizer.json.
    for (const f of ["vocab.txt", "tokenizer_config.json"]) copyFileSync(join(shared, "models", "bert-base-cased", f), join(vocabOnly, f));
    const tokenizer = await AutoTokenizer.fromPretrained(vocabOnly);
    const out = join(root, "models", "vocab-only");
    exportOnnx(trained.model, out, { tokenizer });
    assert.ok(existsSync(join(out, "tokenizer.json")));
    const theirs = await tjs.AutoTokenizer.from_pretrained("vocab-only", { local_files_only: true });
    for (const p of pairs.slice(0, 20)) {
      const a = theirs(p.text, { text_pair: p.textPair }) as { input_ids: TjsTensor; token_type_ids: TjsTensor };
      const b = tokenizer(p.text, p.textPair);
      assert.deepEqual((a.input_ids.tolist() as bigint[][])[0].map(Number), b.input_ids);
      assert.deepEqual((a.token_type_ids.tolist() as bigint[][])[0].map(Number), b.token_type_ids);
    }
  },
);

test(
  "in headless Chromium the example page classifies its two pairs as our pipeline does (fp32, fp16, q8)",
  { skip: noBrowser, timeout: 180_000 },
  async (t) => {
    const server = await serveDeploy(join(root, "models"));
    const address = server.address();
    const port = typeof address === "object" && address ? address.port : 0;
    const browser = await puppeteer.launch({ executablePath: chromium, headless: true, args: ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"] });
    try {
      const page = await browser.newPage();
      const errors: string[] = [];
      page.on("pageerror", (e) => errors.push(String(e)));
      const html = readFileSync(join(repoRoot, "examples", "deploy-browser", "index.html"), "utf8");
      const pagePairs = [...html.matchAll(/\["([^"]+)", "([^"]+)"\]/g)].map((m) => ({ text: m[1], textPair: m[2] }));
      assert.equal(pagePairs.length, 2, "the page's two pairs");
      const ours = new TextClassificationPipeline(trained.model, trained.tokenizer)(pagePairs);
      for (const dtype of ["fp32", "fp16", "q8"]) {
        await page.goto(`http://127.0.0.1:${port}/?dtype=${dtype}`);
        await page.waitForFunction("window.results !== undefined", { timeout: 120_000 }).catch((e: Error) => {
          throw new Error(`${dtype}: the page gave no results (${errors.join("; ") || e.message})`);
        });
        const results = (await page.evaluate("window.results")) as { label: string; score: number }[];
        results.forEach((r, i) => {
          assert.equal(r.label, ours[i][0].label, `${dtype} pair ${i}`);
          assert.ok(
            Math.abs(r.score - ours[i][0].score) <= (dtype === "fp32" ? 1e-4 : dtype === "fp16" ? 1e-2 : 2e-2),
            `${dtype} pair ${i}: ${r.score} vs ours ${ours[i][0].score}`,
          );
        });
        const shown = await page.$eval("#out", (e) => e.textContent ?? "");
        assert.ok(shown.includes(results[0].label), "the page shows its labels");
        mkdirSync(join(repoRoot, "test-artifacts"), { recursive: true });
        await page.screenshot({ path: join(repoRoot, "test-artifacts", `deploy-browser-${dtype}.png`) });
        t.diagnostic(`${dtype}: ${JSON.stringify(results)}`);
      }
      assert.deepEqual(errors, []);
    } finally {
      await browser.close();
      server.close();
    }
  },
);
