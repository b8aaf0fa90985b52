// Gate for *.int.test.ts: root + kernel tools. In CI (CI=true) a missing requirement is a
// failure, never a silent skip; elsewhere the test skips with one clear line.
import { spawnSync } from "node:child_process";

export function hasCommand(cmd: string): boolean {
  return spawnSync("sh", ["-c", `command -v ${cmd}`], { stdio: "ignore" }).status === 0;
}

/**
 * Returns false when the test may run, or a one-line skip reason. Throws in CI when a
 * requirement is missing, so privileged tests cannot vanish from CI.
 */
export function privilegedSkip(opts: { root?: boolean; commands?: string[] } = {}): string | false {
  const missing: string[] = [];
  if ((opts.root ?? true) && process.getuid?.() !== 0) missing.push("root");
  for (const cmd of opts.commands ?? []) if (!hasCommand(cmd)) missing.push(cmd);
  if (missing.length === 0) return false;
  const reason = `needs ${missing.join(", ")}: integration test skipped (runs in CI)`;
  if (process.env.CI === "true")
    throw new Error(`CI=true but ${reason.replace(": integration test skipped (runs in CI)", "")}`);
  return reason;
}
