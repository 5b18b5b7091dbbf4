// Post-processing on ids: the special tokens a tokenizer.json's post_processor adds around one or
// two sequences, with their token type ids. Applied after truncation, as the Rust tokenizers do.

export interface Piece {
  /** Fixed ids (a special token), or the index of the sequence (0 = A, 1 = B). */
  ids?: number[];
  sequence?: 0 | 1;
  typeId: number;
}

export interface Template {
  single: Piece[];
  pair: Piece[];
}

type Json = Record<string, unknown>;

function idsOf(specials: Json, name: string, where: string): number[] {
  const s = specials[name] as { ids?: number[] } | undefined;
  if (!s || !Array.isArray(s.ids)) throw new Error(`${where}: post_processor names special token '${name}' without ids`);
  return s.ids;
}

function fromTemplate(items: Json[], specials: Json, where: string): Piece[] {
  return items.map((item) => {
    if ("SpecialToken" in item) {
      const t = item.SpecialToken as { id: string; type_id: number };
      return { ids: idsOf(specials, t.id, where), typeId: t.type_id };
    }
    if ("Sequence" in item) {
      const s = item.Sequence as { id: "A" | "B"; type_id: number };
      return { sequence: s.id === "A" ? 0 : 1, typeId: s.type_id };
    }
    throw new Error(`${where}: unknown TemplateProcessing item ${JSON.stringify(item)}`);
  });
}

/** Reads the post_processor of a tokenizer.json (TemplateProcessing, BertProcessing, RobertaProcessing, ByteLevel, none). */
export function templateOf(post: Json | null | undefined, where: string): Template {
  if (!post)
    return {
      single: [{ sequence: 0, typeId: 0 }],
      pair: [
        { sequence: 0, typeId: 0 },
        { sequence: 1, typeId: 1 },
      ],
    };
  switch (post.type) {
    case "TemplateProcessing": {
      const specials = (post.special_tokens ?? {}) as Json;
      return { single: fromTemplate(post.single as Json[], specials, where), pair: fromTemplate(post.pair as Json[], specials, where) };
    }
    case "BertProcessing": {
      const [, cls] = post.cls as [string, number];
      const [, sep] = post.sep as [string, number];
      return {
        single: [
          { ids: [cls], typeId: 0 },
          { sequence: 0, typeId: 0 },
          { ids: [sep], typeId: 0 },
        ],
        pair: [
          { ids: [cls], typeId: 0 },
          { sequence: 0, typeId: 0 },
          { ids: [sep], typeId: 0 },
          { sequence: 1, typeId: 1 },
          { ids: [sep], typeId: 1 },
        ],
      };
    }
    case "RobertaProcessing": {
      const [, cls] = post.cls as [string, number];
      const [, sep] = post.sep as [string, number];
      return {
        single: [
          { ids: [cls], typeId: 0 },
          { sequence: 0, typeId: 0 },
          { ids: [sep], typeId: 0 },
        ],
        pair: [
          { ids: [cls], typeId: 0 },
          { sequence: 0, typeId: 0 },
          { ids: [sep, sep], typeId: 0 },
          { sequence: 1, typeId: 0 },
          { ids: [sep], typeId: 0 },
        ],
      };
    }
    case "ByteLevel":
      return templateOf(null, where);
    case "Sequence": {
      const inner = (post.processors as Json[]).filter((p) => p.type !== "ByteLevel");
      if (inner.length > 1) throw new Error(`${where}: a post_processor Sequence with ${inner.length} id-adding processors is not supported`);
      return templateOf(inner[0] ?? null, where);
    }
    default:
      throw new Error(`${where}: post_processor type '${String(post.type)}' is not supported`);
  }
}

export function numSpecialTokens(t: Template, pair: boolean): number {
  return (pair ? t.pair : t.single).reduce((n, p) => n + (p.ids?.length ?? 0), 0);
}

/** Assembles ids, token types and the special-tokens mask for one or two already-truncated sequences. */
export function applyTemplate(
  t: Template,
  a: number[],
  b: number[] | null,
  addSpecialTokens: boolean,
): { ids: number[]; typeIds: number[]; specialMask: number[]; sequenceIds: (number | null)[] } {
  const ids: number[] = [];
  const typeIds: number[] = [];
  const specialMask: number[] = [];
  const sequenceIds: (number | null)[] = [];
  const seqs = [a, b];
  const pieces = addSpecialTokens
    ? b
      ? t.pair
      : t.single
    : b
      ? [
          { sequence: 0 as const, typeId: 0 },
          { sequence: 1 as const, typeId: 1 },
        ]
      : [{ sequence: 0 as const, typeId: 0 }];
  for (const p of pieces) {
    if (p.ids) {
      for (const id of p.ids) {
        ids.push(id);
        typeIds.push(p.typeId);
        specialMask.push(1);
        sequenceIds.push(null);
      }
    } else {
      for (const id of seqs[p.sequence!] ?? []) {
        ids.push(id);
        typeIds.push(p.typeId);
        specialMask.push(0);
        sequenceIds.push(p.sequence!);
      }
    }
  }
  return { ids, typeIds, specialMask, sequenceIds };
}
