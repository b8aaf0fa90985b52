// LabelSelector (matchLabels + matchExpressions) as written in a manifest.
import { InputError } from "../errors.ts";
import type { LabelSelector } from "../types.ts";
import type { Fields } from "./fields.ts";

const OPERATORS = ["In", "NotIn", "Exists", "DoesNotExist"] as const;
type Operator = (typeof OPERATORS)[number];

export function selectorOf(f: Fields, v: unknown, path: string): LabelSelector {
  const m = f.map(v, path) ?? {};
  const matchLabels: Record<string, string> = {};
  const ml = f.map(m["matchLabels"], `${path}.matchLabels`) ?? {};
  for (const [k, x] of Object.entries(ml)) matchLabels[k] = f.str(x, `${path}.matchLabels.${k}`) ?? "";
  const matchExpressions = f.list(m["matchExpressions"], `${path}.matchExpressions`).map((raw, i) => {
    const ep = `${path}.matchExpressions.${i}`;
    const e = f.map(raw, ep) ?? {};
    const operator = f.str(e["operator"], `${ep}.operator`);
    if (!OPERATORS.includes(operator as Operator)) {
      const p = f.pos(`${ep}.operator`);
      throw new InputError(
        `${ep}.operator: expected one of ${OPERATORS.join(", ")}, got ${JSON.stringify(operator)}`,
        p,
        "use In, NotIn, Exists or DoesNotExist (case-sensitive)",
      );
    }
    return {
      key: f.str(e["key"], `${ep}.key`) ?? "",
      operator: operator as Operator,
      values: f.list(e["values"], `${ep}.values`).map((x, j) => f.str(x, `${ep}.values.${j}`) ?? ""),
    };
  });
  return { matchLabels, matchExpressions };
}
