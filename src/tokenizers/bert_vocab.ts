// A BERT checkpoint with only vocab.txt (+ tokenizer_config.json): build the tokenizer.json that
// transformers' BertConverter would build from it, so both routes run the same pipeline.

export interface BertVocabOptions {
  doLowerCase?: boolean;
  tokenizeChineseChars?: boolean;
  stripAccents?: boolean | null;
  unkToken?: string;
  sepToken?: string;
  padToken?: string;
  clsToken?: string;
  maskToken?: string;
}

export function parseVocabTxt(text: string, file: string): Map<string, number> {
  const vocab = new Map<string, number>();
  const lines = text.split("\n");
  if (lines[lines.length - 1] === "") lines.pop();
  lines.forEach((line, i) => {
    const token = line.replace(/\r$/, "");
    if (!vocab.has(token)) vocab.set(token, i);
  });
  if (vocab.size === 0) throw new Error(`${file}: the vocabulary is empty`);
  return vocab;
}

export function bertTokenizerJson(vocab: Map<string, number>, o: BertVocabOptions, file: string): Record<string, unknown> {
  const lower = o.doLowerCase ?? true;
  const special = {
    unk: o.unkToken ?? "[UNK]",
    sep: o.sepToken ?? "[SEP]",
    pad: o.padToken ?? "[PAD]",
    cls: o.clsToken ?? "[CLS]",
    mask: o.maskToken ?? "[MASK]",
  };
  const idOf = (t: string) => {
    const id = vocab.get(t);
    if (id === undefined) throw new Error(`${file}: the special token ${t} is not in the vocabulary`);
    return id;
  };
  const cls = idOf(special.cls);
  const sep = idOf(special.sep);
  const added = [special.pad, special.unk, special.cls, special.sep, special.mask]
    .map((t) => ({ id: idOf(t), content: t, single_word: false, lstrip: false, rstrip: false, normalized: false, special: true }))
    .sort((a, b) => a.id - b.id);
  return {
    version: "1.0",
    truncation: null,
    padding: null,
    added_tokens: added,
    normalizer: {
      type: "BertNormalizer",
      clean_text: true,
      handle_chinese_chars: o.tokenizeChineseChars ?? true,
      strip_accents: o.stripAccents ?? null,
      lowercase: lower,
    },
    pre_tokenizer: { type: "BertPreTokenizer" },
    post_processor: {
      type: "TemplateProcessing",
      single: [{ SpecialToken: { id: special.cls, type_id: 0 } }, { Sequence: { id: "A", type_id: 0 } }, { SpecialToken: { id: special.sep, type_id: 0 } }],
      pair: [
        { SpecialToken: { id: special.cls, type_id: 0 } },
        { Sequence: { id: "A", type_id: 0 } },
        { SpecialToken: { id: special.sep, type_id: 0 } },
        { Sequence: { id: "B", type_id: 1 } },
        { SpecialToken: { id: special.sep, type_id: 1 } },
      ],
      special_tokens: {
        [special.cls]: { id: special.cls, ids: [cls], tokens: [special.cls] },
        [special.sep]: { id: special.sep, ids: [sep], tokens: [special.sep] },
      },
    },
    decoder: { type: "WordPiece", prefix: "##", cleanup: true },
    model: {
      type: "WordPiece",
      unk_token: special.unk,
      continuing_subword_prefix: "##",
      max_input_chars_per_word: 100,
      vocab: Object.fromEntries(vocab),
    },
  };
}
