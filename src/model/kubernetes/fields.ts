// Typed access to one manifest's fields: a wrong shape becomes an InputError naming the
// file:line:col, the field and what was expected, never a crash deep in a mapper.
import { InputError } from "../errors.ts";
import type { SourcePos } from "../types.ts";
import { isPlainObject, type Manifest } from "./source.ts";

export interface Fields {
  file: string;
  /** Position of `path`, or of its nearest ancestor that was written. */
  pos(path: string): SourcePos;
  map(value: unknown, path: string): Record<string, unknown> | undefined;
  list(value: unknown, path: string): unknown[];
  str(value: unknown, path: string): string | undefined;
  int(value: unknown, path: string): number | undefined;
  bool(value: unknown, path: string): boolean | undefined;
  /** Every written position at or under `prefix`, keyed by its full path. */
  positionsUnder(prefix: string): Record<string, SourcePos>;
}

export function fieldsOf(m: Manifest): Fields {
  const pos = (path: string): SourcePos => {
    let p = path;
    for (;;) {
      const hit = m.positions[p];
      if (hit) return hit;
      const dot = p.lastIndexOf(".");
      if (dot < 0) return m.pos;
      p = p.slice(0, dot);
    }
  };
  const fail = (path: string, expected: string, got: unknown): never => {
    const p = pos(path);
    const shown = Array.isArray(got) ? "a list" : isPlainObject(got) ? "a mapping" : JSON.stringify(got);
    throw new InputError(
      `${path}: expected ${expected}, got ${shown}`,
      p,
      `write ${path} as ${expected} (see the Kubernetes API reference for this field)`,
    );
  };
  return {
    file: m.file,
    pos,
    map(value, path) {
      if (value === undefined || value === null) return undefined;
      return isPlainObject(value) ? value : fail(path, "a mapping", value);
    },
    list(value, path) {
      if (value === undefined || value === null) return [];
      return Array.isArray(value) ? value : fail(path, "a list", value);
    },
    str(value, path) {
      if (value === undefined || value === null) return undefined;
      if (typeof value === "string") return value;
      if (typeof value === "number" || typeof value === "boolean") return String(value);
      return fail(path, "a string", value);
    },
    int(value, path) {
      if (value === undefined || value === null) return undefined;
      if (typeof value === "number" && Number.isInteger(value)) return value;
      if (typeof value === "string" && /^\d+$/.test(value)) return Number(value);
      return fail(path, "an integer", value);
    },
    bool(value, path) {
      if (value === undefined || value === null) return undefined;
      if (typeof value === "boolean") return value;
      if (value === "true" || value === "false") return value === "true";
      return fail(path, "true or false", value);
    },
    positionsUnder(prefix) {
      const out: Record<string, SourcePos> = {};
      for (const [k, v] of Object.entries(m.positions)) {
        if (prefix === "" || k === prefix || k.startsWith(`${prefix}.`)) out[k] = v;
      }
      return out;
    },
  };
}
