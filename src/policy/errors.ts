// A policy that does not load: every problem found, each with file:line:col, what was
// expected, and a hint. Loading is all-or-nothing: callers keep their last good policy.

export interface PolicyProblem {
  file: string;
  line: number;
  col: number;
  message: string;
  hint?: string;
}

export class PolicyError extends Error {
  readonly problems: PolicyProblem[];
  constructor(problems: PolicyProblem[]) {
    super(problems.map(formatProblem).join("\n"));
    this.name = "PolicyError";
    this.problems = problems;
  }
}

export function formatProblem(p: PolicyProblem): string {
  const head = `${p.file}:${p.line}:${p.col}: error: ${p.message}`;
  return p.hint ? `${head}\n  hint: ${p.hint}` : head;
}
