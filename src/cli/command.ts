// The contract every `corral <command>` file implements. Commands get their I/O from the
// context so tests can run them in-process and read what they printed.
import type { Writable } from "node:stream";
import { UserError } from "../policy/user-error.ts";

export interface CommandContext {
  stdout: Writable;
  stderr: Writable;
  env: NodeJS.ProcessEnv;
  cwd: string;
  /** False when NO_COLOR is set or stdout is not a terminal. */
  color: boolean;
  /** Resolves when the user asks to stop (SIGINT/SIGTERM); long-running commands await it. */
  stopSignal: AbortSignal;
  /** --quiet / -q: warnings are dropped; errors still print. */
  quiet: boolean;
  /** Warnings go through here: each distinct one is printed once per run, and not at all when quiet. */
  warn(...texts: string[]): void;
}

export interface Command {
  name: string;
  summary: string;
  /** Full help text shown by `corral <name> --help`. */
  help: string;
  run(args: string[], ctx: CommandContext): Promise<number>;
}

/** Exit codes, documented in the README. 70 is sysexits' EX_SOFTWARE: a bug in Corral. */
export const EXIT = { ok: 0, failed: 1, usage: 2, internal: 70 } as const;

/** A bad flag or argument: exit 2 with this message (and hint) on stderr. */
export class UsageError extends UserError {
  constructor(message: string, hint?: string) {
    super(message, { hint });
  }
}
