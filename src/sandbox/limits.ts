// Profile limits (`512Mi`, `60s`) → numbers. Its own module because policy/units pulls in the
// schema (zod): run.ts loads it only when a profile has limits, keeping `corral run` start-up lean.
import type { SandboxProfile } from "../policy/schema.ts";
import { durationMs, sizeBytes } from "../policy/units.ts";
import type { Limits } from "./cgroup-plan.ts";

export function limitsOf(profile: SandboxProfile): Limits {
  const l = profile.limits;
  const out: Limits = {};
  if (l.memory !== undefined) out.memoryBytes = sizeBytes(l.memory);
  if (l.swap !== undefined) out.swapBytes = sizeBytes(l.swap);
  if (l.pids !== undefined) out.pids = l.pids;
  if (l.cpu !== undefined) out.cpu = l.cpu;
  if (l.wall !== undefined) out.wallMs = durationMs(l.wall);
  if (l.nofile !== undefined) out.nofile = l.nofile;
  if (l.fsize !== undefined) out.fsizeBytes = sizeBytes(l.fsize);
  return out;
}
