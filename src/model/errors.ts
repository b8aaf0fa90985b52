// Input that cannot be read at all (unparseable YAML, a missing -f file, `${VAR:?err}`):
// thrown with the position and a fix, never a stack trace for the user.
import type { SourcePos } from "./types.ts";

export class InputError extends Error {
  readonly pos: SourcePos | undefined;
  readonly hint: string | undefined;
  constructor(message: string, pos?: SourcePos, hint?: string) {
    super(message);
    this.name = "InputError";
    this.pos = pos;
    this.hint = hint;
  }
}
