// Zod's issues turned into policy problems a person can act on: position, what was expected,
// and a hint (the closest known key for a misspelt one).
import type { z } from "zod";
import type { PolicyProblem } from "./errors.ts";
import type { PositionedYaml } from "./source.ts";
import { didYouMean } from "./suggest.ts";

interface Def {
  type: string;
  shape?: Record<string, z.ZodType>;
  element?: z.ZodType;
  valueType?: z.ZodType;
  innerType?: z.ZodType;
  in?: z.ZodType;
  options?: z.ZodType[];
}

function def(schema: z.ZodType): Def {
  return (schema as unknown as { _zod: { def: Def } })._zod.def;
}

/** The object schema reached by following `path` through wrappers, arrays and records. */
function objectAt(schema: z.ZodType, path: ReadonlyArray<PropertyKey>): Record<string, z.ZodType> | undefined {
  let current: z.ZodType | undefined = schema;
  let i = 0;
  for (let guard = 0; current && guard < 64; guard++) {
    const d = def(current);
    if (d.innerType) current = d.innerType;
    else if (d.type === "pipe" && d.in) current = d.in;
    else if (d.type === "union" && d.options)
      current = d.options.find((o) => def(o).type === "object" || def(o).type === "array") ?? d.options[0];
    else if (i === path.length) return d.type === "object" ? d.shape : undefined;
    else if (d.type === "object") current = d.shape?.[String(path[i++])];
    else if (d.type === "array" || d.type === "record") {
      current = d.type === "array" ? d.element : d.valueType;
      i++;
    } else return undefined;
  }
  return undefined;
}

function describeReceived(value: unknown): string {
  if (value === undefined) return "nothing";
  if (value === null) return "null";
  if (Array.isArray(value)) return "a list";
  if (typeof value === "object") return "a mapping";
  return `${typeof value} ${JSON.stringify(value)}`;
}

function valueAt(data: unknown, path: ReadonlyArray<PropertyKey>): unknown {
  let v: unknown = data;
  for (const seg of path) {
    if (v === null || typeof v !== "object") return undefined;
    v = (v as Record<PropertyKey, unknown>)[seg as string];
  }
  return v;
}

export function zodIssuesToProblems(
  schema: z.ZodType,
  issues: z.core.$ZodIssue[],
  source: PositionedYaml,
): PolicyProblem[] {
  const problems: PolicyProblem[] = [];
  for (const issue of issues) {
    const path = issue.path.filter((p): p is string | number => typeof p !== "symbol");
    const where = path.length ? path.join(".") : "the top level";
    if (issue.code === "unrecognized_keys") {
      const known = Object.keys(objectAt(schema, path) ?? {});
      for (const key of issue.keys) {
        const hint = didYouMean(key, known) ?? (known.length ? `allowed keys here: ${known.join(", ")}` : undefined);
        problems.push(source.problem([...path, key], `unknown key '${key}' in ${where}`, hint, "key"));
      }
      continue;
    }
    const received = valueAt(source.data, path);
    if (issue.code === "invalid_key") {
      const key = String(path[path.length - 1]);
      problems.push(
        source.problem(
          path,
          `'${key}' is not a valid name in ${path.slice(0, -1).join(".")}`,
          "use a name of letters, digits, '_', '.' or '-'",
          "key",
        ),
      );
      continue;
    }
    if (received === undefined && path.length > 0 && issue.code !== "custom") {
      const parent = path.slice(0, -1);
      problems.push(
        source.problem(
          parent,
          `missing '${String(path[path.length - 1])}' in ${parent.length ? parent.join(".") : "the top level"}`,
          `add ${String(path[path.length - 1])}: …`,
          "key",
        ),
      );
      continue;
    }
    let message = issue.message;
    let hint: string | undefined;
    if (issue.code === "invalid_value" && "values" in issue) {
      const allowed = (issue.values as unknown[]).map((v) => JSON.stringify(v));
      message = `expected one of ${allowed.join(", ")}`;
      hint = typeof received === "string" ? didYouMean(received, (issue.values as unknown[]).map(String)) : undefined;
    } else if (issue.code === "invalid_type") {
      message = `expected ${issue.expected}, got ${describeReceived(received)}`;
    } else if (issue.code === "invalid_union") {
      message = `expected ${issue.message.replace(/^Invalid input:?\s*/i, "") || "a different value"}, got ${describeReceived(received)}`;
    } else if (issue.code === "invalid_format" || issue.code === "too_small" || issue.code === "too_big") {
      message = `expected ${issue.message}, got ${describeReceived(received)}`;
    } else if (issue.code === "custom" || issue.code === ("invalid_string" as string)) {
      message = `expected ${issue.message}, got ${describeReceived(received)}`;
      const given = (issue as { params?: { hint?: unknown } }).params?.hint;
      if (typeof given === "string") hint = given;
    }
    problems.push(source.problem(path, `${where}: ${message}`, hint));
  }
  return problems;
}
