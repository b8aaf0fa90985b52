// biome-ignore-all lint/suspicious/noTemplateCurlyInString: compose's ${VAR} syntax is the subject here
// Compose variable substitution: $VAR, ${VAR}, ${VAR:-d}, ${VAR-d}, ${VAR:?e}, ${VAR?e},
// ${VAR:+a}, ${VAR+a}, $$ escapes and nested expressions in the default/alternative part.
import { InputError } from "../errors.ts";
import type { SourcePos } from "../types.ts";
import type { PEntry, PV } from "./tree.ts";

export type Lookup = (name: string) => string | undefined;

export interface InterpolationResult {
  value: string;
  /** Variables that were unset and had no default (became ""). */
  unset: string[];
}

const NAME = /^[_a-zA-Z][_a-zA-Z0-9]*/;

/** Index of the `}` closing a `${` whose body starts at `start`, honouring nested `${…}`. */
function closingBrace(s: string, start: number): number {
  let depth = 1;
  for (let i = start; i < s.length; i++) {
    const c = s[i];
    if (c === "$" && s[i + 1] === "$") {
      i++;
    } else if (c === "$" && s[i + 1] === "{") {
      depth++;
      i++;
    } else if (c === "}") {
      depth--;
      if (depth === 0) return i;
    }
  }
  return -1;
}

export function interpolate(s: string, lookup: Lookup, pos: SourcePos): InterpolationResult {
  const unset: string[] = [];
  const fail = (message: string, hint: string): never => {
    throw new InputError(`${pos.file}:${pos.line}:${pos.col}: ${message}`, pos, hint);
  };
  const run = (text: string): string => {
    if (!text.includes("$")) return text;
    let out = "";
    let i = 0;
    while (i < text.length) {
      const c = text[i];
      if (c !== "$") {
        out += c;
        i++;
        continue;
      }
      const next = text[i + 1];
      if (next === "$") {
        out += "$";
        i += 2;
        continue;
      }
      if (next === "{") {
        const end = closingBrace(text, i + 2);
        if (end < 0)
          fail(`invalid interpolation format in "${text}": missing }`, "close the ${…} expression or escape $ as $$");
        const body = text.slice(i + 2, end);
        out += expand(body, text);
        i = end + 1;
        continue;
      }
      const m = NAME.exec(text.slice(i + 1));
      if (m) {
        const value = lookup(m[0]);
        if (value === undefined) unset.push(m[0]);
        out += value ?? "";
        i += 1 + m[0].length;
        continue;
      }
      // a lone `$` (e.g. `$!`, `$(`) is left as written, as compose does
      out += "$";
      i++;
    }
    return out;
  };
  const expand = (body: string, whole: string): string => {
    const m = NAME.exec(body);
    if (!m)
      return fail(
        `invalid interpolation format for "${whole}"`,
        "a variable name must match [_a-zA-Z][_a-zA-Z0-9]*; escape a literal $ as $$",
      );
    const name = m[0];
    const rest = body.slice(name.length);
    const value = lookup(name);
    if (rest === "") {
      if (value === undefined) unset.push(name);
      return value ?? "";
    }
    const op = rest.startsWith(":") ? rest.slice(0, 2) : rest.slice(0, 1);
    const arg = rest.slice(op.length);
    switch (op) {
      case ":-":
        return value === undefined || value === "" ? run(arg) : value;
      case "-":
        return value === undefined ? run(arg) : value;
      case ":+":
        return value === undefined || value === "" ? "" : run(arg);
      case "+":
        return value === undefined ? "" : run(arg);
      case ":?":
        if (value === undefined || value === "") {
          return fail(
            `required variable ${name} is missing a value: ${run(arg)}`,
            `set ${name} in the environment or in .env`,
          );
        }
        return value;
      case "?":
        if (value === undefined) {
          return fail(
            `required variable ${name} is missing a value: ${run(arg)}`,
            `set ${name} in the environment or in .env`,
          );
        }
        return value;
      default:
        return fail(
          `invalid interpolation format for "${whole}"`,
          "use ${VAR}, ${VAR:-default}, ${VAR:?error} or ${VAR:+alt}",
        );
    }
  };
  const value = run(s);
  return { value, unset };
}

/** Interpolates every string scalar of a tree; reports unset variables with their position. */
export function interpolateTree(v: PV, lookup: Lookup, onUnset: (name: string, pos: SourcePos) => void): PV {
  if (v.kind === "scalar") {
    if (typeof v.value !== "string" || !v.value.includes("$")) return v;
    const r = interpolate(v.value, lookup, v.pos);
    for (const name of r.unset) onUnset(name, v.pos);
    return { ...v, value: r.value };
  }
  if (v.kind === "seq") return { ...v, items: v.items.map((i) => interpolateTree(i, lookup, onUnset)) };
  const entries = new Map<string, PEntry>();
  for (const [k, e] of v.entries)
    entries.set(k, { keyPos: e.keyPos, value: interpolateTree(e.value, lookup, onUnset) });
  return { ...v, entries };
}
