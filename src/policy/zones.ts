// Which zone a service belongs to, and which (service → service, ports) pairs the policy's
// flows allow. Pure: callers pass the service names (and labels) a deployment actually has.
import type { Policy } from "./schema.ts";
import { type PortRange, parsePortSpec } from "./units.ts";

export function isGlob(pattern: string): boolean {
  return /[*?]/.test(pattern);
}

export function matchesGlob(pattern: string, name: string): boolean {
  const escaped = pattern
    .replace(/[.+^${}()|[\]\\]/g, "\\$&")
    .replace(/\*/g, ".*")
    .replace(/\?/g, ".");
  return new RegExp(`^${escaped}$`).test(name);
}

/** The zone of a service: a literal listing wins over a glob, a glob over labels. */
export function zoneOf(policy: Policy, service: string, labels: Record<string, string> = {}): string | undefined {
  const entries = Object.entries(policy.zones);
  for (const [zone, z] of entries) if (z.services.includes(service)) return zone;
  for (const [zone, z] of entries) if (z.services.some((p) => isGlob(p) && matchesGlob(p, service))) return zone;
  for (const [zone, z] of entries) {
    if (z.labels && Object.entries(z.labels).every(([k, v]) => labels[k] === v)) return zone;
  }
  return undefined;
}

export interface ServiceRef {
  name: string;
  labels?: Record<string, string>;
}

/** Services named by a flow endpoint: a zone's members, or the service itself. */
export function expandName(policy: Policy, name: string, services: ServiceRef[]): string[] {
  if (policy.zones[name]) return services.filter((s) => zoneOf(policy, s.name, s.labels) === name).map((s) => s.name);
  if (isGlob(name)) return services.filter((s) => matchesGlob(name, s.name)).map((s) => s.name);
  return services.some((s) => s.name === name) ? [name] : [];
}

/**
 * The reserved flow target for services on the Docker host itself (Ollama, a host database):
 * `{ from: rag_api, to: host, ports: [11434/tcp] }`. Not a zone, service or identity name.
 */
export const HOST_TARGET = "host";

export interface HostFlow {
  from: string;
  ports: PortRange[];
  flowIndex: number;
}

/** Every (service → the Docker host, ports) the flows allow. */
export function resolveHostFlows(policy: Policy, services: ServiceRef[]): HostFlow[] {
  const out: HostFlow[] = [];
  policy.flows.forEach((flow, flowIndex) => {
    if (!flow.to.includes(HOST_TARGET)) return;
    const ports = flow.ports.map(parsePortSpec);
    for (const from of new Set(flow.from.flatMap((n) => expandName(policy, n, services))))
      out.push({ from, ports, flowIndex });
  });
  return out;
}

export interface ResolvedFlow {
  from: string;
  to: string;
  ports: PortRange[];
  /** Index in policy.flows, or -1 for the implicit flows inside a shared zone. */
  flowIndex: number;
}

/**
 * Every allowed (from, to, ports) between deployed services: the declared flows, plus
 * "any port" between members of a zone with `isolate: shared`.
 */
export function resolveFlows(policy: Policy, services: ServiceRef[]): ResolvedFlow[] {
  const out: ResolvedFlow[] = [];
  policy.flows.forEach((flow, flowIndex) => {
    const ports = flow.ports.map(parsePortSpec);
    const froms = flow.from.flatMap((n) => expandName(policy, n, services));
    const tos = flow.to.flatMap((n) => expandName(policy, n, services));
    for (const from of new Set(froms))
      for (const to of new Set(tos)) if (from !== to) out.push({ from, to, ports, flowIndex });
  });
  for (const [zone, z] of Object.entries(policy.zones)) {
    if (z.isolate !== "shared") continue;
    const members = services.filter((s) => zoneOf(policy, s.name, s.labels) === zone).map((s) => s.name);
    for (const from of members) {
      for (const to of members) {
        if (from !== to)
          out.push({
            from,
            to,
            ports: [
              { from: 1, to: 65535, protocol: "tcp" },
              { from: 1, to: 65535, protocol: "udp" },
            ],
            flowIndex: -1,
          });
      }
    }
  }
  return out;
}

/** Whether a zone is being observed (logged and let through) or enforced. */
export function zoneMode(policy: Policy, zone: string | undefined): "enforce" | "observe" {
  if (zone === undefined) return policy.mode;
  return policy.zones[zone]?.mode ?? policy.mode;
}
