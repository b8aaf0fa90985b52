// The address plan every target shares: one network per zone, which extra zone networks a
// service joins so its declared flows can happen, and the gate's place. Pure and deterministic:
// the same policy and deployment give the same plan, so the compose overlay, the nftables
// ruleset and the lab agree on who is where. Member addresses in the plan are the lab's; on a
// real engine members get theirs from the network's dynamic range and `corral enforce` renders
// the ruleset from what the containers really have.

import { GATE_SERVICE } from "../model/corral-marks.ts";
import type { Deployment } from "../model/types.ts";
import { expandName, HOST_TARGET, type Policy, type PortRange, parsePortSpec, zoneOf } from "../policy/index.ts";
import { UserError } from "../policy/user-error.ts";
import { type Cidr, cidrSize, fnv1a, formatCidr, numToIp, overlaps, parseCidr } from "./addr.ts";
import { observedServices } from "./observe.ts";

/** Where zone subnets are allocated when a zone gives none. */
export const DEFAULT_POOL = "10.231.0.0/16";
/** The gate's service name in the compose overlay and the lab. */
export const GATE = GATE_SERVICE;
/** Network keys that cannot clash with zone names (zone names start with a letter or digit). */
export const UNZONED = "_unzoned";
export const EGRESS = "_egress";

/** Offsets inside every zone subnet: .1 the bridge gateway, .2 the gate, members from .3. */
const GATEWAY_OFFSET = 1;
const GATE_OFFSET = 2;
const FIRST_MEMBER = 3;

export interface PlanOptions {
  /** Pool for subnets the policy does not pin (default 10.231.0.0/16). */
  pool?: string;
  /** Ignore the zones' `subnet:` and allocate everything from the pool (the lab does this). */
  forcePool?: boolean;
}

export interface PlanNetwork {
  /** Zone name, or `_unzoned` / `_egress`. */
  key: string;
  /** Key in the overlay's `networks:`. */
  composeName: string;
  /** Linux bridge name, ≤ 15 characters; pinned in the overlay and matched by nftables. */
  bridge: string;
  subnet: string;
  gateway: string;
  /** No route out: everything but the gate's egress network and zones with published ports. */
  internal: boolean;
  isolate: "shared" | "per-service";
  /** Services whose zone this is. */
  members: string[];
  /**
   * Where the engine hands out members' addresses (Docker's `ip_range`): the subnet's upper half,
   * so replicas can come and go (`--scale`) while the gate keeps its fixed address below it.
   */
  dynamicRange: string;
}

export interface Attachment {
  service: string;
  network: string;
  address: string;
  /** True on the service's own zone network; false where it joined to reach a flow's target. */
  home: boolean;
}

/** Sources may open connections to targets on `ports`, all on one network. */
export interface FlowGroup {
  /** Index in policy.flows; -1 for the implicit flows of a shared zone; -2 for the gate. */
  flowIndex: number;
  network: string;
  sources: string[];
  targets: string[];
  ports: PortRange[];
}

/**
 * Sources may open connections to the Docker host on `ports`, at the gateway (bridge) address of
 * their home network: on-link, so it works on `internal` networks, and the one host address the
 * overlay names `host.docker.internal` for them.
 */
export interface HostFlowGroup {
  flowIndex: number;
  network: string;
  sources: string[];
  ports: PortRange[];
}

export interface GatePlan {
  proxyPort: number;
  dnsPort: number;
  /** Services that reach the outside only through the gate. */
  clients: string[];
}

export interface Plan {
  networks: PlanNetwork[];
  attachments: Attachment[];
  groups: FlowGroup[];
  hostFlows: HostFlowGroup[];
  gate?: GatePlan;
  /** service → zone (absent: unzoned). */
  zones: Map<string, string>;
  published: Array<{ service: string; port: PortRange; hostIp: string; hostPort: number }>;
  /** Services in zones in `mode: observe`: what the policy would deny from or to them is logged and accepted. */
  observed: string[];
}

export const ALL_PORTS: PortRange[] = [
  { from: 1, to: 65535, protocol: "tcp" },
  { from: 1, to: 65535, protocol: "udp" },
];

/** Every Corral bridge's name starts so: the host rules govern exactly these (`iifname "crl-*"`). */
export const BRIDGE_PREFIX = "crl-";

/** `crl-<key>` when it fits in 15 characters, else a prefix plus a stable hash. */
export function bridgeName(key: string): string {
  const plain = `${BRIDGE_PREFIX}${key}`;
  if (plain.length <= 15 && /^[A-Za-z0-9_.-]+$/.test(key)) return plain;
  const safe = key.replace(/[^A-Za-z0-9_.-]/g, "").slice(0, 5);
  return `${BRIDGE_PREFIX}${safe}-${(fnv1a(key) & 0xffff).toString(16).padStart(4, "0")}`;
}

function prefixFor(hosts: number): number {
  // Members live in the upper half (the dynamic range), so the subnet holds twice the hosts;
  // never smaller than a /24 so a zone's replicas can grow.
  const bits = Math.ceil(Math.log2(2 * (hosts + 1)));
  return Math.min(24, 32 - Math.max(bits, 2));
}

/**
 * Allocate each unpinned network an aligned block in the pool, starting at a hash of its key
 * and probing forward: a zone keeps its subnet when others are added, unless blocks collide.
 */
function allocate(needs: Array<{ key: string; hosts: number; pinned?: string }>, pool: Cidr): Map<string, Cidr> {
  const out = new Map<string, Cidr>();
  const taken: Cidr[] = [];
  for (const n of needs) {
    if (!n.pinned) continue;
    const c = parseCidr(n.pinned);
    // The engine gives members addresses from the upper half only (less its broadcast address).
    if (cidrSize(c) / 2 - 1 < n.hosts)
      throw new UserError(
        `zone '${n.key}': subnet ${n.pinned} is too small for ${n.hosts} containers (members come from its upper half)`,
        { hint: `give zones.${n.key}.subnet a larger range` },
      );
    out.set(n.key, c);
    taken.push(c);
  }
  const rest = needs.filter((n) => !n.pinned).sort((a, b) => b.hosts - a.hosts || a.key.localeCompare(b.key));
  for (const n of rest) {
    const prefix = prefixFor(n.hosts);
    if (prefix < pool.prefix)
      throw new UserError(`zone '${n.key}' needs a /${prefix}, larger than the pool ${formatCidr(pool)}`, {
        hint: "use a larger address pool, or pin the zone's subnet",
      });
    const size = 2 ** (32 - prefix);
    const blocks = cidrSize(pool) / size;
    const start = fnv1a(n.key) % blocks;
    let found: Cidr | undefined;
    for (let i = 0; i < blocks && !found; i++) {
      const c = { base: pool.base + ((start + i) % blocks) * size, prefix };
      if (!taken.some((t) => overlaps(t, c))) found = c;
    }
    if (!found)
      throw new UserError(`address pool ${formatCidr(pool)} is full`, {
        hint: "pin zone subnets or use a larger pool",
      });
    out.set(n.key, found);
    taken.push(found);
  }
  return out;
}

export function buildPlan(policy: Policy, deployment: Deployment, options: PlanOptions = {}): Plan {
  const services = deployment.services.map((s) => ({ name: s.name, labels: s.labels }));
  const zones = new Map<string, string>();
  for (const s of services) {
    const z = zoneOf(policy, s.name, s.labels);
    if (z) zones.set(s.name, z);
  }
  const homeKey = (svc: string) => zones.get(svc) ?? UNZONED;
  // policy's expandName, with zone membership computed once (it is called per flow endpoint,
  // and 5,000 services × many flows must stay fast).
  const byZone = new Map<string, string[]>();
  for (const s of services) {
    const z = zones.get(s.name);
    if (z) byZone.set(z, [...(byZone.get(z) ?? []), s.name]);
  }
  const names = new Set(services.map((s) => s.name));
  const expand = (name: string): string[] => {
    if (policy.zones[name]) return byZone.get(name) ?? [];
    if (names.has(name)) return [name];
    return expandName(policy, name, services);
  };
  const isolateOf = (key: string) => (key === UNZONED ? "per-service" : (policy.zones[key]?.isolate ?? "shared"));

  // Declared flows, grouped by the network the traffic will cross: the target's zone network.
  const groups: FlowGroup[] = [];
  const joins = new Map<string, Set<string>>(); // network key → services that join it
  const join = (net: string, svc: string) => {
    if (homeKey(svc) === net) return;
    if (!joins.has(net)) joins.set(net, new Set());
    joins.get(net)?.add(svc);
  };
  const hostFlows: HostFlowGroup[] = [];
  policy.flows.forEach((flow, flowIndex) => {
    const ports = flow.ports.map(parsePortSpec);
    const froms = [...new Set(flow.from.flatMap(expand))].sort();
    if (flow.to.includes(HOST_TARGET)) {
      const byHome = new Map<string, string[]>();
      for (const f of froms) byHome.set(homeKey(f), [...(byHome.get(homeKey(f)) ?? []), f]);
      for (const [network, sources] of [...byHome].sort((a, b) => a[0].localeCompare(b[0])))
        hostFlows.push({ flowIndex, network, sources, ports });
    }
    const tos = [...new Set(flow.to.filter((t) => t !== HOST_TARGET).flatMap(expand))].sort();
    const byNet = new Map<string, string[]>();
    for (const t of tos) byNet.set(homeKey(t), [...(byNet.get(homeKey(t)) ?? []), t]);
    for (const [net, targets] of [...byNet].sort((a, b) => a[0].localeCompare(b[0]))) {
      // A flow from a service to itself is kept: between its replicas it crosses the bridge.
      const sources = froms;
      if (sources.length === 0) continue;
      for (const s of sources) join(net, s);
      groups.push({ flowIndex, network: net, sources, targets, ports });
    }
  });

  // Implicit any-port flows inside shared zones.
  const members = new Map<string, string[]>();
  for (const s of [...services].sort((a, b) => a.name.localeCompare(b.name))) {
    const key = homeKey(s.name);
    members.set(key, [...(members.get(key) ?? []), s.name]);
  }
  for (const [key, list] of members) {
    // One member is enough: its replicas share the zone too.
    if (isolateOf(key) === "shared")
      groups.push({ flowIndex: -1, network: key, sources: list, targets: list, ports: ALL_PORTS });
  }

  // Observed services join every other network, so that the connections the policy would deny
  // can happen and be logged (nftables' `observed` set) instead of being impossible to route.
  const observed = [...observedServices(policy, deployment)].sort();
  for (const svc of observed) for (const key of members.keys()) join(key, svc);
  // Those joins give an observed service an address on networks where it also meets the other
  // end of a declared flow (or a zone mate): the same allowance holds there, or a declared
  // connection made to that address would be logged as one the policy does not allow.
  if (observed.length > 0) {
    const declared = groups.filter((g) => g.flowIndex >= -1);
    const observedNets = [...joins].filter(([, who]) => observed.some((o) => who.has(o))).map(([k]) => k);
    for (const g of declared)
      for (const net of observedNets) if (net !== g.network) groups.push({ ...g, network: net });
  }

  // Egress sources reach the gate, which sits on each of their home networks.
  const clients = [...new Set(policy.egress.flatMap((e) => e.from.flatMap(expand)))].sort();
  let gate: GatePlan | undefined;
  if (clients.length > 0) {
    const proxyPort = policy.gate.listen.proxy.port;
    const dnsPort = policy.gate.listen.dns.port;
    gate = { proxyPort, dnsPort, clients };
    const ports: PortRange[] = [{ from: proxyPort, to: proxyPort, protocol: "tcp" }];
    for (const p of new Set([dnsPort, 53]))
      ports.push({ from: p, to: p, protocol: "udp" }, { from: p, to: p, protocol: "tcp" });
    const byNet = new Map<string, string[]>();
    for (const c of clients) byNet.set(homeKey(c), [...(byNet.get(homeKey(c)) ?? []), c]);
    for (const [net, sources] of [...byNet].sort((a, b) => a[0].localeCompare(b[0])))
      groups.push({ flowIndex: -2, network: net, sources, targets: [GATE], ports });
  }

  // Published ports (the policy's, default host address 127.0.0.1).
  const published = policy.publish.flatMap((p) => {
    if (!services.some((s) => s.name === p.service)) return [];
    const port = parsePortSpec(p.port);
    const [hostIp, hostPortText] = splitHost(p.host);
    const svc = deployment.services.find((s) => s.name === p.service);
    const shipped = svc?.ports.find(
      (sp) => sp.target.from <= port.from && port.from <= sp.target.to && sp.protocol === port.protocol,
    );
    const hostPort = hostPortText ? Number(hostPortText) : (shipped?.hostPort?.from ?? port.from);
    return [{ service: p.service, port, hostIp, hostPort }];
  });
  const publishedZones = new Set(published.map((p) => homeKey(p.service)));

  // Networks: every zone with members or joiners, plus the gate's egress network.
  const keys = [...new Set([...members.keys(), ...joins.keys()])].sort();
  const needs = keys.map((key) => ({
    key,
    hosts: (members.get(key)?.length ?? 0) + (joins.get(key)?.size ?? 0),
    pinned: options.forcePool ? undefined : policy.zones[key]?.subnet,
  }));
  if (gate) needs.push({ key: EGRESS, hosts: 1, pinned: undefined });
  const blocks = allocate(needs, parseCidr(options.pool ?? DEFAULT_POOL));

  const networks: PlanNetwork[] = [];
  const attachments: Attachment[] = [];
  for (const { key } of needs) {
    const block = blocks.get(key);
    if (!block) continue;
    const own = members.get(key) ?? [];
    // Joiners sorted by their home zone, so a zone-to-zone flow is one address range.
    const joiners = [...(joins.get(key) ?? [])].sort(
      (a, b) => homeKey(a).localeCompare(homeKey(b)) || a.localeCompare(b),
    );
    networks.push({
      key,
      composeName: `corral_${key}`,
      bridge: bridgeName(key),
      subnet: formatCidr(block),
      gateway: numToIp(block.base + GATEWAY_OFFSET),
      internal: key !== EGRESS && !publishedZones.has(key),
      isolate: key === EGRESS ? "per-service" : isolateOf(key),
      members: own,
      dynamicRange: formatCidr({ base: block.base + cidrSize(block) / 2, prefix: block.prefix + 1 }),
    });
    let offset = FIRST_MEMBER;
    for (const svc of own)
      attachments.push({ service: svc, network: key, address: numToIp(block.base + offset++), home: true });
    for (const svc of joiners)
      attachments.push({ service: svc, network: key, address: numToIp(block.base + offset++), home: false });
    const gateHere = gate && (key === EGRESS || gate.clients.some((c) => homeKey(c) === key));
    if (gateHere)
      attachments.push({
        service: GATE,
        network: key,
        address: numToIp(block.base + GATE_OFFSET),
        home: key === EGRESS,
      });
  }
  return { networks, attachments, groups, hostFlows, ...(gate ? { gate } : {}), zones, published, observed };
}

/** `127.0.0.1:3000` → ["127.0.0.1", "3000"]; `[::1]:80`; undefined → 127.0.0.1. */
function splitHost(host: string | undefined): [string, string | undefined] {
  if (!host) return ["127.0.0.1", undefined];
  const v6 = /^\[([^\]]+)\](?::(\d+))?$/.exec(host);
  if (v6) return [v6[1] ?? "::1", v6[2]];
  const m = /^([^:]+)(?::(\d+))?$/.exec(host);
  if (m) return [m[1] ?? "127.0.0.1", m[2]];
  return [host, undefined];
}

/** The Docker host as `service` reaches it (`host.docker.internal`), when a flow allows it. */
export function hostAddressFor(plan: Plan, service: string): string | undefined {
  const g = plan.hostFlows.find((h) => h.sources.includes(service));
  return g ? plan.networks.find((n) => n.key === g.network)?.gateway : undefined;
}

export function addressOf(plan: Plan, service: string, network: string): string | undefined {
  return plan.attachments.find((a) => a.service === service && a.network === network)?.address;
}
