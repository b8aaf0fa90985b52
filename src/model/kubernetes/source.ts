// Reads a manifest stream into plain objects plus a map from dotted path to position, so the
// mappers work on plain values and findings can still point at the line that set them.
import { isAlias, isMap, isScalar, isSeq, LineCounter, type Node, parseAllDocuments } from "yaml";
import { InputError } from "../errors.ts";
import type { SourcePos } from "../types.ts";

/** One manifest object (a document, or one item of a `kind: List`). */
export interface Manifest {
  value: Record<string, unknown>;
  /** Dotted path (relative to this object) → position of its key, or of the item in a sequence. */
  positions: Record<string, SourcePos>;
  /** Position of the object itself. */
  pos: SourcePos;
  file: string;
}

/** Parses every document of `text`; throws InputError on YAML syntax errors. */
export function manifestsFromText(text: string, file: string): Manifest[] {
  const lineCounter = new LineCounter();
  const parsed = parseAllDocuments(text, { lineCounter, uniqueKeys: false });
  const docs = Array.isArray(parsed) ? parsed : [];
  const at = (offset: number): SourcePos => {
    const { line, col } = lineCounter.linePos(offset);
    return { file, line, col };
  };
  const out: Manifest[] = [];
  for (const doc of docs) {
    const err = doc.errors[0];
    if (err) {
      throw new InputError(
        `invalid YAML: ${err.message.split("\n")[0]}`,
        at(err.pos[0]),
        "fix the YAML syntax; unrendered Helm templates must be rendered first (`helm template …`)",
      );
    }
    const root = doc.contents;
    // An empty document (between `---`, or only comments, as helm template emits).
    if (root === null || root === undefined || (isScalar(root) && root.value === null)) continue;
    const value = doc.toJS({ maxAliasCount: 1000 }) as unknown;
    if (!isMap(root) || !isPlainObject(value)) {
      const p = at(root.range?.[0] ?? 0);
      throw new InputError(
        `expected a Kubernetes object (a mapping with apiVersion and kind)`,
        p,
        "each YAML document must be one manifest; remove stray scalars or lists",
      );
    }
    if (value["kind"] === "List" && Array.isArray(value["items"])) {
      const itemsNode = root.get("items", true);
      const items = isSeq(itemsNode) ? itemsNode.items : [];
      value["items"].forEach((item, i) => {
        const node = items[i] as Node | undefined;
        if (!isPlainObject(item) || !node) return;
        out.push(manifest(item, node, at, file));
      });
      continue;
    }
    out.push(manifest(value, root, at, file));
  }
  return out;
}

function manifest(
  value: Record<string, unknown>,
  node: Node,
  at: (offset: number) => SourcePos,
  file: string,
): Manifest {
  const positions: Record<string, SourcePos> = {};
  collect(node, "", at, positions);
  return { value, positions, pos: at(node.range?.[0] ?? 0), file };
}

function collect(node: unknown, prefix: string, at: (o: number) => SourcePos, out: Record<string, SourcePos>): void {
  if (isAlias(node) || isScalar(node)) return;
  if (isMap(node)) {
    for (const pair of node.items) {
      const key = isScalar(pair.key) ? String(pair.key.value) : String(pair.key);
      const path = prefix ? `${prefix}.${key}` : key;
      const keyNode = pair.key as Node | null;
      const offset = keyNode?.range?.[0] ?? (pair.value as Node | null)?.range?.[0];
      if (offset !== undefined) out[path] = at(offset);
      collect(pair.value, path, at, out);
    }
  } else if (isSeq(node)) {
    node.items.forEach((item, i) => {
      const path = prefix ? `${prefix}.${i}` : String(i);
      const offset = (item as Node | null)?.range?.[0];
      if (offset !== undefined) out[path] = at(offset);
      collect(item, path, at, out);
    });
  }
}

export function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}
