// Selectors and names shared by the Kubernetes and Cilium targets.
import type { Deployment } from "../model/types.ts";
import type { Policy, PortRange } from "../policy/index.ts";

export const ZONE_LABEL = "corral.dev/zone";
export const SERVICE_LABEL = "corral.dev/service";
export const GATE_LABELS = { "corral.dev/role": "gate" };
export const KUBE_DNS = {
  namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": "kube-system" } },
  podSelector: { matchLabels: { "k8s-app": "kube-dns" } },
};

/** A DNS-1123 name: lowercase letters, digits and '-', at most 63 characters. */
export function k8sName(...parts: string[]): string {
  const s = parts
    .join("-")
    .toLowerCase()
    .replace(/[^a-z0-9-]+/g, "-")
    .replace(/-+/g, "-")
    .replace(/^-|-$/g, "");
  return s.slice(0, 63).replace(/-$/, "") || "corral";
}

/** Pods of a zone carry `corral.dev/zone`; a single service is selected by its own labels. */
export function selectorFor(policy: Policy, d: Deployment, name: string): Record<string, string> {
  if (policy.zones[name]) return { [ZONE_LABEL]: name };
  const svc = d.services.find((s) => s.name === name);
  if (svc && d.platform === "kubernetes" && Object.keys(svc.labels).length > 0) return { ...svc.labels };
  return { [SERVICE_LABEL]: name };
}

export function namespacesOf(policy: Policy, d: Deployment): string[] {
  if (d.platform === "kubernetes") return [...new Set(d.services.map((s) => s.namespace ?? "default"))].sort();
  return [k8sName(policy.project ?? d.project ?? "default")];
}

export function k8sPort(p: PortRange): { protocol: string; port: number; endPort?: number } {
  return { protocol: p.protocol.toUpperCase(), port: p.from, ...(p.to !== p.from ? { endPort: p.to } : {}) };
}
