// What the lab builds, as plain data: bridges (one per network) inside a lab "host" namespace,
// one namespace per service with one interface per network it joins. Two sources: the
// compiled plan (Corral's zone networks + the gate) or the deployment as shipped (its own
// flat networks, addresses handed out by the lab, no Corral).

import { EGRESS, GATE, numToIp, type Plan, parseCidr } from "../compile/index.ts";
import type { Deployment } from "../model/types.ts";

/** Lab networks never leave 10.203.0.0/20; the "outside" link sits at 10.203.32.0/30. */
export const LAB_POOL = "10.203.0.0/20";
export const OUTSIDE_LINK = { host: "10.203.32.1", outside: "10.203.32.2", prefix: 30 };
// The matrix's two non-service endpoints are named where the allowed flows are.
export { HOST, OUTSIDE } from "../compile/index.ts";

export interface LabBridge {
  name: string;
  subnet: string;
  gateway: string;
  /** Docker gives non-internal networks a default route through the gateway. */
  internal: boolean;
}

export interface LabNode {
  name: string;
  interfaces: Array<{ bridge: string; address: string; prefix: number }>;
  /** Gateway for the default route (first non-internal network), as Docker does. */
  defaultVia?: string;
}

/** A port published beyond the host: the lab forwards the outside link's port to it, as Docker's DNAT does. */
export interface LabPublished {
  service: string;
  /** The service's address the host forwards to. */
  address: string;
  hostPort: number;
  port: number;
  protocol: "tcp" | "udp";
}

export interface LabTopology {
  bridges: LabBridge[];
  nodes: LabNode[];
  /** Only bindings reachable from outside the host (not loopback). */
  published: LabPublished[];
}

/** Docker binds loopback-only ports in the host's own namespace: the outside never reaches them. */
export function isLoopback(hostIp: string): boolean {
  return hostIp === "localhost" || hostIp === "::1" || hostIp.startsWith("127.");
}

function withDefault(node: LabNode, bridges: LabBridge[]): LabNode {
  for (const i of node.interfaces) {
    const b = bridges.find((x) => x.name === i.bridge);
    if (b && !b.internal) return { ...node, defaultVia: b.gateway };
  }
  return node;
}

/** The compiled topology: the plan must come from buildPlan(..., { pool: LAB_POOL, forcePool: true }). */
export function compiledTopology(plan: Plan): LabTopology {
  const bridges = plan.networks.map((n) => ({
    name: n.bridge,
    subnet: n.subnet,
    gateway: n.gateway,
    internal: n.internal,
  }));
  const names = [...new Set(plan.attachments.map((a) => a.service))];
  const nodes = names.map((name) => {
    // The gate's egress interface first, so its default route leaves through it.
    const atts = plan.attachments
      .filter((a) => a.service === name)
      .sort((a, b) => Number(b.network === EGRESS) - Number(a.network === EGRESS));
    const interfaces = atts.map((a) => {
      const net = plan.networks.find((n) => n.key === a.network);
      return { bridge: net?.bridge ?? "", address: a.address, prefix: Number(net?.subnet.split("/")[1] ?? 24) };
    });
    return withDefault({ name, interfaces }, name === GATE ? bridges.filter((b) => b.name.endsWith(EGRESS)) : bridges);
  });
  const published = plan.published.flatMap((p) => {
    const home = plan.attachments.find((a) => a.service === p.service && a.home);
    if (!home || isLoopback(p.hostIp) || p.port.protocol === "sctp") return [];
    return [
      { service: p.service, address: home.address, hostPort: p.hostPort, port: p.port.from, protocol: p.port.protocol },
    ];
  });
  return { bridges, nodes, published };
}

/** The deployment as shipped: its own networks, flat, every network with a route out. */
export function shippedTopology(d: Deployment): LabTopology {
  const pool = parseCidr(LAB_POOL);
  const used = d.services.filter((s) => s.networkMode.kind === "bridge");
  const netNames = [...new Set(used.flatMap((s) => s.networks.map((n) => n.network)))].sort();
  const bridges: LabBridge[] = netNames.map((name, i) => {
    const net = d.networks.find((n) => n.name === name);
    const base = pool.base + i * 256;
    return {
      name: `net${i}`,
      subnet: `${numToIp(base)}/24`,
      gateway: numToIp(base + 1),
      internal: net?.internal ?? false,
    };
  });
  const next = new Map<string, number>();
  const nodes = used.map((s) => {
    const interfaces = s.networks.map((att) => {
      const i = netNames.indexOf(att.network);
      const offset = next.get(att.network) ?? 2;
      next.set(att.network, offset + 1);
      return { bridge: `net${i}`, address: numToIp(pool.base + i * 256 + offset), prefix: 24 };
    });
    return withDefault({ name: s.name, interfaces }, bridges);
  });
  const published = used.flatMap((s) => {
    const address = nodes.find((n) => n.name === s.name)?.interfaces[0]?.address;
    return s.ports.flatMap((p) => {
      if (!address || !p.hostPort || isLoopback(p.hostIp) || p.protocol === "sctp") return [];
      return [{ service: s.name, address, hostPort: p.hostPort.from, port: p.target.from, protocol: p.protocol }];
    });
  });
  return { bridges, nodes, published };
}
