// The question-answering and masked-LM heads of BERT, DistilBERT and RoBERTa equal PyTorch (fixtures
// from scripts/golden/heads.py, written from HF's modeling files): start/end logits and the clamped,
// ignored-index QA loss; MLM logits through the tied decoder and the −100-ignoring loss; every
// gradient, eval and train; the tied decoder saved once and loaded back.
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as torch from "../src/torch/index.js";
import { AutoModelForMaskedLM, AutoModelForQuestionAnswering, type ModelOutput, type PreTrainedModel } from "../src/models/index.js";
import { assertClose, fixture } from "./helpers.js";

const dir = (...p: string[]) => fixture("golden", "heads", ...p);
const NO_DROPOUT = { hidden_dropout_prob: 0, attention_probs_dropout_prob: 0, dropout: 0, attention_dropout: 0, qa_dropout: 0 };

function logitsOf(out: ModelOutput): torch.Tensor {
  return out.startLogits ? torch.stack([out.startLogits, out.endLogits!]) : out.logits!;
}

async function checkHead(name: string, load: (d: string) => Promise<PreTrainedModel>, inputs: Record<string, torch.Tensor>): Promise<void> {
  const expected = torch.loadFile(dir(name, "expected.safetensors"));
  for (const mode of ["eval", "train"] as const) {
    const model = await load(dir(name));
    model.train(mode === "train");
    torch.tidy(() => {
      const out = model.forward(inputs);
      assertClose(logitsOf(out), expected.get(`${mode}.logits`)!, { rtol: 1e-5, atol: 1e-5, what: `${name} ${mode} logits` });
      assertClose(out.loss!.reshape(1), expected.get(`${mode}.loss`)!, { rtol: 1e-5, atol: 1e-6, what: `${name} ${mode} loss` });
      out.loss!.backward();
    });
    const grads = [...expected.keys()].filter((k) => k.startsWith(`${mode}.grad.`)).map((k) => k.slice(`${mode}.grad.`.length));
    const ours = new Map(model.namedParameters());
    assert.deepEqual([...ours.keys()].sort(), grads.sort(), `${name}: the same parameters as PyTorch's (a tied tensor once)`);
    for (const [n, p] of ours) {
      torch.tidy(() => assertClose(p.grad!, expected.get(`${mode}.grad.${n}`)!, { rtol: 1e-4, atol: 1e-6, what: `${name} ${mode} grad of ${n}` }));
    }
    torch.dispose(model.parameters());
  }
  torch.dispose(expected);
}

const inputsFor = (all: Map<string, torch.Tensor>, arch: string, extra: string[]) => {
  const ids = arch === "roberta" ? all.get("roberta_input_ids")! : all.get("input_ids")!;
  const out: Record<string, torch.Tensor> = { input_ids: ids, attention_mask: all.get("attention_mask")! };
  if (arch === "bert") out.token_type_ids = all.get("token_type_ids")!;
  for (const k of extra) out[k] = all.get(k)!;
  return out;
};

for (const arch of ["bert", "distilbert", "roberta"]) {
  test(`${arch}: question answering equals PyTorch (start/end logits, loss with a position past the sequence, gradients)`, async () => {
    const all = torch.loadFile(dir("inputs.safetensors"));
    await checkHead(
      `${arch}-qa`,
      (d) => AutoModelForQuestionAnswering.fromPretrained(d, { configOverrides: NO_DROPOUT }),
      inputsFor(all, arch, ["start_positions", "end_positions"]),
    );
    torch.dispose(all);
  });

  test(`${arch}: masked LM equals PyTorch (tied decoder, labels −100 ignored, gradients), saved with the decoder once`, async () => {
    const all = torch.loadFile(dir("inputs.safetensors"));
    await checkHead(`${arch}-mlm`, (d) => AutoModelForMaskedLM.fromPretrained(d, { configOverrides: NO_DROPOUT }), inputsFor(all, arch, ["labels"]));
    const model = await AutoModelForMaskedLM.fromPretrained(dir(`${arch}-mlm`));
    const saved = mkdtempSync(join(tmpdir(), "ft-mlm-head-"));
    model.savePretrained(saved);
    const keys = new torch.SafetensorsFile(join(saved, "model.safetensors")).keys();
    const original = new torch.SafetensorsFile(dir(`${arch}-mlm`, "model.safetensors")).keys();
    assert.deepEqual(keys.sort(), original.sort(), "the keys HF's save writes: the tied decoder weight and bias once");
    const back = await AutoModelForMaskedLM.fromPretrained(saved);
    const inputs = inputsFor(all, arch, []);
    torch.tidy(() => assert.ok(back.forward(inputs).logits.equal(model.forward(inputs).logits)));
    torch.dispose([all, model.parameters(), back.parameters()]);
  });
}

test("a QA head refuses num_labels other than 2 (HF's DistilBERT asserts it; BERT's split would fail)", () => {
  assert.throws(
    () =>
      AutoModelForQuestionAnswering.fromConfig({ model_type: "distilbert", vocab_size: 20, dim: 8, n_layers: 1, n_heads: 2, hidden_dim: 16, num_labels: 3 }),
    /DistilBertForQuestionAnswering needs num_labels 2 \(start and end logits\), got 3/,
  );
  assert.throws(
    () =>
      AutoModelForQuestionAnswering.fromConfig({
        model_type: "bert",
        vocab_size: 20,
        hidden_size: 8,
        num_hidden_layers: 1,
        num_attention_heads: 2,
        intermediate_size: 16,
        num_labels: 1,
      }),
    /BertForQuestionAnswering needs num_labels 2/,
  );
});
