// LoRA as PEFT makes it, against scripts/golden/lora.py (plain PyTorch written from PEFT 0.20's
// lora/layer.py): the same seed gives the same adapters (kaiming, gaussian, random B, module order),
// the same logits, 20 training steps with LoRA dropout, and merged logits equal to unmerged; the
// adapter folder is PEFT's (keys, config fields) both ways; PEFT's errors for bad input.
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, readdirSync, writeFileSync, mkdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as torch from "../src/torch/index.js";
import { AdamW } from "../src/optim/index.js";
import {
  AutoModelForCausalLM,
  BertConfig,
  BertForSequenceClassification,
  PreTrainedModel,
  RobertaConfig,
  RobertaForSequenceClassification,
  DistilBertConfig,
  DistilBertForSequenceClassification,
} from "../src/models/index.js";
import { LoraConfig, LoraLinear, ModulesToSaveWrapper, PeftModel, getPeftModel, minimalTargetModules } from "../src/peft/index.js";
import { pythonJson } from "../src/peft/lora_config.js";
import { exportOnnx } from "../src/export/index.js";
import { assertClose, fixture } from "./helpers.js";

const dec = (name: string) => fixture("golden", "decoders", name);
const golden = (name: string) => torch.loadFile(fixture("golden", "lora", `${name}.safetensors`));
const tmp = () => mkdtempSync(join(tmpdir(), "lora-"));

function inputs() {
  const t = torch.loadFile(dec("inputs.safetensors"));
  return { input_ids: t.get("input_ids")!, attention_mask: t.get("attention_mask")!, labels: t.get("labels")! };
}

/** The adapter's tensors under PEFT's saved keys must equal the golden's, key for key. */
function assertAdapter(peft: { adapterStateDict(): Map<string, torch.Tensor> }, expected: Map<string, torch.Tensor>, prefix: string, tol = 1e-6): void {
  const own = peft.adapterStateDict();
  const want = [...expected.keys()].filter((k) => k.startsWith(`${prefix}base_model.`)).map((k) => k.slice(prefix.length));
  assert.deepEqual([...own.keys()].sort(), want.sort());
  for (const k of want) assertClose(own.get(k)!, expected.get(prefix + k)!, { rtol: tol, atol: tol, what: k });
}

function captureWarnings<T>(fn: () => T): [T, string[]] {
  const warnings: string[] = [];
  const warn = console.warn;
  console.warn = (m: string) => warnings.push(m);
  try {
    return [fn(), warnings];
  } finally {
    console.warn = warn;
  }
}

test("all-linear LoRA on a Llama: PEFT's init from the same seed, 20 steps with LoRA dropout, merged = unmerged", async () => {
  const g = golden("llama_all_linear");
  const run = JSON.parse(readFileSync(fixture("golden", "lora", "run.json"), "utf8")) as { llama_all_linear: { losses: number[] } };
  // scripts/golden/lora.py attends as eager does; on its left-padded rows SDPA differs from torch 2.5 on (decoders.test.ts).
  const model = await AutoModelForCausalLM.fromPretrained(dec("llama-llama3"), { attnImplementation: "eager" });
  torch.manualSeed(0);
  const peft = getPeftModel(model, new LoraConfig({ r: 4, loraAlpha: 8, loraDropout: 0.1, targetModules: "all-linear", taskType: "CAUSAL_LM" }));
  assertAdapter(peft, g, "init.", 0);
  // all-linear: 7 linears a layer × 2 layers, lm_head left out; 14 names stay names (under 20).
  assert.deepEqual(
    peft.peftConfig.get("default")!.targetModules,
    [...model.namedModules()]
      .filter(([k, m]) => m instanceof LoraLinear && k)
      .map(([k]) => k)
      .sort(),
  );
  const trainable = peft.parameters().filter((p) => p.requiresGrad);
  assert.equal(trainable.length, 28);
  const opt = new AdamW(trainable, { lr: 1e-2, weightDecay: 0 });
  const x = inputs();
  torch.manualSeed(1);
  peft.train();
  const losses: number[] = [];
  for (let i = 0; i < 20; i++) {
    torch.tidy(() => {
      const loss = peft.forward(x).loss!;
      loss.backward();
      losses.push(loss.item());
    });
    opt.step();
    opt.zeroGrad();
  }
  run.llama_all_linear.losses.forEach((l, i) => assert.ok(Math.abs(losses[i] - l) <= 1e-5 * Math.max(1, l), `step ${i + 1}: ${losses[i]} vs ${l}`));
  assert.ok(losses[19] < losses[0] - 0.1, "the adapter learned");
  assertAdapter(peft, g, "final.", 1e-5);
  peft.eval();
  torch.tidy(() => assertClose(peft.forward(x).logits!, g.get("logits")!, { rtol: 1e-5, atol: 1e-5, what: "logits" }));
  // The base model's own logits differ (the adapter is trained), and come back inside disableAdapter.
  const base = await AutoModelForCausalLM.fromPretrained(dec("llama-llama3"), { attnImplementation: "eager" });
  torch.tidy(() => {
    const off = peft.disableAdapter(() => peft.forward(x).logits!);
    assertClose(off, base.forward(x).logits!, { rtol: 0, atol: 0, what: "disabled adapter" });
    assert.ok(off.sub(g.get("logits")!).abs().max().item() > 1e-2);
  });
  const merged = peft.mergeAndUnload();
  assert.equal([...merged.namedModules()].filter(([, m]) => m instanceof LoraLinear).length, 0);
  assert.ok(!merged.stateDict().has("model.layers.0.self_attn.q_proj.base_layer.weight"));
  torch.tidy(() => assertClose(merged.forward(x).logits!, g.get("merged_logits")!, { rtol: 1e-5, atol: 1e-5, what: "merged logits" }));
  torch.tidy(() => assertClose(merged.forward(x).logits!, g.get("logits")!, { rtol: 1e-5, atol: 1e-5, what: "merged = unmerged" }));
});

test("GPT-2's Conv1D: fan_in_fan_out set with PEFT's warning, rsLoRA scaling, lora_bias, random B; logits and merge", async () => {
  const g = golden("gpt2_conv1d");
  const model = await AutoModelForCausalLM.fromPretrained(dec("gpt2"), { attnImplementation: "eager" }); // as above: the golden attends as eager
  torch.manualSeed(0);
  const [peft, warnings] = captureWarnings(() =>
    getPeftModel(model, new LoraConfig({ r: 4, loraAlpha: 16, useRslora: true, loraBias: true, initLoraWeights: false, targetModules: ["c_attn", "c_proj"] })),
  );
  assert.deepEqual(warnings, ["fan_in_fan_out is set to False but the target module is `Conv1D`. Setting fan_in_fan_out to True."]);
  assert.equal(peft.peftConfig.get("default")!.fanInFanOut, true);
  assertAdapter(peft, g, "", 0);
  peft.eval();
  const x = inputs();
  torch.tidy(() => assertClose(peft.forward(x).logits!, g.get("logits")!, { rtol: 1e-5, atol: 1e-5, what: "logits" }));
  const merged = peft.mergeAndUnload({ safeMerge: true });
  torch.tidy(() => assertClose(merged.forward(x).logits!, g.get("merged_logits")!, { rtol: 1e-5, atol: 1e-5, what: "merged logits" }));
});

test("gaussian init on the layers of layersToTransform only (Qwen3)", async () => {
  const model = await AutoModelForCausalLM.fromPretrained(dec("qwen3"));
  torch.manualSeed(0);
  const peft = getPeftModel(
    model,
    new LoraConfig({ r: 2, loraAlpha: 4, initLoraWeights: "gaussian", targetModules: ["q_proj", "v_proj"], layersToTransform: [1] }),
  );
  assertAdapter(peft, golden("qwen3_gaussian"), "", 0);
});

test("the adapter folder is PEFT's: keys, every config field, Python's JSON; it loads back, and a folder written as PEFT writes it loads", async () => {
  const model = await AutoModelForCausalLM.fromPretrained(dec("llama-llama3"));
  torch.manualSeed(0);
  const peft = getPeftModel(model, new LoraConfig({ r: 4, loraAlpha: 8, initLoraWeights: false, taskType: "CAUSAL_LM" }));
  const dir = tmp();
  peft.savePretrained(dir);
  const text = readFileSync(join(dir, "adapter_config.json"), "utf8");
  const cfg = JSON.parse(text) as Record<string, unknown>;
  // The fields PEFT 0.20's LoraConfig.to_dict() writes (runtime_config popped), sorted, indent 2, floats with a point.
  const fields = [
    "alora_invocation_tokens",
    "alpha_pattern",
    "arrow_config",
    "auto_mapping",
    "base_model_name_or_path",
    "bias",
    "corda_config",
    "ensure_weight_tying",
    "eva_config",
    "exclude_modules",
    "fan_in_fan_out",
    "inference_mode",
    "init_lora_weights",
    "kasa_config",
    "layer_replication",
    "layers_pattern",
    "layers_to_transform",
    "loftq_config",
    "lora_alpha",
    "lora_bias",
    "lora_dropout",
    "lora_ga_config",
    "megatron_config",
    "megatron_core",
    "modules_to_save",
    "monteclora_config",
    "peft_type",
    "peft_version",
    "qalora_group_size",
    "r",
    "rank_pattern",
    "revision",
    "target_modules",
    "target_parameters",
    "task_type",
    "trainable_token_indices",
    "use_bdlora",
    "use_dora",
    "use_qalora",
    "use_rslora",
    "velora_config",
  ];
  assert.deepEqual(Object.keys(cfg), fields);
  assert.match(text, /\n {2}"lora_dropout": 0\.0,\n/);
  assert.equal(cfg.inference_mode, true);
  assert.deepEqual(cfg.target_modules, ["q_proj", "v_proj"]); // PEFT's default for llama
  assert.equal(cfg.base_model_name_or_path, dec("llama-llama3"));
  const saved = torch.loadFile(join(dir, "adapter_model.safetensors"));
  assert.deepEqual(
    [...saved.keys()].sort(),
    [0, 1]
      .flatMap((l) => ["q_proj", "v_proj"].flatMap((p) => ["lora_A", "lora_B"].map((ab) => `base_model.model.model.layers.${l}.self_attn.${p}.${ab}.weight`)))
      .sort(),
  );
  assert.deepEqual(torch.loadMetadata(join(dir, "adapter_model.safetensors")), { format: "pt" });

  // Loaded onto a fresh base: the same logits, frozen and in eval mode (PEFT's inference mode).
  const x = inputs();
  peft.eval();
  const want = torch.keep(peft.forward(x).logits!);
  const loaded = PeftModel.fromPretrained(await AutoModelForCausalLM.fromPretrained(dec("llama-llama3")), dir);
  assert.equal(loaded.parameters().filter((p) => p.requiresGrad).length, 0);
  assert.equal(loaded.training, false);
  torch.tidy(() => assertClose(loaded.forward(x).logits!, want, { rtol: 0, atol: 0, what: "reloaded" }));
  // Re-saved: the same keys and the same config fields.
  const again = tmp();
  loaded.savePretrained(again);
  assert.equal(readFileSync(join(again, "adapter_config.json"), "utf8"), text);

  // A folder as PEFT's save_pretrained writes it (json.dumps(indent=2, sort_keys=True), an older PEFT's fields).
  const hand = tmp();
  writeFileSync(
    join(hand, "adapter_config.json"),
    JSON.stringify(
      {
        base_model_name_or_path: "x",
        bias: "none",
        fan_in_fan_out: false,
        inference_mode: true,
        init_lora_weights: true,
        lora_alpha: 8,
        lora_dropout: 0.05,
        modules_to_save: null,
        peft_type: "LORA",
        r: 4,
        target_modules: ["v_proj", "q_proj"],
        task_type: "CAUSAL_LM",
        use_dora: false,
        use_rslora: false,
      },
      null,
      2,
    ),
  );
  torch.saveFile(saved, join(hand, "adapter_model.safetensors"), { format: "pt" });
  const fromHand = PeftModel.fromPretrained(await AutoModelForCausalLM.fromPretrained(dec("llama-llama3")), hand);
  torch.tidy(() => assertClose(fromHand.forward(x).logits!, want, { rtol: 0, atol: 0, what: "PEFT-written folder" }));
  torch.dispose([want, saved]);
});

test("bad input: no target matches (PEFT's message), an adapter of another base (the key and both shapes), unsupported options", async () => {
  const model = await AutoModelForCausalLM.fromPretrained(dec("llama-llama3"));
  assert.throws(() => getPeftModel(model, new LoraConfig({ targetModules: ["query", "value"] })), {
    message: "Target modules ['query', 'value'] not found in the base model. Please check the target modules and try again.",
  });
  assert.throws(
    () => getPeftModel(model, new LoraConfig({ targetModules: ["q_proj"], layersToTransform: [7] })),
    /not found in the base model.*'layers_to_transform': \[7\]/,
  );
  assert.throws(() => new LoraConfig({ r: 0 }), /`r` should be a positive integer value but the value passed is 0/);
  // An adapter trained on GPT-2 does not fit a Llama with the same module names.
  const dir = tmp();
  const other = await AutoModelForCausalLM.fromPretrained(dec("qwen3"));
  getPeftModel(other, new LoraConfig({ targetModules: ["q_proj"], initLoraWeights: false })).savePretrained(dir);
  assert.throws(
    () => PeftModel.fromPretrained(model, dir),
    /size mismatch for base_model\.model\.model\.layers\.0\.self_attn\.q_proj\.lora_B\.weight: copying a param with shape \[64, 8\] from checkpoint, the shape in current model is \[32, 8\]/,
  );
  const dora = tmp();
  mkdirSync(dora, { recursive: true });
  writeFileSync(join(dora, "adapter_config.json"), JSON.stringify({ peft_type: "LORA", r: 8, target_modules: ["q_proj"], use_dora: true }));
  writeFileSync(join(dora, "adapter_model.safetensors"), "");
  const fresh = await AutoModelForCausalLM.fromPretrained(dec("llama-llama3"));
  assert.throws(() => PeftModel.fromPretrained(fresh, dora), /LoRA options finetune-ts does not support: use_dora=true/);
});

test("sequence classification: the classifier trains as a saved copy (PEFT's modules_to_save), on BERT, DistilBERT and RoBERTa", async () => {
  const small = {
    vocab_size: 50,
    hidden_size: 16,
    num_hidden_layers: 1,
    num_attention_heads: 2,
    intermediate_size: 20,
    max_position_embeddings: 24,
    num_labels: 3,
  };
  const models: [string, PreTrainedModel][] = [
    ["bert", new BertForSequenceClassification(new BertConfig(small))],
    ["roberta", new RobertaForSequenceClassification(new RobertaConfig({ ...small, pad_token_id: 1 }))],
    [
      "distilbert",
      new DistilBertForSequenceClassification(
        new DistilBertConfig({ vocab_size: 50, dim: 16, n_layers: 1, n_heads: 2, hidden_dim: 20, max_position_embeddings: 24, num_labels: 3 }),
      ),
    ],
  ];
  for (const [name, model] of models) {
    model.eval();
    const ids = torch.tensor([[2, 7, 9, 11, 3]], { dtype: "int64" });
    const before = torch.keep(model.forward({ input_ids: ids }).logits!);
    const targets = name === "distilbert" ? ["q_lin", "v_lin"] : undefined;
    const peft = getPeftModel(model, new LoraConfig({ taskType: "SEQ_CLS", targetModules: targets }));
    const cfg = peft.peftConfig.get("default")!;
    assert.deepEqual(cfg.modulesToSave, ["classifier", "score"], name);
    const wrappers = [...peft.model.namedModules()].filter(([, m]) => m instanceof ModulesToSaveWrapper).map(([k]) => k);
    // PEFT matches modules_to_save by key.endswith(name): DistilBERT's pre_classifier is wrapped too.
    assert.deepEqual(wrappers, name === "distilbert" ? ["pre_classifier", "classifier"] : ["classifier"], name);
    // B is zero and the copies equal the originals: the logits do not move until training. (Not bit
    // for bit: with the base frozen, a 1-row linear takes the small-batch kernel, an ulp from BLAS.)
    torch.tidy(() => assertClose(peft.forward({ input_ids: ids }).logits!, before, { rtol: 1e-6, atol: 1e-7, what: name }));
    const keys = [...peft.adapterStateDict().keys()];
    assert.ok(keys.includes("base_model.model.classifier.weight") || keys.includes("base_model.model.classifier.dense.weight"), `${name}: ${keys.join(", ")}`);
    // Training the copy leaves the original for disableAdapter.
    const head = [...peft.model.namedModules()].find(([k]) => k === "classifier")![1];
    assert.ok(head instanceof ModulesToSaveWrapper);
    // The last parameter is the output bias (a LayerNorm output sums to zero, so a uniform change to a weight would not show).
    torch.noGrad(() => head.modules_to_save.get("default")!.parameters().at(-1)!.add_(1));
    torch.tidy(() => {
      assert.ok(peft.forward({ input_ids: ids }).logits!.sub(before).abs().max().item() > 1e-3, name);
      assertClose(
        peft.disableAdapter(() => peft.forward({ input_ids: ids }).logits!),
        before,
        { rtol: 1e-6, atol: 1e-7, what: `${name} disabled` },
      );
    });
    if (name === "bert") {
      // ONNX export reads the base weights only: an unmerged adapter is refused, the merged model exports.
      assert.throws(() => exportOnnx(peft.model, tmp()), /holds LoRA adapters \('bert\.encoder\.layer\.0\.attention\.self\.query'\); merge them first/);
    }
    const dir = tmp();
    peft.savePretrained(dir);
    const back = PeftModel.fromPretrained(
      name === "bert"
        ? new BertForSequenceClassification(new BertConfig(small))
        : name === "roberta"
          ? new RobertaForSequenceClassification(new RobertaConfig({ ...small, pad_token_id: 1 }))
          : new DistilBertForSequenceClassification(
              new DistilBertConfig({ vocab_size: 50, dim: 16, n_layers: 1, n_heads: 2, hidden_dim: 20, max_position_embeddings: 24, num_labels: 3 }),
            ),
      dir,
    );
    // A fresh base has other random weights: only the adapter and the saved head are shared, so compare the head's weights.
    const headOf = (p: { adapterStateDict(): Map<string, torch.Tensor> }) => [...p.adapterStateDict()].filter(([k]) => !k.includes("lora_"));
    for (const [[k, a], [k2, b]] of headOf(peft).map((e, i) => [e, headOf(back)[i]] as const)) {
      assert.equal(k, k2);
      torch.tidy(() => assertClose(a, b, { rtol: 0, atol: 0, what: k }));
    }
    before.dispose();
  }
});

test("printTrainableParameters prints PEFT's line; target suffixes condense as PEFT's _find_minimal_target_modules", async () => {
  const model = await AutoModelForCausalLM.fromPretrained(dec("llama-llama3"));
  const peft = getPeftModel(model, new LoraConfig({ r: 4 }));
  const lines: string[] = [];
  const log = console.log;
  console.log = (m: string) => lines.push(m);
  try {
    peft.printTrainableParameters();
  } finally {
    console.log = log;
  }
  const all = model.parameters().reduce((a, p) => a + p.numel(), 0);
  // q_proj 32→32 and v_proj 32→16 per layer: A 4·32 each, B 32·4 and 16·4; two layers.
  const trainable = 2 * (4 * 32 + 32 * 4 + 4 * 32 + 16 * 4);
  assert.deepEqual(lines, [
    `trainable params: ${trainable.toLocaleString("en-US")} || all params: ${all.toLocaleString("en-US")} || trainable%: ${((100 * trainable) / all).toFixed(4)}`,
  ]);
  const targets = Array.from({ length: 30 }, (_, i) => [`model.layers.${i}.self_attn.q_proj`, `model.layers.${i}.mlp.up_proj`]).flat();
  const others = Array.from({ length: 30 }, (_, i) => [`model.layers.${i}.self_attn.k_proj`, `model.layers.${i}.mlp.down_proj`, `model.layers.${i}`]).flat();
  assert.deepEqual(minimalTargetModules(targets, others), ["q_proj", "up_proj"]);
});

test("several named adapters: loadAdapter adds one beside the active, setAdapter switches which runs and trains, savePretrained writes each", async () => {
  const x = inputs();
  const make = async (seed: number) => {
    const m = await AutoModelForCausalLM.fromPretrained(dec("llama-llama3"));
    torch.manualSeed(seed);
    return getPeftModel(m, new LoraConfig({ r: 2, initLoraWeights: false })).eval();
  };
  const a = await make(1);
  const b = await make(2);
  const wantA = torch.keep(a.forward(x).logits!);
  const wantB = torch.keep(b.forward(x).logits!);
  const dirB = tmp();
  b.savePretrained(dirB);
  a.loadAdapter(dirB, "second", { isTrainable: true });
  torch.tidy(() => assertClose(a.forward(x).logits!, wantA, { rtol: 0, atol: 0, what: "default still active" }));
  a.setAdapter("second");
  torch.tidy(() => assertClose(a.forward(x).logits!, wantB, { rtol: 0, atol: 0, what: "second active" }));
  const trainable = [...a.namedParameters()].filter(([, p]) => p.requiresGrad).map(([k]) => k);
  assert.equal(trainable.length, 8);
  assert.ok(
    trainable.every((k) => /\.lora_[AB]\.second\.weight$/.test(k)),
    trainable.join(", "),
  );
  assert.throws(() => a.setAdapter("third"), /Adapter third not found/);
  const both = tmp();
  a.savePretrained(both);
  assert.deepEqual(readdirSync(both).sort(), ["adapter_config.json", "adapter_model.safetensors", "second"]);
  assert.deepEqual(readdirSync(join(both, "second")).sort(), ["adapter_config.json", "adapter_model.safetensors"]);
  torch.dispose([wantA, wantB]);
});

test("Module.deepCopy: the same class and settings, tensors of its own (ties kept), a LoRA layer's adapters included", async () => {
  const model = await AutoModelForCausalLM.fromPretrained(dec("llama-llama3"));
  const peft = getPeftModel(model, new LoraConfig({ r: 2, initLoraWeights: false }));
  const layer = [...peft.model.namedModules()].map(([, m]) => m).find((m): m is LoraLinear => m instanceof LoraLinear)!;
  const copy = layer.deepCopy();
  assert.ok(copy instanceof LoraLinear);
  assert.deepEqual(copy.adapterNames(), ["default"]);
  assert.deepEqual([...copy.stateDict().keys()], [...layer.stateDict().keys()]);
  for (const [k, t] of layer.stateDict()) {
    const c = copy.stateDict().get(k)!;
    assert.ok(c !== t && c.equal(t), k);
    assert.equal(c.requiresGrad, t.requiresGrad, `${k} requiresGrad`);
  }
  const x = torch.randn([3, 32]);
  torch.tidy(() => assert.ok(copy.forward(x).equal(layer.forward(x))));
  // Its own tensors: changing the copy leaves the original.
  torch.noGrad(() => copy.lora_B.get("default")!.weight.add_(1));
  torch.tidy(() => assert.ok(!copy.forward(x).equal(layer.forward(x))));
  // A tied pair stays one tensor in the copy.
  const tied = (await AutoModelForCausalLM.fromPretrained(dec("qwen3"))).deepCopy();
  const sd = tied.stateDict();
  assert.ok(sd.get("lm_head.weight") === sd.get("model.embed_tokens.weight"));
  x.dispose();
});

test("adapter_config.json's writer is Python's json.dumps(indent=2, sort_keys=True): ASCII escapes (DEL, é, an emoji's surrogates), empty containers, nesting", () => {
  // The expected text is what Debian's python3 printed for the same object.
  const expected =
    '{\n  "a": "\\u007f \\u00e9 \\ud83d\\ude00 \\t\\u0001\\"\\\\",\n  "b": [],\n  "c": {},\n  "f": [\n    1,\n    {\n      "g": null,\n      "h": true\n    }\n  ]\n}';
  assert.equal(pythonJson({ f: [1, { h: true, g: null }], c: {}, b: [], a: '\x7f é 😀 \t\x01"\\' }), expected);
});
