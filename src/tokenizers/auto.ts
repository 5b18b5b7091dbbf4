// AutoTokenizer.fromPretrained: a hub name or a local folder → a PreTrainedTokenizer, from
// tokenizer.json (+ tokenizer_config.json, special_tokens_map.json), or for a BERT-family
// checkpoint that has only vocab.txt, from the same pipeline built from the vocabulary.
import { readFileSync } from "node:fs";
import { HubSession, resolveFile, type HubOptions } from "../hub/index.js";
import { readJsonObject as readJson } from "../util/files.js";
import { PreTrainedTokenizer, tokenContent } from "./tokenizer.js";
import { bertTokenizerJson, parseVocabTxt } from "./bert_vocab.js";
import { gpt2TokenizerJson, parseMergesTxt, parseVocabJson } from "./gpt2_vocab.js";

type Json = Record<string, unknown>;

export interface FromPretrainedOptions extends HubOptions {
  subfolder?: string;
  /** Overrides tokenizer_config.json's model_max_length. */
  modelMaxLength?: number;
  paddingSide?: "right" | "left";
  truncationSide?: "right" | "left";
}

// transformers' tokenizer classes' default special tokens, for configs that do not name them.
const BERT_SPECIALS = { unk_token: "[UNK]", sep_token: "[SEP]", pad_token: "[PAD]", cls_token: "[CLS]", mask_token: "[MASK]" };
const ROBERTA_SPECIALS = {
  bos_token: "<s>",
  eos_token: "</s>",
  unk_token: "<unk>",
  sep_token: "</s>",
  pad_token: "<pad>",
  cls_token: "<s>",
  mask_token: "<mask>",
};
const GPT2_SPECIALS = { unk_token: "<|endoftext|>", bos_token: "<|endoftext|>", eos_token: "<|endoftext|>" };
const CLASS_BY_MODEL_TYPE: Record<string, string> = {
  bert: "BertTokenizer",
  distilbert: "DistilBertTokenizer",
  electra: "ElectraTokenizer",
  roberta: "RobertaTokenizer",
  camembert: "CamembertTokenizer",
  "xlm-roberta": "XLMRobertaTokenizer",
  gpt2: "GPT2Tokenizer",
};

function defaultSpecials(cls: string): Record<string, string> {
  if (/^(Bert|DistilBert|Electra|ConvBert|MobileBert|LayoutLM|SqueezeBert|Funnel)/.test(cls)) return BERT_SPECIALS;
  if (/^(Roberta|Camembert|XLMRoberta|Longformer|Bart)/.test(cls)) return ROBERTA_SPECIALS;
  if (/^GPT2Tokenizer/.test(cls)) return GPT2_SPECIALS;
  return {};
}

export class AutoTokenizer {
  static async fromPretrained(nameOrPath: string, options: FromPretrainedOptions = {}): Promise<PreTrainedTokenizer> {
    const o = HubSession.in(options);
    if (typeof nameOrPath !== "string" || nameOrPath === "")
      throw new TypeError(`fromPretrained(): expected a model name or folder, got ${JSON.stringify(nameOrPath)}`);
    const find = (f: string) => resolveFile(nameOrPath, f, { ...o, optional: true });
    const [tokJsonPath, configPath, mapPath, templatePath] = await Promise.all([
      find("tokenizer.json"),
      find("tokenizer_config.json"),
      find("special_tokens_map.json"),
      find("chat_template.jinja"),
    ]);
    const config = configPath ? readJson(configPath, "tokenizer_config.json") : {};
    // As transformers: a chat_template.jinja beside the tokenizer wins over tokenizer_config.json's.
    if (templatePath) config.chat_template = readFileSync(templatePath, "utf8");
    const specialMap = mapPath ? readJson(mapPath, "special_tokens_map.json") : {};
    if (o.modelMaxLength !== undefined) config.model_max_length = o.modelMaxLength;
    if (o.paddingSide) config.padding_side = o.paddingSide;
    if (o.truncationSide) config.truncation_side = o.truncationSide;
    if (config.tokenizer_class === undefined) {
      const modelConfigPath = await find("config.json");
      const modelType = modelConfigPath ? String(readJson(modelConfigPath, "config.json").model_type ?? "") : "";
      if (CLASS_BY_MODEL_TYPE[modelType]) config.tokenizer_class = CLASS_BY_MODEL_TYPE[modelType];
    }
    for (const [k, v] of Object.entries(defaultSpecials(String(config.tokenizer_class ?? "")))) {
      if (config[k] === undefined && specialMap[k] === undefined) config[k] = v;
    }
    let tokenizerJson: Json;
    if (tokJsonPath) {
      tokenizerJson = readJson(tokJsonPath, "tokenizer.json");
    } else {
      const [vocabPath, vocabJsonPath, mergesPath] = await Promise.all([find("vocab.txt"), find("vocab.json"), find("merges.txt")]);
      const tok = (k: string, d: string) => tokenContent(specialMap[k]) ?? tokenContent(config[k]) ?? d;
      if (vocabJsonPath && mergesPath) {
        // A byte-level BPE pair (GPT-2's files): GPT2Tokenizer's defaults where the config is silent.
        const cls = String(config.tokenizer_class ?? "");
        if (cls && !/^GPT2Tokenizer/.test(cls)) {
          throw new Error(
            `${nameOrPath} has vocab.json + merges.txt but tokenizer_class '${cls}': building a tokenizer from them is supported for GPT2Tokenizer`,
          );
        }
        config.tokenizer_class ??= "GPT2Tokenizer";
        for (const [k, v] of Object.entries(GPT2_SPECIALS)) if (config[k] === undefined && specialMap[k] === undefined) config[k] = v;
        const specials = ["unk_token", "bos_token", "eos_token", "pad_token"]
          .map((k) => tokenContent(specialMap[k]) ?? tokenContent(config[k]))
          .filter((t): t is string => !!t);
        tokenizerJson = gpt2TokenizerJson(
          parseVocabJson(readFileSync(vocabJsonPath, "utf8"), vocabJsonPath),
          parseMergesTxt(readFileSync(mergesPath, "utf8"), mergesPath),
          {
            addPrefixSpace: (config.add_prefix_space as boolean | undefined) ?? false,
            addBosToken: (config.add_bos_token as boolean | undefined) ?? false,
            bosToken: tok("bos_token", "<|endoftext|>"),
            specialTokens: specials,
          },
          vocabJsonPath,
        );
        return new PreTrainedTokenizer(tokenizerJson, config, specialMap, nameOrPath);
      }
      if (!vocabPath) {
        throw new Error(
          `${nameOrPath} has neither tokenizer.json, vocab.txt nor vocab.json + merges.txt: cannot build a tokenizer (looked for tokenizer.json, vocab.txt, vocab.json, merges.txt, tokenizer_config.json)`,
        );
      }
      const cls = String(config.tokenizer_class ?? "");
      if (!/^(Bert|DistilBert|Electra)/.test(cls)) {
        throw new Error(
          `${nameOrPath} has only vocab.txt; building a tokenizer from it is supported for BERT-family (WordPiece) models, not '${cls || "unknown (no tokenizer_class, no config.json model_type)"}'`,
        );
      }
      tokenizerJson = bertTokenizerJson(
        parseVocabTxt(readFileSync(vocabPath, "utf8"), vocabPath),
        {
          doLowerCase: (config.do_lower_case as boolean | undefined) ?? true,
          tokenizeChineseChars: (config.tokenize_chinese_chars as boolean | undefined) ?? true,
          stripAccents: (config.strip_accents as boolean | null | undefined) ?? null,
          unkToken: tok("unk_token", "[UNK]"),
          sepToken: tok("sep_token", "[SEP]"),
          padToken: tok("pad_token", "[PAD]"),
          clsToken: tok("cls_token", "[CLS]"),
          maskToken: tok("mask_token", "[MASK]"),
        },
        vocabPath,
      );
    }
    return new PreTrainedTokenizer(tokenizerJson, config, specialMap, nameOrPath);
  }
}
