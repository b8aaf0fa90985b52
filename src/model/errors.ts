// Input that cannot be read at all (unparseable YAML, a missing -f file, `${VAR:?err}`):
// thrown with the position and a fix, never a stack trace for the user.
import { UserError } from "../policy/user-error.ts";
import type { SourcePos } from "./types.ts";

export class InputError extends UserError {
  constructor(message: string, pos?: SourcePos, hint?: string) {
    super(message, { pos, hint });
  }
}
