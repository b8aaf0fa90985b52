// Who is observed, and what observe mode lets through: the one rule the ruleset (nftables.ts),
// the lab's matrix and verify --live's cells all follow. A connection no rule allows passes
// when it comes from an observed service to anything on the stack's own networks or the host,
// or goes to an observed service from anything on those networks; never out to the world.
import type { Deployment } from "../model/types.ts";
import { type Policy, zoneMode, zoneOf } from "../policy/index.ts";

/** The rule name a cell is open by when only observe mode opens it (logged, then let through). */
export const OBSERVE_RULE = "observe";

export function observedServices(policy: Policy, d: Pick<Deployment, "services">): Set<string> {
  return new Set(
    d.services.filter((s) => zoneMode(policy, zoneOf(policy, s.name, s.labels)) === "observe").map((s) => s.name),
  );
}

export function observeOpens(
  observed: ReadonlySet<string>,
  from: string,
  to: string,
  where: "stack" | "host" | "outside",
): boolean {
  if (where === "outside") return false;
  if (observed.has(from)) return true;
  return where === "stack" && observed.has(to);
}
