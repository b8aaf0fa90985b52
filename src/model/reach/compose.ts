// Docker (compose) reachability. A shared network is flat: every member reaches every other on
// every port. The host is the bridge between networks: host-network services listen on it, and
// published ports are reachable through it from every container that has a network.
import type { Deployment, EgressCapability, Exposure, ReachReason, Service, SourcePos } from "../types.ts";
import { isAllInterfaces, isLoopback } from "./address.ts";
import { EdgeSet } from "./edges.ts";
import type { PortSet } from "./ports.ts";

export type Owner = { kind: "service"; service: Service } | { kind: "unknown"; target: string; why: string };

/** Follows `service:` / `container:` network modes to the service that owns the namespace. */
export function ownerOf(s: Service, byName: Map<string, Service>): Owner {
  let cur = s;
  const seen = new Set<string>([s.name]);
  for (;;) {
    const m = cur.networkMode;
    if (m.kind !== "service" && m.kind !== "container") return { kind: "service", service: cur };
    const next = byName.get(m.target);
    if (!next) return { kind: "unknown", target: m.target, why: `${m.kind}:${m.target} is not in this deployment` };
    if (seen.has(next.name)) return { kind: "unknown", target: m.target, why: "network_mode forms a cycle" };
    seen.add(next.name);
    cur = next;
  }
}

const HOST_REASON: ReachReason = { kind: "host-network", via: "host" };

export function composeReachability(d: Deployment): {
  edges: EdgeSet;
  exposures: Exposure[];
  egress: EgressCapability[];
} {
  const edges = new EdgeSet();
  const exposures: Exposure[] = [];
  const egress: EgressCapability[] = [];
  const byName = new Map(d.services.map((s) => [s.name, s]));
  const internal = new Map(d.networks.map((n) => [n.name, n.internal]));

  // Namespace owners and who shares each one.
  const groups = new Map<string, string[]>();
  const owners = new Map<string, Owner>();
  for (const s of d.services) {
    const o = ownerOf(s, byName);
    owners.set(s.name, o);
    if (o.kind !== "service") continue;
    const g = groups.get(o.service.name);
    if (g) g.push(s.name);
    else groups.set(o.service.name, [s.name]);
  }
  const roots = [...groups.keys()].map((n) => byName.get(n)!);
  const addGroup = (a: string, b: string, ports: PortSet, reason: ReachReason): void => {
    for (const x of groups.get(a) ?? [a]) for (const y of groups.get(b) ?? [b]) edges.add(x, y, ports, reason);
  };

  const bridged = roots.filter((r) => r.networkMode.kind === "bridge" && r.networks.length > 0);
  const hostMode = roots.filter((r) => r.networkMode.kind === "host");
  // Whoever has a network can reach the host's addresses (its gateway on every bridge).
  const reachHost = [...bridged, ...hostMode];

  // 1. Shared networks: everyone with everyone, every port.
  const members = new Map<string, string[]>();
  for (const r of bridged) {
    for (const net of new Set(r.networks.map((a) => a.network))) {
      const m = members.get(net);
      if (m) m.push(r.name);
      else members.set(net, [r.name]);
    }
  }
  for (const [network, names] of members) {
    const reason: ReachReason = { kind: "network", network };
    for (const a of names) for (const b of names) if (a !== b) addGroup(a, b, "all", reason);
  }

  // 2. Host-network services listen on the host; the host itself routes to every container address.
  for (const h of hostMode) {
    for (const r of reachHost) if (r !== h) addGroup(r.name, h.name, "all", HOST_REASON);
    for (const b of bridged) addGroup(h.name, b.name, "all", HOST_REASON);
    for (const member of groups.get(h.name) ?? []) exposures.push(...hostExposures(byName.get(member)!));
  }

  // 3. Published ports (ignored by Docker in host mode): reachable through the host.
  for (const p of bridged) {
    for (const pp of p.ports) {
      const all = isAllInterfaces(pp.hostIp, pp.hostIpDefaulted);
      const exposure: Exposure = {
        service: p.name,
        kind: "published",
        hostIp: pp.hostIp,
        protocol: pp.protocol,
        allInterfaces: all,
        pos: pp.pos,
      };
      if (pp.hostPort) exposure.port = pp.hostPort.from;
      exposures.push(exposure);
      const reason: ReachReason = { kind: "published", hostIp: pp.hostIp, hostPort: pp.hostPort?.from ?? 0 };
      const ports: PortSet = [{ from: pp.target.from, to: pp.target.to, protocol: pp.protocol }];
      const from = !all && isLoopback(pp.hostIp) ? hostMode : reachHost;
      for (const r of from) if (r !== p) addGroup(r.name, p.name, ports, reason);
    }
  }

  // 4. Services sharing one network namespace reach each other on every port.
  for (const [owner, names] of groups) {
    if (names.length < 2) continue;
    const reason: ReachReason = { kind: "shared-namespace", with: owner };
    for (const a of names) for (const b of names) if (a !== b) edges.add(a, b, "all", reason);
  }

  for (const s of d.services) egress.push(egressOf(s, owners.get(s.name)!, internal));
  return { edges, exposures, egress };
}

function hostExposures(s: Service): Exposure[] {
  const pos: SourcePos = s.positions["network_mode"] ?? s.pos;
  const listens = s.containers.flatMap((c) => c.listens);
  if (listens.length === 0) return [{ service: s.name, kind: "host-network", allInterfaces: true, pos }];
  return listens.map((l) => ({
    service: s.name,
    kind: "host-network" as const,
    port: l.from,
    protocol: l.protocol,
    allInterfaces: true,
    pos,
  }));
}

function egressOf(s: Service, owner: Owner, internal: Map<string, boolean>): EgressCapability {
  if (owner.kind === "unknown") {
    // Another container's namespace we cannot see: assume the worst.
    return { service: s.name, internet: true, reason: `${owner.why}; assumed to reach the internet` };
  }
  const o = owner.service;
  const via = o === s ? "" : `shares the network namespace of ${o.name}: `;
  if (o.networkMode.kind === "host") return { service: s.name, internet: true, reason: `${via}network_mode host` };
  if (o.networkMode.kind === "none") return { service: s.name, internet: false, reason: `${via}network_mode none` };
  const nets = [...new Set(o.networks.map((a) => a.network))].sort();
  const open = nets.find((n) => internal.get(n) !== true);
  if (open !== undefined) return { service: s.name, internet: true, reason: `${via}network ${open} is not internal` };
  if (nets.length === 0) return { service: s.name, internet: false, reason: `${via}on no network` };
  return { service: s.name, internet: false, reason: `${via}only on internal networks: ${nets.join(", ")}` };
}
