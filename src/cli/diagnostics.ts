import type { Diagnostic } from "../model/types.ts";
import type { CommandContext } from "./command.ts";
import { paint } from "./paint.ts";

/** Reader warnings (missing .env, unknown keys) go to stderr, position first. */
export function printDiagnostics(diagnostics: Diagnostic[], ctx: CommandContext): void {
  for (const d of diagnostics) {
    const where = d.pos ? `${d.pos.file}:${d.pos.line}:${d.pos.col}: ` : "";
    const label = paint(d.severity, d.severity === "error" ? "red" : "yellow", ctx.color);
    ctx.stderr.write(`${where}${label}: ${d.message}${d.hint ? `\n  hint: ${d.hint}` : ""}\n`);
  }
}
