// A GPT-2-style checkpoint with vocab.json + merges.txt (and no tokenizer.json): build the
// tokenizer.json that transformers' GPT2Converter builds from them — byte-level BPE with GPT-2's
// split regex, a ByteLevel decoder, and a ByteLevel post-processor (or, with add_bos_token, a template
// that puts the BOS token first) — so both routes run the same pipeline.

export interface Gpt2VocabOptions {
  addPrefixSpace?: boolean;
  addBosToken?: boolean;
  bosToken?: string;
  /** The tokens HF's slow tokenizer registers as special (<|endoftext|> for GPT-2). */
  specialTokens: string[];
}

export function parseVocabJson(text: string, file: string): Record<string, number> {
  let vocab: unknown;
  try {
    vocab = JSON.parse(text);
  } catch (e) {
    throw new Error(`${file}: not valid JSON (${(e as Error).message})`);
  }
  if (!vocab || typeof vocab !== "object" || Array.isArray(vocab)) throw new Error(`${file}: expected an object of token → id`);
  for (const [t, id] of Object.entries(vocab))
    if (!Number.isInteger(id)) throw new Error(`${file}: token ${JSON.stringify(t)} has id ${JSON.stringify(id)}, not an integer`);
  return vocab as Record<string, number>;
}

/** merges.txt: an optional "#version" line, then one "left right" pair a line (HF's bpe_ranks order). */
export function parseMergesTxt(text: string, file: string): string[] {
  const lines = text.split("\n").map((l) => l.replace(/\r$/, ""));
  const merges: string[] = [];
  lines.forEach((line, i) => {
    if ((i === 0 && line.startsWith("#version")) || line === "") return;
    if (line.split(" ").length !== 2) throw new Error(`${file}:${i + 1}: expected a pair "left right", got ${JSON.stringify(line)}`);
    merges.push(line);
  });
  return merges;
}

export function gpt2TokenizerJson(vocab: Record<string, number>, merges: string[], o: Gpt2VocabOptions, file: string): Record<string, unknown> {
  const idOf = (t: string) => {
    const id = vocab[t];
    if (id === undefined) throw new Error(`${file}: the special token ${t} is not in the vocabulary`);
    return id;
  };
  const added = [...new Set(o.specialTokens)]
    .map((t) => ({ id: idOf(t), content: t, single_word: false, lstrip: false, rstrip: false, normalized: true, special: true }))
    .sort((a, b) => a.id - b.id);
  const byteLevel = (addPrefixSpace: boolean, trimOffsets: boolean) => ({
    type: "ByteLevel",
    add_prefix_space: addPrefixSpace,
    trim_offsets: trimOffsets,
    use_regex: true,
  });
  let postProcessor: Record<string, unknown> = byteLevel(true, false);
  if (o.addBosToken) {
    const bos = o.bosToken ?? "<|endoftext|>";
    const id = idOf(bos);
    postProcessor = {
      type: "TemplateProcessing",
      single: [{ SpecialToken: { id: bos, type_id: 0 } }, { Sequence: { id: "A", type_id: 0 } }],
      pair: [{ SpecialToken: { id: bos, type_id: 0 } }, { Sequence: { id: "A", type_id: 0 } }, { Sequence: { id: "B", type_id: 1 } }],
      special_tokens: { [bos]: { id: bos, ids: [id], tokens: [bos] } },
    };
  }
  return {
    version: "1.0",
    truncation: null,
    padding: null,
    added_tokens: added,
    normalizer: null,
    pre_tokenizer: byteLevel(o.addPrefixSpace ?? false, true),
    post_processor: postProcessor,
    decoder: byteLevel(true, true),
    model: {
      type: "BPE",
      dropout: null,
      unk_token: null,
      continuing_subword_prefix: "",
      end_of_word_suffix: "",
      fuse_unk: false,
      byte_fallback: false,
      ignore_merges: false,
      vocab,
      merges,
    },
  };
}
