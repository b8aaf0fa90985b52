// The probe matrix: every (source, destination, port, protocol) the policy or the deployment
// mentions, what the policy expects, and (after probing) what the lab observed. Pure.

import type { GatePlan } from "../compile/index.ts";
import { type Allow, allowedFlows, OBSERVE_RULE, observedServices, observeOpens } from "../compile/index.ts";
import type { Deployment } from "../model/types.ts";
import { type Policy, parsePortSpec } from "../policy/index.ts";
import type { ProbeSpec } from "./lab.ts";
import { HOST, isLoopback, type LabTopology, OUTSIDE, OUTSIDE_LINK } from "./topology.ts";

export interface Cell {
  from: string;
  to: string;
  port: number;
  protocol: "tcp" | "udp";
  expected: boolean;
  /** Why it is expected open: `flows[2]`, `zone (shared)`, `gate`, `observe` (observe mode lets it through). */
  rule?: string;
  observed?: boolean;
  /** Probed through the host instead of at the service's addresses (a published port). */
  via?: { host: string; port: number };
}

/** Outside is probed on HTTPS and DNS: what an agent would use to leave. */
const OUTSIDE_PORTS = [
  { port: 443, protocol: "tcp" as const },
  { port: 53, protocol: "udp" as const },
];

export function ruleFor(rules: Allow[], from: string, to: string, port: number, protocol: string): Allow | undefined {
  return rules.find(
    (a) =>
      a.from === from && a.to === to && a.ports.some((p) => p.protocol === protocol && p.from <= port && port <= p.to),
  );
}

/** The ports worth probing: every port a rule names (not whole ranges), every port a service listens on, the gate's. */
export function probePorts(rules: Allow[], d: Deployment, gate: GatePlan | undefined): number[] {
  const ports = new Set<number>();
  for (const r of rules) for (const p of r.ports) if (!(p.from === 1 && p.to === 65535)) ports.add(p.from);
  for (const s of d.services) for (const c of s.containers) for (const l of c.listens) ports.add(l.from);
  if (gate) for (const p of [gate.proxyPort, gate.dnsPort]) ports.add(p);
  return [...ports].sort((a, b) => a - b);
}

/** Every cell to probe, with its expectation. `gate` is set for the compiled topology. */
export function buildCells(policy: Policy, d: Deployment, topology: LabTopology, gate: GatePlan | undefined): Cell[] {
  const rules = allowedFlows(policy, d, gate);
  const portList = probePorts(rules, d, gate).flatMap((port) => [
    { port, protocol: "tcp" as const },
    { port, protocol: "udp" as const },
  ]);
  const names = topology.nodes.map((n) => n.name);
  const observed = observedServices(policy, d);
  const observes = (from: string, to: string) =>
    from !== OUTSIDE && observeOpens(observed, from, to, to === OUTSIDE ? "outside" : to === HOST ? "host" : "stack");
  const cells: Cell[] = [];
  const expect = (from: string, to: string, port: number, protocol: "tcp" | "udp") => {
    const r = ruleFor(rules, from, to, port, protocol);
    const rule = r?.rule ?? (observes(from, to) ? OBSERVE_RULE : undefined);
    cells.push({ from, to, port, protocol, expected: rule !== undefined, ...(rule ? { rule } : {}) });
  };
  for (const from of names) {
    for (const to of names) if (from !== to) for (const p of portList) expect(from, to, p.port, p.protocol);
    for (const p of OUTSIDE_PORTS) expect(from, OUTSIDE, p.port, p.protocol);
    // The Docker host is closed unless a flow names `host`.
    for (const p of portList) expect(from, HOST, p.port, p.protocol);
  }
  // Published ports, probed from outside through the host's DNAT.
  const published = new Map<string, Cell>();
  const policyPublished = (service: string, port: number, protocol: string) =>
    policy.publish.find((p) => {
      const spec = parsePortSpec(p.port);
      return p.service === service && spec.from === port && spec.protocol === protocol;
    });
  const add = (service: string, port: number, protocol: "tcp" | "udp", hostPort: number) => {
    const key = `${service}/${port}/${protocol}`;
    if (published.has(key) || !names.includes(service)) return;
    const rule = policyPublished(service, port, protocol);
    const open = Boolean(rule && !isLoopback(rule.host?.split(":")[0] ?? "127.0.0.1"));
    published.set(key, {
      from: OUTSIDE,
      to: service,
      port,
      protocol,
      expected: open,
      ...(open ? { rule: "publish" } : {}),
      via: { host: OUTSIDE_LINK.host, port: hostPort },
    });
  };
  for (const p of topology.published) add(p.service, p.port, p.protocol, p.hostPort);
  for (const s of d.services)
    for (const p of s.ports)
      if (p.protocol !== "sctp") add(s.name, p.target.from, p.protocol, p.hostPort?.from ?? p.target.from);
  return [...cells, ...published.values()];
}

/** One probe per destination address (a cell is open when any address answers). */
export function probesFor(cells: Cell[], topology: LabTopology): { probes: ProbeSpec[]; cellOf: Map<number, number> } {
  const addrs = new Map<string, string[]>(topology.nodes.map((n) => [n.name, n.interfaces.map((i) => i.address)]));
  addrs.set(OUTSIDE, [OUTSIDE_LINK.outside]);
  const gateways = new Map(topology.bridges.map((b) => [b.name, b.gateway]));
  const probes: ProbeSpec[] = [];
  const cellOf = new Map<number, number>();
  cells.forEach((c, i) => {
    if (c.via) {
      cellOf.set(probes.length, i);
      probes.push({ id: probes.length, from: c.from, host: c.via.host, port: c.via.port, protocol: c.protocol });
      return;
    }
    // The host: at the gateway of each bridge the source sits on.
    const hosts =
      c.to === HOST
        ? (topology.nodes.find((n) => n.name === c.from)?.interfaces ?? []).flatMap((i) => gateways.get(i.bridge) ?? [])
        : (addrs.get(c.to) ?? []);
    for (const host of hosts) {
      cellOf.set(probes.length, i);
      probes.push({ id: probes.length, from: c.from, host, port: c.port, protocol: c.protocol });
    }
  });
  return { probes, cellOf };
}

/** Ports every listener must bind (all cells' ports). */
export function listenPorts(cells: Cell[]): Array<{ port: number; protocol: "tcp" | "udp" }> {
  const seen = new Map<string, { port: number; protocol: "tcp" | "udp" }>();
  for (const c of cells) seen.set(`${c.port}/${c.protocol}`, { port: c.port, protocol: c.protocol });
  return [...seen.values()];
}

export interface MatrixSummary {
  cells: number;
  expectedOpen: number;
  observedOpen: number;
  mismatches: number;
}

export function summarize(cells: Cell[]): MatrixSummary {
  return {
    cells: cells.length,
    expectedOpen: cells.filter((c) => c.expected).length,
    observedOpen: cells.filter((c) => c.observed).length,
    mismatches: cells.filter((c) => c.observed !== undefined && c.observed !== c.expected).length,
  };
}

/** Text: the cells that are open on either side, with a mark per cell; then the totals. */
export function renderMatrix(cells: Cell[], opts: { color: boolean; title: string; live?: boolean }): string {
  const paint = (code: string, s: string) => (opts.color ? `\x1b[${code}m${s}\x1b[0m` : s);
  const shown = cells.filter((c) => c.expected || c.observed);
  const port = (c: Cell) => `${c.port}/${c.protocol}${c.via ? ` via host :${c.via.port}` : ""}`;
  const expected = (c: Cell) => (c.expected ? `allow${c.rule ? ` (${c.rule})` : ""}` : "deny");
  const w1 = Math.max(4, ...shown.map((c) => c.from.length));
  const w2 = Math.max(2, ...shown.map((c) => c.to.length));
  const w3 = Math.max(4, ...shown.map((c) => port(c).length));
  const w4 = Math.max(8, ...shown.map((c) => expected(c).length));
  const lines = [
    opts.title,
    "",
    `  ${"from".padEnd(w1)}  ${"to".padEnd(w2)}  ${"port".padEnd(w3)}  ${"expected".padEnd(w4)}  observed`,
  ];
  for (const c of shown) {
    const mark = c.observed === c.expected ? paint("32", "ok") : paint("31", "MISMATCH");
    const observed = (c.observed ? "open" : "blocked").padEnd(8);
    lines.push(
      `  ${c.from.padEnd(w1)}  ${c.to.padEnd(w2)}  ${port(c).padEnd(w3)}  ${expected(c).padEnd(w4)}  ${observed}  ${mark}`,
    );
  }
  const closed = cells.length - shown.length;
  if (closed > 0)
    lines.push(
      `  … and ${closed} more cells denied by the policy and blocked ${opts.live ? "on the running stack" : "in the lab"}`,
    );
  const s = summarize(cells);
  lines.push(
    "",
    `${s.cells} cells probed; expected open ${s.expectedOpen}, observed open ${s.observedOpen}; ` +
      (s.mismatches === 0 ? paint("32", "every cell as the policy says") : paint("31", `${s.mismatches} mismatches`)),
    "",
  );
  return lines.join("\n");
}
