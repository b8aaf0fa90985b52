// How any error reaches the user: position first, then the message, then the fix.
import { InputError } from "../model/errors.ts";
import { PolicyError } from "../policy/errors.ts";
import { paint } from "../report/paint.ts";
import { UsageError } from "./command.ts";

export function formatError(err: unknown, color: boolean): string {
  if (err instanceof PolicyError) return `${paint(err.message, "red", color)}\n`;
  if (err instanceof InputError) {
    const where = err.pos ? `${err.pos.file}:${err.pos.line}:${err.pos.col}: ` : "";
    // Readers often put the position in the message too, so it reads well in logs; print it once.
    const message = where && err.message.startsWith(where) ? err.message.slice(where.length) : err.message;
    const hint = err.hint ? `\n  hint: ${err.hint}` : "";
    return `${paint(`${where}error: ${message}`, "red", color)}${hint}\n`;
  }
  if (err instanceof UsageError) return `corral: ${err.message}${err.hint ? `\n  hint: ${err.hint}` : ""}\n`;
  // Errors made for people (a missing key, a held lock, no cgroup, a refused ruleset) carry a
  // hint: print them as such, without a stack.
  if (err instanceof Error && "hint" in err) {
    const hint = (err as Error & { hint?: unknown }).hint;
    return `corral: ${paint(err.message, "red", color)}${typeof hint === "string" && hint ? `\n  hint: ${hint}` : ""}\n`;
  }
  const e = err as Error;
  return `corral: internal error: ${e?.stack ?? String(err)}\n`;
}
