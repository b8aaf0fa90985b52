// Manifest text → Deployment (pure). Reads the kinds that decide who runs what and who may talk
// to whom; every other kind (ConfigMap, Secret, Ingress, PVC, …) is skipped without complaint.
import { InputError } from "../errors.ts";
import type { Deployment, Diagnostic, K8sNetworkPolicy, K8sService, Service } from "../types.ts";
import { fieldsOf } from "./fields.ts";
import { k8sServiceOf } from "./k8s-service.ts";
import { networkPolicyOf } from "./network-policy.ts";
import { manifestsFromText } from "./source.ts";
import { WORKLOAD_KINDS, workloadOf } from "./workload.ts";

export interface KubernetesOptions {
  /** Namespace for objects that name none (kubectl's `-n`); "default" when unset. */
  defaultNamespace?: string;
}

/** What one file contributed; several are merged into one Deployment. */
export interface KubernetesObjects {
  services: Service[];
  k8sServices: K8sService[];
  networkPolicies: K8sNetworkPolicy[];
  namespaces: Array<{ name: string; labels: Record<string, string> }>;
  diagnostics: Diagnostic[];
}

export const NAMESPACE_NAME_LABEL = "kubernetes.io/metadata.name";

export function objectsFromText(text: string, file: string, opts: KubernetesOptions = {}): KubernetesObjects {
  const out: KubernetesObjects = {
    services: [],
    k8sServices: [],
    networkPolicies: [],
    namespaces: [],
    diagnostics: [],
  };
  for (const m of manifestsFromText(text, file)) {
    const f = fieldsOf(m);
    const kind = f.str(m.value["kind"], "kind");
    if (kind === undefined) {
      out.diagnostics.push({
        severity: "warning",
        message: "a document has no `kind`; it was skipped",
        hint: "every Kubernetes object needs apiVersion and kind",
        pos: m.pos,
      });
      continue;
    }
    const known = WORKLOAD_KINDS.has(kind) || kind === "Service" || kind === "NetworkPolicy" || kind === "Namespace";
    if (!known) continue;
    const meta = f.map(m.value["metadata"], "metadata") ?? {};
    const name = f.str(meta["name"], "metadata.name");
    if (!name) {
      const p = f.pos("metadata");
      throw new InputError(
        `${kind} has no metadata.name`,
        p,
        "give the object a name (metadata.name), or render the chart with `helm template` first",
      );
    }
    if (kind === "Namespace") {
      const labels: Record<string, string> = {};
      for (const [k, v] of Object.entries(f.map(meta["labels"], "metadata.labels") ?? {})) {
        labels[k] = f.str(v, `metadata.labels.${k}`) ?? "";
      }
      out.namespaces.push({ name, labels });
      continue;
    }
    const namespace = f.str(meta["namespace"], "metadata.namespace") || opts.defaultNamespace || "default";
    if (kind === "Service") out.k8sServices.push(k8sServiceOf(f, m.value, namespace, name));
    else if (kind === "NetworkPolicy") out.networkPolicies.push(networkPolicyOf(f, m.value, namespace, name));
    else out.services.push(workloadOf(f, m.value, kind, namespace, name));
  }
  return out;
}

/** Merges what each file contributed; namespaces named but not declared appear with their name label. */
export function assemble(files: string[], parts: KubernetesObjects[]): Deployment {
  const services = parts.flatMap((p) => p.services);
  const k8sServices = parts.flatMap((p) => p.k8sServices);
  const networkPolicies = parts.flatMap((p) => p.networkPolicies);
  const diagnostics = parts.flatMap((p) => p.diagnostics);

  const seen = new Map<string, Service>();
  for (const s of services) {
    const id = `${s.namespace}/${s.name}`;
    const prev = seen.get(id);
    if (prev) {
      diagnostics.push({
        severity: "warning",
        message: `two workloads are named ${id} (${prev.kind} and ${s.kind}); reachability treats them as one`,
        hint: "rename one of them so each workload has a unique name in its namespace",
        pos: s.pos,
      });
    } else seen.set(id, s);
  }

  const namespaces = new Map<string, Record<string, string>>();
  for (const ns of parts.flatMap((p) => p.namespaces)) {
    // The API server always sets this label; selectors rely on it.
    namespaces.set(ns.name, { ...ns.labels, [NAMESPACE_NAME_LABEL]: ns.name });
  }
  const referenced = [
    ...services.map((s) => s.namespace ?? "default"),
    ...k8sServices.map((s) => s.namespace),
    ...networkPolicies.map((p) => p.namespace),
  ];
  for (const ns of referenced) if (!namespaces.has(ns)) namespaces.set(ns, { [NAMESPACE_NAME_LABEL]: ns });

  return {
    platform: "kubernetes",
    files,
    services,
    networks: [],
    k8s: {
      namespaces: [...namespaces.entries()]
        .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
        .map(([name, labels]) => ({ name, labels })),
      services: k8sServices,
      networkPolicies,
    },
    diagnostics,
  };
}

/** One manifest stream (a file's text) → Deployment. */
export function kubernetesFromText(text: string, file: string, opts: KubernetesOptions = {}): Deployment {
  return assemble([file], [objectsFromText(text, file, opts)]);
}
