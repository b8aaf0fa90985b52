// Kubernetes-only checks: NetworkPolicy coverage, service-account tokens, NodePort/LoadBalancer
// exposure, hostPath and hostPort. (kube-score pod-networkpolicy, Checkov CKV_K8S_38/CKV2_K8S_6,
// Trivy KSV023/KSV024, kubesec.)
import type { Container, K8sNetworkPolicy, K8sService, LabelSelector, Mount, Service } from "../../model/types.ts";
import type { Hit, RelatedLocation, Rule, RuleContext } from "../types.ts";
import { fieldPos, servicePos } from "../where.ts";
import { mountedAt, sourceSite } from "./mounts.ts";
import { hostPath, perService, tierOfService } from "./util.ts";

export function selects(sel: LabelSelector, labels: Record<string, string>): boolean {
  for (const [k, v] of Object.entries(sel.matchLabels)) if (labels[k] !== v) return false;
  for (const x of sel.matchExpressions) {
    const has = Object.hasOwn(labels, x.key);
    const val = labels[x.key];
    if (x.operator === "Exists" && !has) return false;
    if (x.operator === "DoesNotExist" && has) return false;
    if (x.operator === "In" && (!has || !x.values.includes(val ?? ""))) return false;
    if (x.operator === "NotIn" && has && x.values.includes(val ?? "")) return false;
  }
  return true;
}

function policiesFor(ctx: RuleContext, s: Service): K8sNetworkPolicy[] {
  const ns = s.namespace ?? "default";
  return (ctx.deployment.k8s?.networkPolicies ?? []).filter(
    (p) => p.namespace === ns && selects(p.podSelector, s.labels),
  );
}

function workloads(ctx: RuleContext, fn: (s: Service) => Hit | Hit[] | undefined): Hit[] {
  return perService(ctx, (s) => (s.platform === "kubernetes" ? fn(s) : undefined));
}

function exposing(ctx: RuleContext, s: Service): K8sService[] {
  const ns = s.namespace ?? "default";
  return (ctx.deployment.k8s?.services ?? []).filter(
    (k) =>
      k.namespace === ns &&
      (k.type === "NodePort" || k.type === "LoadBalancer") &&
      Object.keys(k.selector).length > 0 &&
      Object.entries(k.selector).every(([key, v]) => s.labels[key] === v),
  );
}

/** The workload a Service selects: the finding is on the Service (its `type:` is the fix), the pods are why it matters. */
function selected(s: Service): RelatedLocation {
  return { pos: s.pos, message: `${s.kind ?? "workload"} ${s.name}, whose pods the Service selects` };
}

export const kubernetesRules: Rule[] = [
  {
    id: "CRL-K001",
    title: "No NetworkPolicy selects the pod",
    severity: "high",
    family: "kubernetes",
    cwe: "CWE-923",
    platforms: ["kubernetes"],
    rationale:
      "A pod no NetworkPolicy selects accepts connections from, and opens them to, every pod in the cluster and the internet.",
    fix: "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: { name: app }\nspec:\n  podSelector: { matchLabels: { app: app } }\n  policyTypes: [Ingress, Egress]\n  ingress: [{ from: [{ podSelector: { matchLabels: { app: proxy } } }] }]\n  egress: []",
    references: ["kube-score pod-networkpolicy", "Checkov CKV2_K8S_6", "Trivy"],
    check: (ctx) =>
      workloads(ctx, (s) =>
        policiesFor(ctx, s).length === 0
          ? {
              service: s,
              message: `no NetworkPolicy in namespace ${s.namespace ?? "default"} selects this pod`,
              pos: s.pos,
            }
          : undefined,
      ),
  },
  {
    id: "CRL-K002",
    title: "Egress not restricted by a NetworkPolicy",
    severity: "medium",
    family: "kubernetes",
    cwe: "CWE-923",
    platforms: ["kubernetes"],
    rationale:
      "Without an Egress policy (a namespace default-deny or one selecting the pod) the pod can open connections anywhere, including the cloud metadata endpoint.",
    fix: "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: { name: default-deny-egress }\nspec:\n  podSelector: {}\n  policyTypes: [Egress]",
    references: ["kube-score", "NSA/CISA Kubernetes Hardening Guide"],
    check: (ctx) =>
      workloads(ctx, (s) =>
        policiesFor(ctx, s).some((p) => p.policyTypes.includes("Egress"))
          ? undefined
          : {
              service: s,
              message: "egress is not restricted: no Egress NetworkPolicy selects this pod (no default-deny egress)",
              pos: s.pos,
            },
      ),
  },
  {
    id: "CRL-K003",
    title: "Service-account token automounted",
    severity: "medium",
    family: "kubernetes",
    cwe: "CWE-284",
    platforms: ["kubernetes"],
    rationale:
      "The automounted token lets code in the pod call the Kubernetes API with the service account's rights; agent code rarely needs it.",
    fix: "spec:\n  template:\n    spec:\n      automountServiceAccountToken: false",
    references: ["Checkov CKV_K8S_38", "kubesec", "CIS Kubernetes 5.1.6"],
    check: (ctx) =>
      workloads(ctx, (s) =>
        s.automountServiceAccountToken === false
          ? undefined
          : {
              service: s,
              message:
                s.automountServiceAccountToken === true
                  ? "automountServiceAccountToken: true"
                  : "service-account token is automounted (automountServiceAccountToken not false)",
              pos: servicePos(s, [], ["automountServiceAccountToken", "serviceAccountName"]),
            },
      ),
  },
  {
    id: "CRL-K004",
    title: "Data store exposed by NodePort or LoadBalancer",
    severity: "high",
    family: "kubernetes",
    cwe: "CWE-668",
    platforms: ["kubernetes"],
    rationale: "A database behind a NodePort or LoadBalancer Service is reachable from outside the cluster.",
    fix: "kind: Service\nspec:\n  type: ClusterIP",
    references: ["Checkov", "Trivy"],
    check: (ctx) =>
      workloads(ctx, (s) =>
        tierOfService(ctx, s) !== "data"
          ? undefined
          : exposing(ctx, s).map((k) => ({
              service: s,
              message: `data store exposed outside the cluster by ${k.type} Service ${k.name}`,
              pos: k.pos,
              related: [selected(s)],
            })),
      ),
  },
  {
    id: "CRL-K005",
    title: "Workload exposed by NodePort or LoadBalancer",
    severity: "low",
    family: "kubernetes",
    cwe: "CWE-668",
    platforms: ["kubernetes"],
    rationale:
      "NodePort opens the port on every node; LoadBalancer on a public address. Prefer an Ingress with TLS and authentication.",
    fix: "kind: Service\nspec:\n  type: ClusterIP   # expose through an Ingress",
    references: ["kube-score service-type"],
    check: (ctx) =>
      workloads(ctx, (s) =>
        tierOfService(ctx, s) === "data"
          ? undefined
          : exposing(ctx, s).map((k) => ({
              service: s,
              message: `exposed outside the cluster by ${k.type} Service ${k.name}`,
              pos: k.pos,
              related: [selected(s)],
            })),
      ),
  },
  {
    id: "CRL-K006",
    title: "hostPath volume",
    severity: "high",
    family: "kubernetes",
    cwe: "CWE-668",
    platforms: ["kubernetes"],
    rationale:
      "hostPath volumes give the pod the node's filesystem, surviving the pod and shared with everything else on the node.",
    fix: "volumes:\n  - name: data\n    persistentVolumeClaim: { claimName: data }",
    references: ["Checkov CKV_K8S_27", "Trivy KSV023", "kubesec"],
    // One finding per volume, at its `hostPath:`: that is what to replace, however many
    // containers mount it; each mount is a related location.
    check: (ctx) =>
      workloads(ctx, (s) => {
        const byVolume = new Map<string, Array<{ c: Container; m: Mount }>>();
        for (const c of s.containers) {
          for (const m of c.mounts) {
            if (m.type !== "hostPath") continue;
            const key = m.volume?.name ?? `${c.name}\0${m.target}`;
            byVolume.set(key, [...(byVolume.get(key) ?? []), { c, m }]);
          }
        }
        return [...byVolume.values()].flatMap((uses) => {
          const [first] = uses;
          if (!first) return [];
          const { c, m } = first;
          const access = uses.some((u) => !u.m.readOnly) ? "read-write" : "read-only";
          const count = uses.length === 1 ? "one mount" : `${uses.length} mounts`;
          return [
            {
              service: s,
              message: `hostPath volume ${m.volume ? `${m.volume.name} ` : ""}gives the pod the node's ${hostPath(m) ?? "?"} (${count}, ${access})`,
              pos: sourceSite(s, c, m).pos,
              related: m.volume ? uses.map((u) => mountedAt(s, u.c, u.m)) : [],
            },
          ];
        });
      }),
  },
  {
    id: "CRL-K007",
    title: "hostPort",
    severity: "medium",
    family: "kubernetes",
    cwe: "CWE-668",
    platforms: ["kubernetes"],
    rationale: "hostPort binds the node's address, bypassing Services and most NetworkPolicy implementations.",
    fix: "ports:\n  - containerPort: 8080   # remove hostPort; expose through a Service",
    references: ["Trivy KSV024", "kubesec"],
    check: (ctx) =>
      workloads(ctx, (s) =>
        s.ports.map((p) => ({
          service: s,
          message: `hostPort ${p.hostPort?.from ?? "?"} → ${p.target.from}/${p.protocol}`,
          pos: fieldPos(s, p.pos, "hostPort"),
        })),
      ),
  },
  {
    id: "CRL-K008",
    title: "Workload in the default namespace",
    severity: "low",
    family: "kubernetes",
    cwe: "CWE-653",
    platforms: ["kubernetes"],
    rationale:
      "The default namespace is shared by everything without a home; policies and RBAC scoped to it are hard to get right.",
    fix: "metadata:\n  namespace: agents",
    references: ["Checkov CKV_K8S_21", "kube-score"],
    check: (ctx) =>
      workloads(ctx, (s) =>
        (s.namespace ?? "default") === "default"
          ? { service: s, message: "runs in the default namespace", pos: s.positions["metadata.namespace"] ?? s.pos }
          : undefined,
      ),
  },
];
