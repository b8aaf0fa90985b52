// The probe matrix for `corral verify --live`: the lab's cells (every source, destination and
// port the policy or the compose file mentions; the host; the way out) taken per running replica,
// plus egress through the gate and published ports from outside and from loopback. Pure: the
// shell passes the containers the engine reported.

import { allowedFlows, GATE, OBSERVE_RULE, observedServices, observeOpens, type Plan } from "../compile/index.ts";
import { type Cell, HOST, OUTSIDE, probePorts, ruleFor } from "../lab/index.ts";
import type { Deployment } from "../model/types.ts";
import { expandName, type Policy, parseDestination, parsePortSpec, zoneOf } from "../policy/index.ts";

export interface LiveReplica {
  service: string;
  /** `agent` for a single replica, `agent#2` when scaled (Compose's container number). */
  name: string;
  id: string;
  pid: number;
  addresses: Array<{ network: string; address: string; gateway: string }>;
}

/** Where the probe runs: in a replica's network namespace, or in the engine's host / outside. */
export type ProbeSite = { replica: string } | { site: "host" } | { site: "outside" };

export interface LiveProbe {
  cell: number;
  at: ProbeSite;
  host: string;
  port: number;
  protocol: "tcp" | "udp";
  /** A reset or ICMP unreachable counts: the packet got through (containers' own ports). */
  reach?: boolean;
  /** CONNECT name:port through the HTTP proxy at host:port. */
  proxy?: string;
}

export interface LiveCell extends Cell {
  /** What the cell checks, for the report: a flow, a host flow, egress, a published port. */
  kind: "flow" | "host" | "egress" | "published";
}

export interface LiveInputs {
  policy: Policy;
  deployment: Deployment;
  plan: Plan;
  replicas: LiveReplica[];
  /** The outside end: a direct destination beyond the host, and the host address it sees. */
  outside?: { target: { host: string; port: number }; hostAddress: string };
}

/** The cloud metadata address: never reachable from a container. */
export const METADATA = { host: "169.254.169.254", port: 80 };
/** A name no policy allows: the gate must refuse it. */
export const DENIED_NAME = "corral-verify-denied.invalid:443";

/** An exact name the source may reach through the gate, as `name:port`. */
function allowedName(policy: Policy, d: Deployment, service: string): string | undefined {
  const refs = d.services.map((s) => ({ name: s.name, labels: s.labels }));
  for (const rule of policy.egress) {
    if ((rule.mode ?? "enforce") !== "enforce") continue;
    if (!rule.from.some((f) => expandName(policy, f, refs).includes(service))) continue;
    for (const raw of rule.allow) {
      const dest = parseDestination(raw);
      if ("error" in dest || dest.host.kind !== "exact") continue;
      return `${dest.host.name}:${dest.port?.from ?? 443}`;
    }
  }
  return undefined;
}

/** Replicas of one service reach each other only in a shared zone or through a flow to itself. */
function selfRule(policy: Policy, d: Deployment, service: string, port: number, protocol: string): string | undefined {
  const svc = d.services.find((s) => s.name === service);
  const zone = zoneOf(policy, service, svc?.labels ?? {});
  if (zone && policy.zones[zone]?.isolate === "shared") return "shared zone";
  const refs = d.services.map((s) => ({ name: s.name, labels: s.labels }));
  const i = policy.flows.findIndex(
    (f) =>
      f.from.some((n) => expandName(policy, n, refs).includes(service)) &&
      f.to.some((n) => expandName(policy, n, refs).includes(service)) &&
      f.ports.map(parsePortSpec).some((p) => p.protocol === protocol && p.from <= port && port <= p.to),
  );
  return i >= 0 ? `flows[${i}]` : undefined;
}

export function liveCells(input: LiveInputs): { cells: LiveCell[]; probes: LiveProbe[] } {
  const { policy, deployment: d, plan, replicas } = input;
  const rules = allowedFlows(policy, d, plan.gate);
  const observed = observedServices(policy, d);
  const orObserved = (rule: string | undefined, from: string, to: string, where: "stack" | "host") =>
    rule ?? (observeOpens(observed, from, to, where) ? OBSERVE_RULE : undefined);
  const ports = probePorts(rules, d, plan.gate);
  const cells: LiveCell[] = [];
  const probes: LiveProbe[] = [];
  const cell = (c: LiveCell, list: Array<Omit<LiveProbe, "cell">>) => {
    for (const p of list) probes.push({ ...p, cell: cells.length });
    cells.push(c);
  };
  const services = [...new Set(replicas.map((r) => r.service))].sort();
  const gate = replicas.find((r) => r.service === GATE);

  for (const src of replicas) {
    const at = { replica: src.name };
    for (const to of services) {
      // Every address of every replica of the target, except the source itself: a cell is open
      // when any answers.
      const targets = replicas.filter((r) => r.service === to && r.id !== src.id).flatMap((r) => r.addresses);
      if (targets.length === 0) continue;
      for (const port of ports)
        for (const protocol of ["tcp", "udp"] as const) {
          const rule = orObserved(
            to === src.service
              ? selfRule(policy, d, to, port, protocol)
              : ruleFor(rules, src.service, to, port, protocol)?.rule,
            src.service,
            to,
            "stack",
          );
          cell(
            { kind: "flow", from: src.name, to, port, protocol, expected: Boolean(rule), ...(rule ? { rule } : {}) },
            targets.map((t) => ({ at, host: t.address, port, protocol, reach: protocol === "tcp" })),
          );
        }
    }
    // The Docker host, at the gateway of every network the replica is on.
    const gateways = [...new Set(src.addresses.map((a) => a.gateway).filter(Boolean))];
    for (const port of ports) {
      const rule = orObserved(ruleFor(rules, src.service, HOST, port, "tcp")?.rule, src.service, HOST, "host");
      cell(
        {
          kind: "host",
          from: src.name,
          to: HOST,
          port,
          protocol: "tcp",
          expected: Boolean(rule),
          ...(rule ? { rule } : {}),
        },
        gateways.map((g) => ({ at, host: g, port, protocol: "tcp", reach: true })),
      );
    }
    // A direct way out: only the gate has one (its job; probed so a missing egress rule shows).
    const isGate = src.service === GATE;
    if (input.outside)
      cell(
        {
          kind: "egress",
          from: src.name,
          to: `${OUTSIDE} direct`,
          port: input.outside.target.port,
          protocol: "tcp",
          expected: isGate,
          ...(isGate ? { rule: "gate egress" } : {}),
        },
        [{ at, ...input.outside.target, protocol: "tcp", reach: !isGate }],
      );
    if (isGate) continue;
    cell({ kind: "egress", from: src.name, to: "metadata", port: METADATA.port, protocol: "tcp", expected: false }, [
      { at, ...METADATA, protocol: "tcp", reach: true },
    ]);
    // Through the gate, at its address on the replica's own network: one allowed name, one denied.
    const gateAddress = gate?.addresses.find((g) => src.addresses.some((a) => a.network === g.network))?.address;
    if (plan.gate?.clients.includes(src.service) && gateAddress) {
      const via = { at, host: gateAddress, port: plan.gate.proxyPort, protocol: "tcp" as const };
      const allowed = allowedName(policy, d, src.service);
      if (allowed)
        cell(
          {
            kind: "egress",
            from: src.name,
            to: `${allowed} via gate`,
            port: plan.gate.proxyPort,
            protocol: "tcp",
            expected: true,
            rule: "egress",
          },
          [{ ...via, proxy: allowed }],
        );
      cell(
        {
          kind: "egress",
          from: src.name,
          to: `${DENIED_NAME} via gate`,
          port: plan.gate.proxyPort,
          protocol: "tcp",
          expected: false,
        },
        [{ ...via, proxy: DENIED_NAME }],
      );
    }
  }

  // Published ports: from outside at the host's address, from the host's loopback. Every port the
  // compose file or the policy publishes; the policy's decide where.
  const seen = new Set<string>();
  const published = [
    ...plan.published.map((p) => ({
      service: p.service,
      port: p.port.from,
      protocol: p.port.protocol,
      hostPort: p.hostPort,
    })),
    ...d.services.flatMap((s) =>
      s.ports.flatMap((p) =>
        p.protocol === "sctp"
          ? []
          : [
              {
                service: s.name,
                port: p.target.from,
                protocol: p.protocol,
                hostPort: p.hostPort?.from ?? p.target.from,
              },
            ],
      ),
    ),
  ];
  for (const p of published) {
    const key = `${p.service}/${p.port}/${p.protocol}`;
    if (seen.has(key) || p.protocol !== "tcp") continue;
    seen.add(key);
    const pub = plan.published.find(
      (x) => x.service === p.service && x.port.from === p.port && x.port.protocol === p.protocol,
    );
    const beyondLoopback = pub !== undefined && !/^127\.|^::1$/.test(pub.hostIp);
    const hostPort = pub?.hostPort ?? p.hostPort;
    if (input.outside)
      cell(
        {
          kind: "published",
          from: OUTSIDE,
          to: p.service,
          port: p.port,
          protocol: "tcp",
          expected: beyondLoopback,
          ...(beyondLoopback ? { rule: "publish" } : {}),
          via: { host: input.outside.hostAddress, port: hostPort },
        },
        [{ at: { site: "outside" }, host: input.outside.hostAddress, port: hostPort, protocol: "tcp" }],
      );
    cell(
      {
        kind: "published",
        from: `${HOST} loopback`,
        to: p.service,
        port: p.port,
        protocol: "tcp",
        expected: pub !== undefined,
        ...(pub ? { rule: "publish" } : {}),
        via: { host: "127.0.0.1", port: hostPort },
      },
      [{ at: { site: "host" }, host: "127.0.0.1", port: hostPort, protocol: "tcp" }],
    );
  }
  return { cells, probes };
}
