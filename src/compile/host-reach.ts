// The reachability left when Corral's host rules are in force. Compose-level reachability sees
// only networks, and a zone network a service joins for one flow looks flat; the nftables
// ruleset (forward chain on every `crl-*` bridge) narrows that to the allowed flows, and lets
// traffic leave the host only from the gate's egress network. Pure: the ruleset is taken as in
// force, not observed; `corral verify` is what proves it.
import { ownerOf } from "../model/reach/compose.ts";
import { intersect, isEmpty, type PortSet, union } from "../model/reach/ports.ts";
import type { Deployment, EgressCapability, Reachability, ReachEdge, ReachReason } from "../model/types.ts";
import { type Allow, HOST } from "./allowed.ts";
import { BRIDGE_PREFIX } from "./plan.ts";

export interface HostRules {
  /** The ruleset's file as the reader knows it (`out/corral.nft`), for reasons. */
  file: string;
  allowed: readonly Allow[];
  /** The one bridge whose traffic may leave the host (the gate's egress network), if any. */
  egressBridge: string | undefined;
}

/** How a namespace's traffic meets the host rules. */
interface Side {
  /** Its packets leave on the host network itself: the forward and input hooks never see them. */
  host: boolean;
  /** Every network it is on is a Corral bridge, so all its forwarded traffic is filtered. */
  governedOnly: boolean;
  bridges: string[];
}

export function underHostRules(reach: Reachability, d: Deployment, rules: HostRules): Reachability {
  const byName = new Map(d.services.map((s) => [s.name, s]));
  const bridgeOf = new Map(d.networks.map((n) => [n.name, n.bridgeName ?? ""]));
  const governed = (network: string) => (bridgeOf.get(network) ?? "").startsWith(BRIDGE_PREFIX);
  const sides = new Map<string, Side | undefined>();
  const sideOf = (name: string): Side | undefined => {
    if (sides.has(name)) return sides.get(name);
    const s = byName.get(name);
    const o = s ? ownerOf(s, byName) : undefined;
    // A namespace we cannot see (another project's container) may be anywhere: left as it is.
    const side =
      o?.kind === "service"
        ? {
            host: o.service.networkMode.kind === "host",
            governedOnly:
              o.service.networkMode.kind === "bridge" &&
              o.service.networks.length > 0 &&
              o.service.networks.every((a) => governed(a.network)),
            bridges: o.service.networks.map((a) => bridgeOf.get(a.network) ?? ""),
          }
        : undefined;
    sides.set(name, side);
    return side;
  };

  const allowedFor = new Map<string, Allow[]>();
  for (const a of rules.allowed) {
    const key = `${a.from}\0${a.to}`;
    allowedFor.set(key, [...(allowedFor.get(key) ?? []), a]);
  }

  /** Where the rules judge this reason's traffic: the destination they match it against, or none. */
  const judgedAt = (e: ReachEdge, r: ReachReason): string | undefined => {
    const from = sideOf(e.from);
    if (!from || from.host) return undefined;
    switch (r.kind) {
      case "network":
        return governed(r.network) ? e.to : undefined;
      case "published":
        return from.governedOnly ? e.to : undefined;
      case "host-network":
        // A bridged container reaching a host-network service enters the host: the input chain.
        return from.governedOnly ? HOST : undefined;
      default:
        return undefined;
    }
  };

  const edges = reach.edges.flatMap((e): ReachEdge[] => {
    const at = e.reasons.map((r) => judgedAt(e, r));
    // One path the rules do not see keeps the whole edge: reasons do not carry their own ports.
    if (at.some((t) => t === undefined)) return [e];
    const open = [...new Set(at as string[])].flatMap((to) => allowedFor.get(`${e.from}\0${to}`) ?? []);
    const ports = intersect(
      e.ports,
      open.reduce<PortSet>((acc, a) => union(acc, a.ports), []),
    );
    if (isEmpty(ports)) return [];
    const reason: ReachReason = { kind: "host-rules", file: rules.file, rules: [...new Set(open.map((a) => a.rule))] };
    return [{ ...e, ports, reasons: [...e.reasons, reason] }];
  });

  const egress = reach.egress.map((g): EgressCapability => {
    const side = sideOf(g.service);
    if (!g.internet || !side?.governedOnly) return g;
    if (rules.egressBridge && side.bridges.includes(rules.egressBridge)) return g;
    return {
      service: g.service,
      internet: false,
      reason: `${rules.file}: Corral's networks reach the internet only through the gate's egress network`,
    };
  });
  return { ...reach, edges, egress };
}
