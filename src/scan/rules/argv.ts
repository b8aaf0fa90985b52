// Command-line flags of a container (compose `command`, Kubernetes `command` + `args`), and how
// each flag's value is written in the file. The model holds argv after compose interpolation,
// so `--requirepass ${REDIS_PASSWORD}` arrives as the password itself (or "" when the variable
// is unset); only the source text says whether the file holds a literal, a reference or a
// reference with a default.
import type { Container, Service, SourcePos } from "../../model/types.ts";
import type { RuleContext } from "../types.ts";
import { argPos, containerPos } from "../where.ts";

/** How a value is written: in the file, taken from the environment, or the environment with a default in the file. */
export type Written =
  | { kind: "literal"; text: string }
  | { kind: "reference"; text: string }
  | { kind: "default"; text: string; value: string };

export interface Flag {
  /** The flag as given, without its value (`--requirepass`, `--NotebookApp.token`). */
  name: string;
  /** Interpolated value; undefined for a bare switch (`--noauth`). */
  value?: string;
  written?: Written;
  pos: SourcePos;
}

// ${NAME}, ${NAME:?err}, $NAME, $$NAME (compose's escape: the shell in the container expands
// it), and Kubernetes' $(NAME).
const REFERENCE = /^\$\$?(\{[A-Za-z_]\w*(?:[:]?[?][^}]*)?\}|[A-Za-z_]\w*)$|^\$\([A-Za-z_]\w*\)$/;
const WITH_DEFAULT = /^\$\{[A-Za-z_]\w*:?-(.*)\}$/;

function unquote(s: string): string {
  const m = /^(["'])(.*)\1$/s.exec(s);
  return m ? (m[2] ?? "") : s;
}

/** Classifies a token as written in the file. */
export function writtenAs(raw: string): Written {
  const text = unquote(raw.trim());
  if (REFERENCE.test(text)) return { kind: "reference", text };
  const d = WITH_DEFAULT.exec(text);
  if (d) {
    const value = unquote(d[1] ?? "");
    return value === "" || value.startsWith("$") ? { kind: "reference", text } : { kind: "default", text, value };
  }
  return { kind: "literal", text };
}

/** Argv split into words: `sh -c "redis-server --requirepass x"` is searched word by word too. */
function words(argv: readonly string[]): Array<{ word: string; index: number }> {
  return argv.flatMap((a, index) =>
    // an argument interpolated to "" (an unset variable) is still an argument
    a.trim() === ""
      ? [{ word: "", index }]
      : a
          .split(/\s+/)
          .filter(Boolean)
          .map((word) => ({ word, index })),
  );
}

const BLOCK_INDENT = /^\s*/;

/** The source text of the node at `pos` (its line plus the more-indented lines under it). */
function nodeText(ctx: RuleContext, pos: SourcePos): string | undefined {
  const lines = ctx.sources?.get(pos.file);
  if (!lines) return undefined;
  const first = lines[pos.line - 1];
  if (first === undefined) return undefined;
  const indent = BLOCK_INDENT.exec(first)?.[0].length ?? 0;
  const out = [first];
  for (let n = pos.line; n < lines.length; n++) {
    const l = lines[n] ?? "";
    if (l.trim() !== "" && (BLOCK_INDENT.exec(l)?.[0].length ?? 0) <= indent) break;
    out.push(l);
  }
  return out.join("\n");
}

function escapeRe(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

/**
 * The value after `flag` as written in the source: after `=`, or the next word, across the
 * quotes, commas and `- ` of flow and block sequences.
 */
function writtenValue(text: string | undefined, flag: string, inline: boolean): Written | undefined {
  if (text === undefined) return undefined;
  const sep = inline ? "=" : String.raw`["']?[\s,]*(?:-\s+)?`;
  const value = String.raw`("[^"\n]*"|'[^'\n]*'|\$\{[^}\n]*\}|[^\s"',\]#]+)`;
  const m = new RegExp(`${escapeRe(flag)}${sep}${value}`).exec(text);
  return m?.[1] !== undefined ? writtenAs(m[1]) : undefined;
}

/** The container's argv as written: the node(s) the flags come from. */
function argvText(ctx: RuleContext, s: Service, c: Container): string | undefined {
  const at =
    s.platform === "compose"
      ? [containerPos(s, c, ["command"])]
      : [containerPos(s, c, [], ["command"]), containerPos(s, c, [], ["args"])];
  const texts = [...new Set(at.filter((p) => p !== s.pos && p !== c.pos))].map((p) => nodeText(ctx, p));
  return texts.some((t) => t !== undefined) ? texts.join("\n") : undefined;
}

/**
 * Every `-x`/`--x` flag in the container's argv, with its value (`--x=v` or `--x v`) when the
 * next word is not itself a flag. `isValued` says which flags take a value, so a bare switch
 * followed by a positional argument is not read as `--switch arg`.
 */
export function flags(ctx: RuleContext, s: Service, c: Container, isValued: (name: string) => boolean): Flag[] {
  const argv = c.command ?? [];
  if (argv.length === 0) return [];
  const ws = words(argv);
  const text = argvText(ctx, s, c);
  const out: Flag[] = [];
  ws.forEach(({ word, index }, i) => {
    const m = /^(--?[A-Za-z][\w.-]*)(?:=(.*))?$/s.exec(word);
    if (!m) return;
    const name = m[1] ?? "";
    const pos = argPos(s, c, index);
    if (m[2] !== undefined) {
      const value = unquote(m[2]);
      out.push({ name, value, written: writtenValue(text, name, true) ?? writtenAs(m[2]), pos });
      return;
    }
    const next = ws[i + 1];
    if (isValued(name) && next && !/^--?[A-Za-z]/.test(next.word)) {
      const value = unquote(next.word);
      out.push({
        name,
        value,
        written: writtenValue(text, name, false) ?? writtenAs(next.word),
        pos: argPos(s, c, next.index),
      });
      return;
    }
    out.push({ name, pos });
  });
  return out;
}

/** The words of argv, for checks that look for a program or a config file rather than a flag. */
export function argvWords(c: Container): string[] {
  return words(c.command ?? []).map((w) => w.word);
}
