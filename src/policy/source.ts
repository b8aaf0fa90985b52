// A parsed YAML document that remembers where every value came from, so errors found after
// parsing (by zod or by the semantic checks) can name file:line:col.
import { isMap, isPair, isScalar, isSeq, LineCounter, type Node, parseDocument } from "yaml";
import type { PolicyProblem } from "./errors.ts";

export type Path = ReadonlyArray<string | number>;

export class PositionedYaml {
  readonly file: string;
  readonly data: unknown;
  readonly syntaxProblems: PolicyProblem[];
  private readonly doc: ReturnType<typeof parseDocument>;
  private readonly lines: LineCounter;

  constructor(text: string, file: string) {
    this.file = file;
    this.lines = new LineCounter();
    this.doc = parseDocument(text, { lineCounter: this.lines, prettyErrors: false, uniqueKeys: true, merge: true });
    this.syntaxProblems = this.doc.errors.map((e) => {
      const at = this.lines.linePos(e.pos[0]);
      return {
        file,
        line: at.line,
        col: at.col,
        message: `invalid YAML: ${e.message.split("\n")[0]}`,
        hint: yamlHint(e.code),
      };
    });
    this.data = this.syntaxProblems.length === 0 ? this.doc.toJS({ maxAliasCount: 100 }) : undefined;
  }

  /** The position of the value at `path`, or of its nearest existing ancestor. */
  at(path: Path, which: "value" | "key" = "value"): { line: number; col: number } {
    let node: unknown = this.doc.contents;
    let best: Node | null | undefined = this.doc.contents;
    for (let i = 0; i < path.length; i++) {
      const segment = path[i]!;
      if (isMap(node)) {
        const pair = node.items.find((p) => isPair(p) && isScalar(p.key) && String(p.key.value) === String(segment));
        if (!pair) break;
        const isLast = i === path.length - 1;
        if (isLast && which === "key" && isScalar(pair.key)) {
          best = pair.key;
          break;
        }
        node = pair.value;
        best = (pair.value as Node | null) ?? (pair.key as Node);
      } else if (isSeq(node) && typeof segment === "number") {
        node = node.items[segment];
        if (!node) break;
        best = node as Node;
      } else break;
    }
    const offset = best?.range?.[0] ?? 0;
    return this.lines.linePos(offset);
  }

  isList(path: Path): boolean {
    let v: unknown = this.data;
    for (const seg of path) v = v && typeof v === "object" ? (v as Record<string, unknown>)[seg as string] : undefined;
    return Array.isArray(v);
  }

  problem(path: Path, message: string, hint?: string, which: "value" | "key" = "value"): PolicyProblem {
    const { line, col } = this.at(path, which);
    return hint ? { file: this.file, line, col, message, hint } : { file: this.file, line, col, message };
  }
}

function yamlHint(code: string): string | undefined {
  switch (code) {
    case "DUPLICATE_KEY":
      return "each key may appear once per mapping; merge the two entries";
    case "BAD_INDENT":
    case "MISSING_CHAR":
      return "check the indentation: nested keys need more spaces than their parent";
    case "TAB_AS_INDENT":
      return "YAML indents with spaces, not tabs";
    default:
      return "check the YAML syntax near this position";
  }
}
