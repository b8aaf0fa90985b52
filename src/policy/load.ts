// Policy text → typed, checked Policy, or a PolicyError listing every problem with its
// position. All-or-nothing: nothing partial is ever returned.
import { createHash } from "node:crypto";
import { readFile } from "node:fs/promises";
import { dirname, resolve } from "node:path";
import { checkPolicy } from "./check.ts";
import { PolicyError } from "./errors.ts";
import { zodIssuesToProblems } from "./issues.ts";
import { type Policy, policySchema } from "./schema.ts";
import { PositionedYaml } from "./source.ts";

export interface LoadedPolicy {
  policy: Policy;
  file: string;
  /** SHA-256 of the file's bytes: what the audit log records on each load. */
  hash: string;
}

export function parsePolicy(text: string, file: string, baseDir = dirname(resolve(file))): LoadedPolicy {
  const src = new PositionedYaml(text, file);
  if (src.syntaxProblems.length > 0) throw new PolicyError(src.syntaxProblems);
  if (src.data === null || src.data === undefined || typeof src.data !== "object" || Array.isArray(src.data)) {
    throw new PolicyError([
      {
        file,
        line: 1,
        col: 1,
        message: "expected a mapping with 'version: 1' at the top",
        hint: "start the file with: version: 1",
      },
    ]);
  }
  const parsed = policySchema.safeParse(src.data);
  if (!parsed.success) throw new PolicyError(zodIssuesToProblems(policySchema, parsed.error.issues, src));
  const problems = checkPolicy(parsed.data, src, baseDir);
  if (problems.length > 0) throw new PolicyError(problems);
  return {
    policy: withAbsolutePaths(parsed.data, baseDir),
    file,
    hash: createHash("sha256").update(text).digest("hex"),
  };
}

/**
 * Files the policy names (state, audit log and key, TLS) are relative to the policy file, not
 * to wherever a command happens to run: resolved once here so the gate, `corral approve`,
 * `corral ui` and `corral run` all find the same state directory and admin token.
 */
function withAbsolutePaths(policy: Policy, baseDir: string): Policy {
  const abs = (p: string) => resolve(baseDir, p);
  const out: Policy = { ...policy, gate: { ...policy.gate } };
  if (policy.gate.state_dir) out.gate.state_dir = abs(policy.gate.state_dir);
  if (policy.audit) {
    out.audit = { ...policy.audit, path: abs(policy.audit.path) };
    if (policy.audit.checkpoint)
      out.audit.checkpoint = { ...policy.audit.checkpoint, key: abs(policy.audit.checkpoint.key) };
  }
  if (policy.ui) {
    out.ui = { ...policy.ui };
    if (policy.ui.state_dir) out.ui.state_dir = abs(policy.ui.state_dir);
    if (policy.ui.tls) out.ui.tls = { cert: abs(policy.ui.tls.cert), key: abs(policy.ui.tls.key) };
  }
  return out;
}

export async function loadPolicy(path: string): Promise<LoadedPolicy> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new PolicyError([
      {
        file: path,
        line: 1,
        col: 1,
        message: code === "ENOENT" ? "policy file not found" : `cannot read policy file (${code})`,
        hint:
          code === "ENOENT"
            ? "create one with 'corral init -f docker-compose.yml'"
            : "check the path and its permissions",
      },
    ]);
  }
  return parsePolicy(text, path);
}
