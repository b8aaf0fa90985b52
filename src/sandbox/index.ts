export { SandboxPool } from "./pool.ts";
export { BUILTIN_MINIMAL, plan, resolveProfile, SandboxConfigError } from "./profile.ts";
export { formatBytes, formatReport } from "./report.ts";
export { run } from "./run.ts";
export { DEFAULT_DENY, seccompSpec } from "./seccomp.ts";
export type { AuditSink, GateOptions, LimitHit, RunOptions, RunReport } from "./types.ts";
export { checkUserns, judgeUserns } from "./userns.ts";
