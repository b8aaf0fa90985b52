// A policy that does not load: every problem found, each with file:line:col, what was
// expected, and a hint. Loading is all-or-nothing: callers keep their last good policy.
import { UserError } from "./user-error.ts";

export interface PolicyProblem {
  file: string;
  line: number;
  col: number;
  message: string;
  hint?: string;
}

/** Every problem at once; `pos` and `hint` are the first one's, for callers that show one. */
export class PolicyError extends UserError {
  readonly problems: PolicyProblem[];
  constructor(problems: PolicyProblem[]) {
    const first = problems[0];
    super(problems.map(formatProblem).join("\n"), {
      pos: first && { file: first.file, line: first.line, col: first.col },
      hint: first?.hint,
    });
    this.problems = problems;
  }
}

export function formatProblem(p: PolicyProblem): string {
  const head = `${p.file}:${p.line}:${p.col}: error: ${p.message}`;
  return p.hint ? `${head}\n  hint: ${p.hint}` : head;
}
