import assert from "node:assert/strict";
import { join } from "node:path";
import { test } from "node:test";
import { parseAllDocuments } from "yaml";
import { readDeployment } from "../model/load.ts";
import { loadPolicy } from "../policy/index.ts";
import { PROJECT_ROOT, schemaPath, sharedSkip } from "../testing/shared.ts";
import { compileCilium } from "./cilium.ts";
import { compileKubernetes } from "./kubernetes.ts";
import { dig, validator } from "./testkit.ts";

const skip = sharedSkip();

async function superagi() {
  const { policy } = await loadPolicy(join(PROJECT_ROOT, "examples/superagi/corral.yaml"));
  const d = readDeployment([join(PROJECT_ROOT, "examples/superagi/docker-compose.yml")], { env: {} });
  return { policy, d };
}

const docs = (text: string) => parseAllDocuments(text).map((doc) => doc.toJS() as Record<string, unknown>);
const name = (o: unknown) => String(dig(o, "metadata", "name"));

test("NetworkPolicies: default deny, DNS, one allow per flow; each validates", { skip }, async () => {
  const { policy, d } = await superagi();
  const list = docs(compileKubernetes(policy, d)["networkpolicies.yaml"] ?? "");
  const validate = validator(schemaPath("k8s-networkpolicy-networking-v1.json"));
  for (const np of list) assert.deepEqual(validate(np), [], name(np));
  assert.notDeepEqual(validate({ ...list[0], spec: { podSelector: "all" } }), [], "the validator does reject");
  const byName = (n: string) => list.find((p) => name(p) === n);
  assert.deepEqual(dig(byName("corral-default-deny"), "spec"), { podSelector: {}, policyTypes: ["Ingress", "Egress"] });
  assert.deepEqual(dig(byName("corral-allow-dns"), "spec", "egress", 0, "to", 0, "podSelector", "matchLabels"), {
    "k8s-app": "kube-dns",
  });
  const toData = byName("corral-flow-2-to-data");
  assert.deepEqual(dig(toData, "spec", "podSelector", "matchLabels"), { "corral.dev/zone": "data" });
  assert.deepEqual(
    (dig(toData, "spec", "ingress", 0, "ports") as Array<{ port: number }>).map((p) => p.port),
    [5432, 6379],
  );
  assert.ok(byName("corral-gate"));
});

test("CiliumNetworkPolicy: toFQDNs with Cilium's wildcards and the DNS proxy rule; validates against the CRD", {
  skip,
}, async () => {
  const { policy, d } = await superagi();
  const list = docs(compileCilium(policy, d)["cilium-egress.yaml"] ?? "");
  const validate = validator(schemaPath("cilium-ciliumnetworkpolicies-crd.yaml"));
  for (const cnp of list) assert.deepEqual(validate(cnp), [], name(cnp));
  assert.notDeepEqual(validate({ ...list[0], spec: { endpointSelector: "all" } }), [], "the validator does reject");
  const forZone = (z: string) =>
    list.find((p) => dig(p, "spec", "endpointSelector", "matchLabels", "corral.dev/zone") === z);
  const agents = forZone("agents");
  assert.ok(agents);
  assert.deepEqual(dig(agents, "spec", "egress", 0, "toPorts", 0, "rules", "dns"), [{ matchPattern: "*" }]);
  const fqdns = (dig(agents, "spec", "egress") as unknown[]).flatMap(
    (e) => (dig(e, "toFQDNs") as unknown[] | undefined) ?? [],
  );
  assert.deepEqual(fqdns, [{ matchName: "api.openai.com" }, { matchPattern: "*.googleapis.com" }]);
  assert.equal(dig(agents, "spec", "enableDefaultDeny"), undefined, "enforce mode keeps Cilium's default deny");
  assert.deepEqual(dig(forZone("api"), "spec", "enableDefaultDeny"), { egress: false });
});
