// How any error reaches the user, and which exit code it earns. A UserError (bad input, an
// unmet prerequisite) prints position, message and fix, and exits 2. A failed system call on
// something the user named or provides (a file, a port, a socket) is the same kind of problem.
// Anything else is a bug in Corral: its own exit code, the stack, and a request for a report,
// so a crash is never mistaken for "your input was wrong".
import { isUserError } from "../policy/user-error.ts";
import { paint } from "../report/paint.ts";
import { EXIT } from "./command.ts";
import { packageVersion } from "./package-root.ts";

function isSystemError(err: unknown): err is NodeJS.ErrnoException & { syscall: string } {
  return (
    err instanceof Error &&
    typeof (err as NodeJS.ErrnoException).code === "string" &&
    typeof (err as NodeJS.ErrnoException).syscall === "string"
  );
}

export function exitCodeFor(err: unknown): number {
  return isUserError(err) || isSystemError(err) ? EXIT.usage : EXIT.internal;
}

export function formatError(err: unknown, color: boolean): string {
  if (isUserError(err)) {
    // A policy error is already a list of `file:line:col: error: …` lines with their hints.
    if (err.name === "PolicyError") return `${paint(err.message, "red", color)}\n`;
    const where = err.pos ? `${err.pos.file}:${err.pos.line}:${err.pos.col}: ` : "";
    // Readers often put the position in the message too, so it reads well in logs; print it once.
    const message = where && err.message.startsWith(where) ? err.message.slice(where.length) : err.message;
    const hint = err.hint ? `\n  hint: ${err.hint}` : "";
    const head = where ? `${where}error: ${message}` : `corral: ${message}`;
    return `${paint(head, "red", color)}${hint}\n`;
  }
  if (isSystemError(err)) return `corral: ${paint(err.message, "red", color)}\n`;
  const e = err as Error;
  return [
    `corral: internal error: ${e?.stack ?? String(err)}`,
    `  this is a bug in Corral ${packageVersion()}, not a problem with your input: please report it`,
    "  with the command line and this output.",
    "",
  ].join("\n");
}
