// SQuAD v1.1 as Hugging Face's squad dataset gives it: one row per question (id, title, context,
// question, answers: { text, answer_start }), read from the official JSON files (train-v1.1.json,
// dev-v1.1.json → validation) in the order of HF's script: articles, paragraphs, questions. The
// context is kept as it is (the script does not strip it: answer_start counts from its first character).
import { readUtf8 } from "../util/files.js";
import { Sequence, Struct, Value, type Features } from "./features.js";

/** HF's squad features (its Sequence of a dict, stored as a dict of sequences). */
export function squadFeatures(): Features {
  return {
    id: new Value("string"),
    title: new Value("string"),
    context: new Value("string"),
    question: new Value("string"),
    answers: new Struct({ text: new Sequence(new Value("string")), answer_start: new Sequence(new Value("int32")) }),
  };
}

/** A row of squad, typed. */
export interface SquadRow {
  id: string;
  title: string;
  context: string;
  question: string;
  answers: { text: string[]; answer_start: number[] };
}

export const SQUAD_FILES = { train: "train-v1.1.json", validation: "dev-v1.1.json" } as const;

type Json = Record<string, unknown>;

/** A SQuAD JSON file's questions as columns; a file that is not SQuAD's layout is an error naming what is missing. */
export function readSquad(file: string): Record<keyof SquadRow, unknown[]> {
  let doc: Json;
  try {
    doc = JSON.parse(readUtf8(file)) as Json;
  } catch (e) {
    throw new Error(`${file}: not valid JSON (${(e as Error).message})`);
  }
  if (!Array.isArray(doc.data)) throw new Error(`${file}: no 'data' list of articles (SQuAD's layout: {"data": [{"title", "paragraphs": [...]}]})`);
  const columns: Record<keyof SquadRow, unknown[]> = { id: [], title: [], context: [], question: [], answers: [] };
  (doc.data as Json[]).forEach((article, a) => {
    const paragraphs = article.paragraphs;
    if (!Array.isArray(paragraphs)) throw new Error(`${file}: article ${a} has no 'paragraphs' list`);
    for (const [p, paragraph] of (paragraphs as Json[]).entries()) {
      const context = paragraph.context;
      if (typeof context !== "string") throw new Error(`${file}: article ${a}, paragraph ${p} has no 'context' string`);
      if (!Array.isArray(paragraph.qas)) throw new Error(`${file}: article ${a}, paragraph ${p} has no 'qas' list`);
      let chars: string[] | null = null;
      for (const qa of paragraph.qas as Json[]) {
        const answers = (qa.answers ?? []) as Json[];
        if (typeof qa.id !== "string" || typeof qa.question !== "string" || !Array.isArray(answers)) {
          throw new Error(`${file}: article ${a}, paragraph ${p}: a question without 'id', 'question' or 'answers': ${JSON.stringify(qa).slice(0, 200)}`);
        }
        // answer_start counts code points (Python's str indices): the answer must be there, or the
        // course's preprocessing would silently label the question unanswerable.
        for (const x of answers) {
          const text = String(x.text);
          const start = Number(x.answer_start);
          chars ??= Array.from(context);
          const found = chars.slice(start, start + Array.from(text).length).join("");
          if (!Number.isInteger(start) || start < 0 || found !== text) {
            throw new Error(
              `${file}: question ${qa.id}: the answer ${JSON.stringify(text)} is not in its context at answer_start ${x.answer_start} (the context has ${JSON.stringify(found)} there)`,
            );
          }
        }
        columns.id.push(qa.id);
        columns.title.push(typeof article.title === "string" ? article.title : "");
        columns.context.push(context);
        columns.question.push(qa.question);
        columns.answers.push({ text: answers.map((x) => String(x.text)), answer_start: answers.map((x) => Number(x.answer_start)) });
      }
    }
  });
  return columns;
}
