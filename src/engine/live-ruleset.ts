// The host ruleset of one policy and deployment, rendered from whatever addresses are live: the
// part `corral enforce` and `corral compile --apply` share.
import { type Attachment, buildPlan, type NftOptions, renderNftables } from "../compile/index.ts";
import type { Deployment } from "../model/types.ts";
import type { Policy } from "../policy/index.ts";
import type { ContainerSummary } from "./docker-api.ts";
import { liveMembers } from "./members.ts";

export function liveRuleset(policy: Policy, deployment: Deployment, options: NftOptions = {}) {
  const plan = buildPlan(policy, deployment, options);
  return {
    plan,
    members: (containers: readonly ContainerSummary[]) => liveMembers(plan, containers),
    render: (attachments: readonly Attachment[]) => renderNftables(plan, options, attachments),
  };
}
