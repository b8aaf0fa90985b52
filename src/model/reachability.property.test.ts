// Properties of NetworkPolicy reachability that hold for any cluster: policies only ever take
// connections away from the default-allow cluster, and an allow-all policy takes nothing away.
import assert from "node:assert/strict";
import { test } from "node:test";
import fc from "fast-check";
import { computeReachability } from "./reachability.ts";
import { k8s, pod, policy, sel } from "./testkit.ts";
import type { K8sNetworkPolicy, NetworkPolicyPeer, NetworkPolicyRule, Service } from "./types.ts";

const NS = ["a", "b"];
const APPS = ["x", "y", "z"];

const arbPods = fc.uniqueArray(
  fc.record({ ns: fc.constantFrom(...NS), app: fc.constantFrom(...APPS), port: fc.constantFrom(80, 443, 5432) }),
  { minLength: 1, maxLength: 6, selector: (p) => `${p.ns}/${p.app}` },
);
const arbPeer: fc.Arbitrary<NetworkPolicyPeer> = fc.oneof(
  fc.constantFrom(...APPS).map((app): NetworkPolicyPeer => ({ podSelector: sel({ app }) })),
  fc
    .constantFrom(...NS)
    .map((ns): NetworkPolicyPeer => ({ namespaceSelector: sel({ "kubernetes.io/metadata.name": ns }) })),
  fc.constant<NetworkPolicyPeer>({ ipBlock: { cidr: "0.0.0.0/0", except: [] } }),
);
const arbRule: fc.Arbitrary<NetworkPolicyRule> = fc.record(
  {
    peers: fc.array(arbPeer, { maxLength: 2 }),
    ports: fc.array(
      fc.record({ protocol: fc.constant("tcp" as const), port: fc.constantFrom<number | string>(80, 443, "http") }),
      { maxLength: 2 },
    ),
  },
  { requiredKeys: [] },
);
const arbPolicy = fc
  .record({
    ns: fc.constantFrom(...NS),
    app: fc.option(fc.constantFrom(...APPS), { nil: undefined }),
    types: fc.constantFrom<K8sNetworkPolicy["policyTypes"]>(["Ingress"], ["Egress"], ["Ingress", "Egress"]),
    ingress: fc.array(arbRule, { maxLength: 2 }),
    egress: fc.array(arbRule, { maxLength: 2 }),
  })
  .map(
    (p): K8sNetworkPolicy =>
      policy(`p-${p.ns}-${p.app ?? "all"}`, {
        namespace: p.ns,
        podSelector: sel(p.app ? { app: p.app } : {}),
        policyTypes: p.types,
        ingress: p.ingress,
        egress: p.egress,
      }),
  );

function podsOf(specs: Array<{ ns: string; app: string; port: number }>): Service[] {
  return specs.map((s) =>
    pod(s.app, {
      ns: s.ns,
      labels: { app: s.app },
      listens: [{ from: s.port, to: s.port, protocol: "tcp", name: "http" }],
    }),
  );
}

test("property: NetworkPolicies only remove connections from the default-allow cluster", () => {
  fc.assert(
    fc.property(arbPods, fc.array(arbPolicy, { maxLength: 4 }), (specs, policies) => {
      const pods = podsOf(specs);
      const open = new Set(computeReachability(k8s(pods)).edges.map((e) => `${e.from}>${e.to}`));
      const r = computeReachability(k8s(pods, policies));
      for (const e of r.edges) {
        assert.ok(open.has(`${e.from}>${e.to}`));
        assert.ok(e.ports === "all" || e.ports.length > 0);
        // Every edge carries a reason for each side.
        assert.ok(e.reasons.some((x) => "side" in x && x.side === "egress"));
        assert.ok(e.reasons.some((x) => "side" in x && x.side === "ingress"));
      }
      const unrestricted = r.egress.filter((x) => x.internet).length;
      assert.ok(unrestricted <= pods.length);
    }),
    { numRuns: 200 },
  );
});

test("property: allow-all policies in every namespace keep every connection on every port", () => {
  fc.assert(
    fc.property(arbPods, (specs) => {
      const pods = podsOf(specs);
      const allowAll = NS.map((ns) =>
        policy(`allow-${ns}`, { namespace: ns, policyTypes: ["Ingress", "Egress"], ingress: [{}], egress: [{}] }),
      );
      const base = computeReachability(k8s(pods));
      const r = computeReachability(k8s(pods, allowAll));
      assert.deepEqual(
        r.edges.map((e) => [e.from, e.to, e.ports]),
        base.edges.map((e) => [e.from, e.to, e.ports]),
      );
      assert.ok(r.egress.every((e) => e.internet));
    }),
    { numRuns: 100 },
  );
});
