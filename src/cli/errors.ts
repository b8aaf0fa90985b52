// How any error reaches the user: position first, then the message, then the fix.
import { InputError } from "../model/errors.ts";
import { PolicyError } from "../policy/errors.ts";
import { UsageError } from "./command.ts";
import { paint } from "./paint.ts";

export function formatError(err: unknown, color: boolean): string {
  if (err instanceof PolicyError) return `${paint(err.message, "red", color)}\n`;
  if (err instanceof InputError) {
    const where = err.pos ? `${err.pos.file}:${err.pos.line}:${err.pos.col}: ` : "";
    const hint = err.hint ? `\n  hint: ${err.hint}` : "";
    return `${paint(`${where}error: ${err.message}`, "red", color)}${hint}\n`;
  }
  if (err instanceof UsageError) return `corral: ${err.message}${err.hint ? `\n  hint: ${err.hint}` : ""}\n`;
  const e = err as Error;
  return `corral: internal error: ${e?.stack ?? String(err)}\n`;
}
