// Who can reach whom, what is exposed beyond the host or cluster, and who can reach the internet.
// Pure and deterministic: the same Deployment always yields the same, sorted Reachability.

import { composeReachability } from "./reach/compose.ts";
import { byString } from "./reach/edges.ts";
import { kubernetesReachability, podId } from "./reach/kubernetes.ts";
import type { Deployment, Exposure, Reachability, Service } from "./types.ts";

/** A service's id in edges, exposures and egress: compose name, or `namespace/name` for Kubernetes. */
export function serviceId(s: Service): string {
  return s.platform === "kubernetes" ? podId(s) : s.name;
}

export function computeReachability(d: Deployment): Reachability {
  const r = d.platform === "kubernetes" ? kubernetesReachability(d) : composeReachability(d);
  return {
    edges: r.edges.edges(),
    exposures: r.exposures.sort(compareExposures),
    egress: r.egress.sort((a, b) => byString(a.service, b.service)),
  };
}

function compareExposures(a: Exposure, b: Exposure): number {
  return (
    byString(a.service, b.service) ||
    byString(a.kind, b.kind) ||
    (a.port ?? -1) - (b.port ?? -1) ||
    byString(a.protocol ?? "", b.protocol ?? "") ||
    byString(a.hostIp ?? "", b.hostIp ?? "") ||
    byString(a.pos.file, b.pos.file) ||
    a.pos.line - b.pos.line ||
    a.pos.col - b.pos.col
  );
}
