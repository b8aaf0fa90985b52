// Kubernetes reachability under NetworkPolicy semantics: a connection needs the source's egress
// and the destination's ingress to allow it. A pod no policy of a direction selects is open in
// that direction; a selected pod allows only the union of its policies' rules.
import type {
  Deployment,
  EgressCapability,
  Exposure,
  K8sNetworkPolicy,
  NetworkPolicyPeer,
  NetworkPolicyRule,
  PortRange,
  ReachReason,
  Service,
  SourcePos,
} from "../types.ts";
import { blockHasPublic, isAllInterfaces } from "./address.ts";
import { EdgeSet } from "./edges.ts";
import { intersect, isEmpty, MAX_PORT, normalise, type PortSet, union } from "./ports.ts";
import { matches } from "./selector.ts";

interface Pod {
  id: string;
  ns: string;
  s: Service;
  listens: PortSet;
}

interface CompiledRule {
  policy: K8sNetworkPolicy;
  rule: NetworkPolicyRule;
  /** Pods the rule's peers select, or "all" when the rule names no peers. */
  peers: Set<number> | "all";
}

type Side = "ingress" | "egress";

const OPEN: Record<Side, { ports: PortSet; reasons: ReachReason[] }> = {
  ingress: { ports: "all", reasons: [{ kind: "k8s-no-policy", side: "ingress" }] },
  egress: { ports: "all", reasons: [{ kind: "k8s-no-policy", side: "egress" }] },
};

export function podId(s: Service): string {
  return `${s.namespace ?? "default"}/${s.name}`;
}

export function kubernetesReachability(d: Deployment): {
  edges: EdgeSet;
  exposures: Exposure[];
  egress: EgressCapability[];
} {
  const policies = d.k8s?.networkPolicies ?? [];
  const nsLabels = new Map((d.k8s?.namespaces ?? []).map((n) => [n.name, n.labels]));
  const labelsOfNs = (ns: string) => nsLabels.get(ns) ?? { "kubernetes.io/metadata.name": ns };

  const pods: Pod[] = d.services.map((s) => {
    const listens = s.containers.flatMap((c) =>
      c.listens.map((l) => ({ from: l.from, to: l.to, protocol: l.protocol })),
    );
    return { id: podId(s), ns: s.namespace ?? "default", s, listens: normalise(listens) };
  });

  const peerMatches = (policy: K8sNetworkPolicy, peer: NetworkPolicyPeer, q: Pod): boolean => {
    if (!peer.podSelector && !peer.namespaceSelector) return false; // ipBlock: addresses, not pods
    if (peer.namespaceSelector) {
      if (!matches(peer.namespaceSelector, labelsOfNs(q.ns))) return false;
    } else if (q.ns !== policy.namespace) return false;
    return !peer.podSelector || matches(peer.podSelector, q.s.labels);
  };
  const compile = (policy: K8sNetworkPolicy, rule: NetworkPolicyRule): CompiledRule => {
    if (rule.peers === undefined || rule.peers.length === 0) return { policy, rule, peers: "all" };
    const set = new Set<number>();
    pods.forEach((q, i) => {
      if (rule.peers!.some((peer) => peerMatches(policy, peer, q))) set.add(i);
    });
    return { policy, rule, peers: set };
  };

  // Per pod, the rules that govern each direction (undefined = no policy selects it: open).
  const ingressRules: Array<CompiledRule[] | undefined> = pods.map(() => undefined);
  const egressRules: Array<CompiledRule[] | undefined> = pods.map(() => undefined);
  const ingressBy: Array<K8sNetworkPolicy[]> = pods.map(() => []);
  const egressBy: Array<K8sNetworkPolicy[]> = pods.map(() => []);
  for (const policy of policies) {
    const ing = policy.policyTypes.includes("Ingress") ? policy.ingress.map((r) => compile(policy, r)) : [];
    const eg = policy.policyTypes.includes("Egress") ? policy.egress.map((r) => compile(policy, r)) : [];
    pods.forEach((p, i) => {
      if (p.ns !== policy.namespace || !matches(policy.podSelector, p.s.labels)) return;
      if (policy.policyTypes.includes("Ingress")) {
        ingressRules[i] = [...(ingressRules[i] ?? []), ...ing];
        ingressBy[i]!.push(policy);
      }
      if (policy.policyTypes.includes("Egress")) {
        egressRules[i] = [...(egressRules[i] ?? []), ...eg];
        egressBy[i]!.push(policy);
      }
    });
  }

  // One reason object per policy and side, so edges share them and their sort keys.
  const policyReasons = new Map<K8sNetworkPolicy, Record<Side, ReachReason>>();
  const policyReason = (policy: K8sNetworkPolicy, which: Side): ReachReason => {
    let r = policyReasons.get(policy);
    if (!r) {
      const name = `${policy.namespace}/${policy.name}`;
      r = {
        ingress: { kind: "k8s-policy", side: "ingress", policy: name },
        egress: { kind: "k8s-policy", side: "egress", policy: name },
      };
      policyReasons.set(policy, r);
    }
    return r[which];
  };

  const side = (
    rules: CompiledRule[] | undefined,
    which: Side,
    peer: number,
    dst: Pod,
  ): { ports: PortSet; reasons: ReachReason[] } => {
    if (rules === undefined) return OPEN[which];
    let ports: PortSet = [];
    const reasons: ReachReason[] = [];
    for (const r of rules) {
      if (r.peers !== "all" && !r.peers.has(peer)) continue;
      const allowed = rulePorts(r.rule, dst);
      if (isEmpty(allowed)) continue;
      ports = union(ports, allowed);
      const reason = policyReason(r.policy, which);
      if (!reasons.includes(reason)) reasons.push(reason);
    }
    return { ports, reasons };
  };

  const edges = new EdgeSet();
  pods.forEach((src, i) => {
    pods.forEach((dst, j) => {
      if (i === j || src.id === dst.id) return;
      const out = side(egressRules[i], "egress", j, dst);
      if (isEmpty(out.ports)) return;
      const inn = side(ingressRules[j], "ingress", i, dst);
      if (isEmpty(inn.ports)) return;
      let ports: PortSet = intersect(out.ports, inn.ports);
      if (isEmpty(ports)) return;
      if (ports !== "all" && dst.listens !== "all" && dst.listens.length > 0) {
        // containerPort is informational: keep the policy's ranges when nothing declared matches.
        const narrowed = intersect(ports, dst.listens);
        if (!isEmpty(narrowed)) ports = narrowed;
      }
      edges.addAll(src.id, dst.id, ports, [...out.reasons, ...inn.reasons]);
    });
  });

  const exposures = pods.flatMap((p) => podExposures(p));
  for (const svc of d.k8s?.services ?? []) {
    if (svc.type !== "NodePort" && svc.type !== "LoadBalancer") continue;
    if (Object.keys(svc.selector).length === 0) continue; // selects no pods
    for (const p of pods) {
      if (p.ns !== svc.namespace || !Object.entries(svc.selector).every(([k, v]) => p.s.labels[k] === v)) continue;
      for (const port of svc.ports) {
        const e: Exposure = {
          service: p.id,
          kind: svc.type === "NodePort" ? "nodeport" : "loadbalancer",
          protocol: port.protocol,
          allInterfaces: true,
          pos: svc.pos,
        };
        const n = svc.type === "NodePort" ? port.nodePort : port.port;
        if (n !== undefined) e.port = n;
        exposures.push(e);
      }
    }
  }

  const egress = pods.map((p, i) => egressOf(p, egressBy[i]!));
  return { edges, exposures, egress };
}

/** The ports a rule opens on `dst`; named ports resolve against dst's named containerPorts. */
function rulePorts(rule: NetworkPolicyRule, dst: Pod): PortSet {
  if (!rule.ports || rule.ports.length === 0) return "all";
  const out: PortRange[] = [];
  for (const p of rule.ports) {
    if (p.port === undefined) out.push({ from: 1, to: MAX_PORT, protocol: p.protocol });
    else if (typeof p.port === "number") out.push({ from: p.port, to: p.endPort ?? p.port, protocol: p.protocol });
    else {
      for (const c of dst.s.containers) {
        for (const l of c.listens) {
          if (l.name === p.port && l.protocol === p.protocol)
            out.push({ from: l.from, to: l.to, protocol: l.protocol });
        }
      }
    }
  }
  return normalise(out);
}

function podExposures(p: Pod): Exposure[] {
  const out: Exposure[] = [];
  for (const pp of p.s.ports) {
    const e: Exposure = {
      service: p.id,
      kind: "published",
      hostIp: pp.hostIp,
      protocol: pp.protocol,
      allInterfaces: isAllInterfaces(pp.hostIp, pp.hostIpDefaulted),
      pos: pp.pos,
    };
    if (pp.hostPort) e.port = pp.hostPort.from;
    out.push(e);
  }
  if (p.s.networkMode.kind === "host") {
    const key = Object.keys(p.s.positions).find((k) => k === "hostNetwork" || k.endsWith(".hostNetwork"));
    const pos: SourcePos = (key && p.s.positions[key]) || p.s.pos;
    const listens = p.s.containers.flatMap((c) => c.listens);
    if (listens.length === 0) out.push({ service: p.id, kind: "host-network", allInterfaces: true, pos });
    for (const l of listens) {
      out.push({ service: p.id, kind: "host-network", port: l.from, protocol: l.protocol, allInterfaces: true, pos });
    }
  }
  return out;
}

function egressOf(p: Pod, selecting: K8sNetworkPolicy[]): EgressCapability {
  if (selecting.length === 0) return { service: p.id, internet: true, reason: "no NetworkPolicy restricts its egress" };
  for (const policy of selecting) {
    const name = `${policy.namespace}/${policy.name}`;
    for (const rule of policy.egress) {
      const on = portsText(rule);
      if (rule.peers === undefined || rule.peers.length === 0) {
        return {
          service: p.id,
          internet: true,
          reason: `NetworkPolicy ${name} allows egress to every destination${on}`,
        };
      }
      for (const peer of rule.peers) {
        if (peer.ipBlock && blockHasPublic(peer.ipBlock.cidr, peer.ipBlock.except)) {
          const except = peer.ipBlock.except.length ? ` except ${peer.ipBlock.except.join(", ")}` : "";
          return {
            service: p.id,
            internet: true,
            reason: `NetworkPolicy ${name} allows egress to ${peer.ipBlock.cidr}${except}${on}`,
          };
        }
      }
    }
  }
  const names = selecting.map((x) => `${x.namespace}/${x.name}`).join(", ");
  return {
    service: p.id,
    internet: false,
    reason: `egress limited by NetworkPolicy ${names}; no rule allows a public address`,
  };
}

/** " on 443/tcp, 53/udp" for a rule limited to ports; "" when it allows every port. */
function portsText(rule: NetworkPolicyRule): string {
  if (!rule.ports || rule.ports.length === 0) return "";
  const parts = rule.ports.map((p) => {
    if (p.port === undefined) return `all ${p.protocol} ports`;
    return `${p.port}${p.endPort !== undefined ? `-${p.endPort}` : ""}/${p.protocol}`;
  });
  return ` on ${parts.join(", ")}`;
}
