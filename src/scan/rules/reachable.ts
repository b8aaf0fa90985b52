// How far an unauthenticated service can be reached, from the reachability model: beyond the
// host or cluster (a publish, NodePort, LoadBalancer, host network), from another zone (the
// policy's, or the tier when no policy is given), or only from within its own. Rules about a
// missing login scale their severity with it: no authentication matters as far as it reaches.
import type { Exposure, Service } from "../../model/types.ts";
import { idOf } from "../ids.ts";
import type { RelatedLocation, RuleContext, Severity } from "../types.ts";
import { isLoopback } from "./network.ts";
import { tierOfService } from "./util.ts";

export interface Reach {
  severity: Severity;
  /** For the message: "published on 0.0.0.0:6333", "reachable from zone agents: worker". */
  note: string;
  /** The publishes that expose it: the other half of the fix. */
  related: RelatedLocation[];
}

function outside(e: Exposure): boolean {
  return e.kind !== "published" || e.allInterfaces || !isLoopback(e.hostIp ?? "");
}

function describe(e: Exposure): string {
  if (e.kind === "host-network") return "on the host network";
  if (e.kind !== "published") return `exposed by a ${e.kind === "nodeport" ? "NodePort" : "LoadBalancer"} Service`;
  return `published${e.port ? ` on port ${e.port}` : ""} on ${e.allInterfaces ? "all interfaces" : e.hostIp}`;
}

function zoneOf(ctx: RuleContext, s: Service): string {
  return ctx.policy?.zoneOf(s) ?? `${tierOfService(ctx, s)} tier`;
}

export function reachOf(
  ctx: RuleContext,
  s: Service,
  levels: { exposed: Severity; beyond: Severity; within: Severity },
): Reach {
  const id = idOf(s);
  const exposed = ctx.reach.exposures.filter((e) => e.service === id && outside(e));
  if (exposed.length > 0) {
    return {
      severity: levels.exposed,
      note: [...new Set(exposed.map(describe))].join(", "),
      related: exposed.map((e) => ({ pos: e.pos, message: `${describe(e)}: reachable from outside` })),
    };
  }
  const zone = zoneOf(ctx, s);
  const from = new Map<string, string[]>();
  for (const e of ctx.edgesTo.get(id) ?? []) {
    const src = ctx.byId.get(e.from);
    if (!src || e.from === id) continue;
    const z = zoneOf(ctx, src);
    if (z !== zone) from.set(z, [...(from.get(z) ?? []), e.from]);
  }
  if (from.size > 0) {
    const parts = [...from].map(
      ([z, names]) => `${ctx.policy ? "zone " : ""}${z} (${[...new Set(names)].sort().join(", ")})`,
    );
    return { severity: levels.beyond, note: `reachable from ${parts.join(", ")}`, related: [] };
  }
  return { severity: levels.within, note: `reachable only within ${ctx.policy ? "zone " : ""}${zone}`, related: [] };
}
