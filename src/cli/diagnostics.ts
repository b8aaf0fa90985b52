import type { Writable } from "node:stream";
import type { Diagnostic } from "../model/types.ts";
import { paint } from "../report/paint.ts";
import type { CommandContext } from "./command.ts";

export const SILENCE_HINT = "  hint: --quiet hides warnings (errors still print)\n";

/**
 * The run's warning printer. A run can meet the same problem many times (every service sharing
 * one missing .env, a deployment read twice); repeating it buries the errors, so each distinct
 * text is printed once. The first batch that prints anything ends with how to silence them.
 */
export function createWarner(stderr: Writable, quiet: boolean): CommandContext["warn"] {
  const seen = new Set<string>();
  let hinted = false;
  return (...texts) => {
    if (quiet) return;
    let printed = false;
    for (const text of texts) {
      if (seen.has(text)) continue;
      seen.add(text);
      stderr.write(text.endsWith("\n") ? text : `${text}\n`);
      printed = true;
    }
    if (printed && !hinted) {
      hinted = true;
      stderr.write(SILENCE_HINT);
    }
  };
}

/** Reader problems (missing .env, unknown keys) go to stderr, position first; errors always, warnings once. */
export function printDiagnostics(diagnostics: Diagnostic[], ctx: CommandContext): void {
  const warnings: string[] = [];
  for (const d of diagnostics) {
    const where = d.pos ? `${d.pos.file}:${d.pos.line}:${d.pos.col}: ` : "";
    const label = paint(d.severity, d.severity === "error" ? "red" : "yellow", ctx.color);
    const text = `${where}${label}: ${d.message}${d.hint ? `\n  hint: ${d.hint}` : ""}\n`;
    if (d.severity === "error") ctx.stderr.write(text);
    else warnings.push(text);
  }
  ctx.warn(...warnings);
}
