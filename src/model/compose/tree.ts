// A YAML document as a small tree whose every node keeps its source position, so merged,
// extended and included values still point at the file and line that contributed them.
// Anchors, aliases and merge keys (`<<: *x`) are resolved here; `!reset` / `!override`
// tags are kept for the merge step.
import { isAlias, isMap, isPair, isScalar, isSeq, LineCounter, type Node, parseDocument } from "yaml";
import { InputError } from "../errors.ts";
import type { SourcePos } from "../types.ts";

export type ScalarValue = string | number | boolean | null;

interface Base {
  pos: SourcePos;
  /** `!reset` or `!override` (compose merge directives), else undefined. */
  tag?: string;
}
export interface PScalar extends Base {
  kind: "scalar";
  value: ScalarValue;
}
export interface PSeq extends Base {
  kind: "seq";
  items: PV[];
}
export interface PEntry {
  keyPos: SourcePos;
  value: PV;
}
export interface PMap extends Base {
  kind: "map";
  entries: Map<string, PEntry>;
}
export type PV = PScalar | PSeq | PMap;

const COMPOSE_TAGS = new Set(["!reset", "!override"]);

export function scalar(value: ScalarValue, pos: SourcePos): PScalar {
  return { kind: "scalar", value, pos };
}

/** Parses one compose file. Throws InputError with line:col on YAML syntax errors. */
export function parseYamlTree(text: string, file: string): PV | undefined {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, merge: true, uniqueKeys: false, prettyErrors: false });
  const posAt = (offset: number): SourcePos => {
    const { line, col } = lineCounter.linePos(offset);
    return { file, line, col };
  };
  const first = doc.errors[0];
  if (first) {
    const pos = posAt(first.pos[0]);
    const msg = first.message.split("\n")[0] ?? first.message;
    throw new InputError(
      `${file}:${pos.line}:${pos.col}: invalid YAML: ${msg}`,
      pos,
      "fix the YAML syntax at this position (indentation, quotes, brackets)",
    );
  }
  const cache = new Map<Node, PV>();
  const resolving = new Set<Node>();

  const convert = (node: unknown): PV => {
    if (isAlias(node)) {
      const target = node.resolve(doc);
      if (!target) {
        const pos = posAt(node.range?.[0] ?? 0);
        throw new InputError(
          `${file}:${pos.line}:${pos.col}: unknown alias *${node.source}`,
          pos,
          "define the anchor first",
        );
      }
      return convert(target);
    }
    if (node === null || node === undefined) return scalar(null, posAt(0));
    const n = node as Node;
    const cached = cache.get(n);
    if (cached) return cached;
    if (resolving.has(n)) {
      const pos = posAt(n.range?.[0] ?? 0);
      throw new InputError(`${file}:${pos.line}:${pos.col}: recursive alias`, pos, "an anchor cannot contain itself");
    }
    resolving.add(n);
    const pos = posAt(n.range?.[0] ?? 0);
    const tag = n.tag && COMPOSE_TAGS.has(n.tag) ? n.tag : undefined;
    let out: PV;
    if (isScalar(n)) {
      const v = n.value;
      const value: ScalarValue =
        v === null || v === undefined
          ? null
          : typeof v === "string" || typeof v === "number" || typeof v === "boolean"
            ? v
            : typeof v === "bigint"
              ? Number(v)
              : String(v);
      out = { kind: "scalar", value, pos };
    } else if (isSeq(n)) {
      out = { kind: "seq", items: n.items.map((i) => convert(i)), pos };
    } else if (isMap(n)) {
      const entries = new Map<string, PEntry>();
      const merges: PV[] = [];
      for (const pair of n.items) {
        if (!isPair(pair)) continue;
        const k = pair.key;
        if (isScalar(k) && typeof k.value === "symbol") {
          // merge key: explicit keys win, earlier merge sources win over later ones
          const v = pair.value;
          if (isSeq(v)) for (const item of v.items) merges.push(convert(item));
          else merges.push(convert(v));
          continue;
        }
        const keyPos = posAt((k as Node | null)?.range?.[0] ?? n.range?.[0] ?? 0);
        const keyStr = isScalar(k) ? String(k.value) : String(k);
        // checked here rather than by the parser's uniqueKeys, which is quadratic in map size
        if (entries.has(keyStr)) {
          throw new InputError(
            `${file}:${keyPos.line}:${keyPos.col}: duplicate key "${keyStr}"`,
            keyPos,
            "remove or rename one of the keys",
          );
        }
        const valueNode = pair.value;
        const value =
          valueNode === null || valueNode === undefined ? scalar(null, keyPos) : convert(valueNode as unknown);
        entries.set(keyStr, { keyPos, value });
      }
      for (const src of merges) {
        if (src.kind !== "map") {
          throw new InputError(
            `${file}:${src.pos.line}:${src.pos.col}: merge key << needs a mapping`,
            src.pos,
            "use `<<: *anchor` where the anchor is a mapping",
          );
        }
        for (const [key, entry] of src.entries) if (!entries.has(key)) entries.set(key, entry);
      }
      out = { kind: "map", entries, pos };
    } else {
      out = scalar(null, pos);
    }
    if (tag) out = { ...out, tag };
    resolving.delete(n);
    cache.set(n, out);
    return out;
  };

  if (doc.contents === null || doc.contents === undefined) return undefined;
  return convert(doc.contents);
}

/** A value as plain JS (positions dropped), for structural comparison. */
export function plain(v: PV): unknown {
  if (v.kind === "scalar") return v.value;
  if (v.kind === "seq") return v.items.map(plain);
  const o: Record<string, unknown> = {};
  for (const [k, e] of v.entries) o[k] = plain(e.value);
  return o;
}

export function get(map: PV | undefined, key: string): PV | undefined {
  return map?.kind === "map" ? map.entries.get(key)?.value : undefined;
}

export function str(v: PV | undefined): string | undefined {
  if (v?.kind !== "scalar" || v.value === null) return undefined;
  return String(v.value);
}
