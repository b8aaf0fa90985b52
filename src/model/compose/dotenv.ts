// `.env` and `env_file` contents: KEY=VALUE lines, `export` prefixes, comments, single quotes
// (literal), double quotes (escapes + interpolation), unquoted values with ` #` comments.
import type { SourcePos } from "../types.ts";
import { interpolate, type Lookup } from "./interpolate.ts";

export interface DotenvEntry {
  name: string;
  /** undefined for a bare `KEY` line (value taken from the environment at run time). */
  value?: string;
  pos: SourcePos;
}

const LINE = /^\s*(?:export\s+)?([^\s=#]+)\s*(?:=(.*))?$/;

function unescapeDouble(s: string): string {
  return s.replace(/\\([\\nrt"$])/g, (_, c: string) => ({ n: "\n", r: "\r", t: "\t" })[c] ?? c);
}

/**
 * Parses dotenv text. Values may refer to `lookup` (compose interpolates env files) and to
 * earlier keys; expansion problems leave the raw value rather than failing the whole read.
 */
export function parseDotenv(text: string, file: string, lookup: Lookup = () => undefined): DotenvEntry[] {
  const out: DotenvEntry[] = [];
  const seen = new Map<string, string>();
  const lines = text.split(/\r?\n/);
  // as compose-go: the environment the file is read in wins over the file's own earlier keys
  const local: Lookup = (n) => lookup(n) ?? seen.get(n);
  for (let i = 0; i < lines.length; i++) {
    const raw = lines[i] ?? "";
    const trimmed = raw.trim();
    if (trimmed === "" || trimmed.startsWith("#")) continue;
    const m = LINE.exec(raw);
    if (!m) continue;
    const name = m[1] ?? "";
    const col = raw.indexOf(name) + 1;
    const pos: SourcePos = { file, line: i + 1, col };
    if (m[2] === undefined) {
      out.push({ name, pos });
      continue;
    }
    let rest = m[2].trimStart();
    let value: string;
    const q = rest[0];
    if (q === "'" || q === '"') {
      // a quoted value may span lines until its closing quote
      let body = rest.slice(1);
      let end = findClose(body, q);
      while (end < 0 && i + 1 < lines.length) {
        i++;
        body += `\n${lines[i] ?? ""}`;
        end = findClose(body, q);
      }
      rest = end < 0 ? body : body.slice(0, end);
      value = q === "'" ? rest : expand(unescapeDouble(rest), local, pos);
    } else {
      const hash = rest.search(/\s#/);
      value = expand((hash >= 0 ? rest.slice(0, hash) : rest).trim(), local, pos);
    }
    seen.set(name, value);
    out.push({ name, value, pos });
  }
  return out;
}

function findClose(s: string, q: string): number {
  for (let i = 0; i < s.length; i++) {
    if (s[i] === "\\" && q === '"') i++;
    else if (s[i] === q) return i;
  }
  return -1;
}

function expand(s: string, lookup: Lookup, pos: SourcePos): string {
  if (!s.includes("$")) return s;
  try {
    return interpolate(s, lookup, pos).value;
  } catch {
    return s;
  }
}
