// Who really is where: the running containers of a compose project, as plan attachments with the
// addresses the engine gave them. A container is named by Compose's service label (so every
// replica, and `compose run` one-offs, get their service's rules) and placed on the plan network
// whose subnet holds its address: the overlay pins those subnets, and a name match would break on
// `name:` overrides and project prefixes.

import type { Attachment, Plan } from "../compile/index.ts";
import { ipToNum, parseCidr } from "../compile/index.ts";
import type { ContainerSummary } from "./docker-api.ts";

export const SERVICE_LABEL = "com.docker.compose.service";

export interface LiveMembers {
  attachments: Attachment[];
  /** Running containers of services the plan does not know (they get no rules: dropped). */
  unknown: string[];
}

/** The plan network whose subnet holds an address (the overlay pins the subnets). */
export function networkLocator(plan: Plan): (ip: string) => string | undefined {
  const ranges = plan.networks.map((n) => {
    const c = parseCidr(n.subnet);
    return { key: n.key, first: c.base, last: c.base + 2 ** (32 - c.prefix) - 1 };
  });
  return (ip) => {
    const v = ipToNum(ip);
    return ranges.find((r) => v >= r.first && v <= r.last)?.key;
  };
}

export function liveMembers(plan: Plan, containers: readonly ContainerSummary[]): LiveMembers {
  const networkOf = networkLocator(plan);
  const planned = new Map(plan.attachments.map((a) => [`${a.service}@${a.network}`, a.home]));
  const attachments: Attachment[] = [];
  const unknown = new Set<string>();
  for (const c of containers) {
    const service = c.Labels[SERVICE_LABEL];
    if (!service) continue;
    for (const net of Object.values(c.NetworkSettings?.Networks ?? {})) {
      if (!net.IPAddress) continue;
      const network = networkOf(net.IPAddress);
      if (!network) continue;
      const home = planned.get(`${service}@${network}`);
      // On a Corral network the plan does not put it on: someone connected it by hand.
      if (home === undefined) {
        unknown.add(service);
        continue;
      }
      attachments.push({ service, network, address: net.IPAddress, home });
    }
  }
  attachments.sort(
    (a, b) =>
      a.network.localeCompare(b.network) ||
      a.service.localeCompare(b.service) ||
      ipToNum(a.address) - ipToNum(b.address),
  );
  return { attachments, unknown: [...unknown].sort() };
}

export const NUMBER_LABEL = "com.docker.compose.container-number";

/** A container's replica name: `service#N` when its service runs several, else the service. */
export function replicaNamer(containers: readonly ContainerSummary[]): (c: ContainerSummary) => string | undefined {
  const perService = new Map<string, number>();
  for (const c of containers) {
    const s = c.Labels[SERVICE_LABEL];
    if (s) perService.set(s, (perService.get(s) ?? 0) + 1);
  }
  return (c) => {
    const service = c.Labels[SERVICE_LABEL];
    if (!service) return undefined;
    const n = c.Labels[NUMBER_LABEL] ?? c.Id.slice(0, 12);
    return (perService.get(service) ?? 0) > 1 ? `${service}#${n}` : service;
  };
}

/** Replica names by address. */
export function replicaNames(containers: readonly ContainerSummary[]): (ip: string) => string | undefined {
  const nameOf = replicaNamer(containers);
  const names = new Map<string, string>();
  for (const c of containers) {
    const name = nameOf(c);
    if (!name) continue;
    for (const net of Object.values(c.NetworkSettings?.Networks ?? {}))
      if (net.IPAddress) names.set(net.IPAddress, name);
  }
  return (ip) => names.get(ip);
}
