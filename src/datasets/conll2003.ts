// CoNLL-2003 English NER as Hugging Face's conll2003 dataset gives it: one row per sentence (id,
// tokens, pos_tags, chunk_tags, ner_tags), the tags as ClassLabel ids with the script's names, read
// from the shared task's files (train.txt, valid.txt → validation, test.txt): "-DOCSTART-" lines
// skipped, sentences cut at empty lines, each line "token POS chunk NER" split on spaces.
import { readUtf8 } from "../util/files.js";
import { ClassLabel, Sequence, Value, type Features } from "./features.js";

// The names in HF's conll2003 script, in its order (the ids are their indices).
const POS = [
  '"',
  "''",
  "#",
  "$",
  "(",
  ")",
  ",",
  ".",
  ":",
  "``",
  "CC",
  "CD",
  "DT",
  "EX",
  "FW",
  "IN",
  "JJ",
  "JJR",
  "JJS",
  "LS",
  "MD",
  "NN",
  "NNP",
  "NNPS",
  "NNS",
  "NN|SYM",
  "PDT",
  "POS",
  "PRP",
  "PRP$",
  "RB",
  "RBR",
  "RBS",
  "RP",
  "SYM",
  "TO",
  "UH",
  "VB",
  "VBD",
  "VBG",
  "VBN",
  "VBP",
  "VBZ",
  "WDT",
  "WP",
  "WP$",
  "WRB",
];
const CHUNK = [
  "O",
  "B-ADJP",
  "I-ADJP",
  "B-ADVP",
  "I-ADVP",
  "B-CONJP",
  "I-CONJP",
  "B-INTJ",
  "I-INTJ",
  "B-LST",
  "I-LST",
  "B-NP",
  "I-NP",
  "B-PP",
  "I-PP",
  "B-PRT",
  "I-PRT",
  "B-SBAR",
  "I-SBAR",
  "B-UCP",
  "I-UCP",
  "B-VP",
  "I-VP",
];
const NER = ["O", "B-PER", "I-PER", "B-ORG", "I-ORG", "B-LOC", "I-LOC", "B-MISC", "I-MISC"];

/** HF's conll2003 features. */
export function conll2003Features(): Features {
  return {
    id: new Value("string"),
    tokens: new Sequence(new Value("string")),
    pos_tags: new Sequence(new ClassLabel({ names: POS })),
    chunk_tags: new Sequence(new ClassLabel({ names: CHUNK })),
    ner_tags: new Sequence(new ClassLabel({ names: NER })),
  };
}

/** A row of conll2003, typed. */
export interface Conll2003Row {
  id: string;
  tokens: string[];
  pos_tags: number[];
  chunk_tags: number[];
  ner_tags: number[];
}

/** The file a split is read from, as HF's script names them. */
export const CONLL2003_FILES = { train: "train.txt", validation: "valid.txt", test: "test.txt" } as const;

/** A CoNLL-2003 file's sentences as columns; a tag outside the script's names is an error naming the file and line. */
export function readConll2003(file: string): Record<keyof Conll2003Row, unknown[]> {
  const columns: Record<keyof Conll2003Row, unknown[]> = { id: [], tokens: [], pos_tags: [], chunk_tags: [], ner_tags: [] };
  const index = (names: string[]) => new Map(names.map((n, i) => [n, i]));
  const [pos, chunk, ner] = [index(POS), index(CHUNK), index(NER)];
  let current: { tokens: string[]; pos: number[]; chunk: number[]; ner: number[] } | null = null;
  const flush = () => {
    if (!current) return;
    columns.id.push(String(columns.id.length));
    columns.tokens.push(current.tokens);
    columns.pos_tags.push(current.pos);
    columns.chunk_tags.push(current.chunk);
    columns.ner_tags.push(current.ner);
    current = null;
  };
  readUtf8(file)
    .split("\n")
    .forEach((raw, n) => {
      const line = raw.replace(/\r$/, "");
      if (line.startsWith("-DOCSTART-") || line.trim() === "") return flush();
      const parts = line.split(" ");
      if (parts.length !== 4) throw new Error(`${file}:${n + 1}: expected 4 fields "token POS chunk NER", got ${JSON.stringify(line)}`);
      const tag = (map: Map<string, number>, v: string, what: string) => {
        const id = map.get(v);
        if (id === undefined) throw new Error(`${file}:${n + 1}: ${what} tag '${v}' is not one of conll2003's ${what} names`);
        return id;
      };
      current ??= { tokens: [], pos: [], chunk: [], ner: [] };
      current.tokens.push(parts[0]);
      current.pos.push(tag(pos, parts[1], "POS"));
      current.chunk.push(tag(chunk, parts[2], "chunk"));
      current.ner.push(tag(ner, parts[3], "NER"));
    });
  flush();
  return columns;
}
