// The one kind of error a person can act on: what is wrong, where (file:line:col when there
// is a place), and a fix. Every layer throws it (or a subclass) for bad input and unmet
// prerequisites; anything else reaching the CLI is a bug in Corral and is reported as one.
// It lives here because policy/ is the bottom of the house: every folder may import it.

export interface ErrorPosition {
  file: string;
  line: number;
  col: number;
}

export interface UserErrorOptions {
  pos?: ErrorPosition | undefined;
  hint?: string | undefined;
  cause?: unknown;
}

export class UserError extends Error {
  readonly pos: ErrorPosition | undefined;
  readonly hint: string | undefined;
  constructor(message: string, options: UserErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.pos = options.pos;
    this.hint = options.hint;
  }
}

export function isUserError(err: unknown): err is UserError {
  return err instanceof UserError;
}
