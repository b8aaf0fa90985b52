// What the compiled host rules let through, per (source, destination) pair, read off the policy
// rather than the plan: `corral verify` proves the ruleset against it, and `corral scan
// --compiled` narrows its reachability to it, so the two cannot disagree about what is open.
// Pure.
import type { Deployment } from "../model/types.ts";
import { type Policy, type PortRange, resolveFlows, resolveHostFlows } from "../policy/index.ts";
import { GATE, type GatePlan } from "./plan.ts";

/** The pretend internet endpoint: a destination, never a service. */
export const OUTSIDE = "(outside)";
/** The Docker host itself, reached at a bridge's gateway address. */
export const HOST = "(host)";

/** flowIndex of the implicit any-port flows inside a shared zone (as in the plan's groups). */
export const SHARED_ZONE_FLOW = -1;
/** flowIndex of an egress client's flow to the gate, and of the gate's own egress. */
export const GATE_FLOW = -2;

export interface Allow {
  from: string;
  to: string;
  ports: PortRange[];
  /** Index in policy.flows, or SHARED_ZONE_FLOW / GATE_FLOW. */
  flowIndex: number;
  /** Why it is open, for a reader: `flows[2]`, `shared zone`, `gate`, `gate egress`. */
  rule: string;
}

const EVERY_PORT: PortRange[] = [
  { from: 1, to: 65535, protocol: "tcp" },
  { from: 1, to: 65535, protocol: "udp" },
];

/** Every pair the compiled rules open. `gate` is the plan's (absent: the policy has no egress). */
export function allowedFlows(policy: Policy, d: Deployment, gate: GatePlan | undefined): Allow[] {
  const services = d.services.map((s) => ({ name: s.name, labels: s.labels }));
  const out: Allow[] = resolveFlows(policy, services).map((f) => ({
    from: f.from,
    to: f.to,
    ports: f.ports,
    flowIndex: f.flowIndex,
    rule: f.flowIndex >= 0 ? `flows[${f.flowIndex}]` : "shared zone",
  }));
  for (const h of resolveHostFlows(policy, services))
    out.push({ from: h.from, to: HOST, ports: h.ports, flowIndex: h.flowIndex, rule: `flows[${h.flowIndex}]` });
  if (gate) {
    const ports: PortRange[] = [{ from: gate.proxyPort, to: gate.proxyPort, protocol: "tcp" }];
    for (const p of new Set([gate.dnsPort, 53]))
      ports.push({ from: p, to: p, protocol: "udp" }, { from: p, to: p, protocol: "tcp" });
    for (const c of gate.clients) out.push({ from: c, to: GATE, ports, flowIndex: GATE_FLOW, rule: "gate" });
    out.push({ from: GATE, to: OUTSIDE, ports: EVERY_PORT, flowIndex: GATE_FLOW, rule: "gate egress" });
  }
  return out;
}
