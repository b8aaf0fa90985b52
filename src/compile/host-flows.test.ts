// Flows to the Docker host (`to: host`): the policy accepts them only as a destination, the plan
// places each source's host at its home network's gateway, the overlay names that address
// host.docker.internal, and the input chain opens exactly (source, that address, port).
import assert from "node:assert/strict";
import { test } from "node:test";
import { parse, parseAllDocuments } from "yaml";
import { composeService } from "../model/testkit.ts";
import { PolicyError, parsePolicy } from "../policy/index.ts";
import { schemaPath, sharedSkip } from "../testing/shared.ts";
import { compileCilium } from "./cilium.ts";
import { renderOverlay } from "./compose-overlay.ts";
import { compileKubernetes } from "./kubernetes.ts";
import { nftElements, renderNftables } from "./nftables.ts";
import { buildPlan, hostAddressFor } from "./plan.ts";
import { deployment, dig, svc, validator } from "./testkit.ts";

const POLICY = `version: 1
zones:
  apps: { services: [rag_api, ui], isolate: per-service }
  data: { services: [db] }
flows:
  - { from: ui, to: rag_api, ports: [8000/tcp] }
  - { from: rag_api, to: [db, host], ports: [11434/tcp] }
egress:
  - { from: apps, allow: [api.openai.com:443] }
`;

function problems(text: string): string {
  try {
    parsePolicy(text, "corral.yaml");
  } catch (e) {
    if (e instanceof PolicyError) return e.message;
    throw e;
  }
  return "";
}

test("policy: host is a flow destination only, and a reserved name", () => {
  assert.equal(problems(POLICY), "");
  const base = "version: 1\nzones: { apps: { services: [a] } }\n";
  assert.match(
    problems(`${base}flows: [ { from: host, to: a, ports: [80/tcp] } ]\n`),
    /can only be a flow's destination/,
  );
  assert.match(problems(`${base}egress: [ { from: host, allow: [example.com] } ]\n`), /not an egress rule's client/);
  assert.match(problems("version: 1\nzones: { host: { services: [a] } }\n"), /'host' is reserved/);
  assert.match(problems("version: 1\nzones: { apps: { services: [host] } }\n"), /cannot be told from the Docker host/);
  assert.match(problems(`${base}identities: { host: { source: [10.0.0.0/8] } }\n`), /reserved for the Docker host/);
});

test("plan: the host is the gateway of the source's home network; others get none", () => {
  const { policy } = parsePolicy(POLICY, "corral.yaml");
  const plan = buildPlan(policy, deployment([svc("rag_api"), svc("ui"), svc("db")]));
  const apps = plan.networks.find((n) => n.key === "apps")!;
  assert.equal(hostAddressFor(plan, "rag_api"), apps.gateway);
  assert.equal(hostAddressFor(plan, "ui"), undefined);
  assert.equal(hostAddressFor(plan, "db"), undefined);
  assert.deepEqual(
    plan.hostFlows.map((h) => [h.network, h.sources, h.flowIndex]),
    [["apps", ["rag_api"], 1]],
  );
  // The same flow still reaches db: `host` beside a service in `to` does not hide the service.
  assert.ok(plan.groups.some((g) => g.flowIndex === 1 && g.targets.includes("db")));
});

test("nftables: one host_flows element per (source address, gateway, port); input accepts only those", () => {
  const { policy } = parsePolicy(POLICY, "corral.yaml");
  const plan = buildPlan(policy, deployment([svc("rag_api"), svc("ui"), svc("db")]));
  const apps = plan.networks.find((n) => n.key === "apps")!;
  const live = [
    { service: "rag_api", network: "apps", address: "10.1.0.130", home: true },
    { service: "rag_api", network: "apps", address: "10.1.0.131", home: true },
    { service: "ui", network: "apps", address: "10.1.0.140", home: true },
  ];
  assert.deepEqual(nftElements(plan, live).hostFlows, [`10.1.0.130-10.1.0.131 . ${apps.gateway} . tcp . 11434`]);
  const text = renderNftables(plan, {}, live);
  const input = text.slice(text.indexOf("chain input"));
  assert.match(input, /ip saddr \. ip daddr \. meta l4proto \. th dport @host_flows accept/);
  assert.ok(input.indexOf("@host_flows") < input.indexOf("counter name dropped log"), "accepted before the final drop");
  const none = buildPlan(
    parsePolicy("version: 1\nzones: { a: { services: [x] } }\n", "p.yaml").policy,
    deployment([svc("x")]),
  );
  assert.deepEqual(nftElements(none).hostFlows, [], "no flow to the host, no element");
});

test("overlay: host.docker.internal for the source only, replacing a shipped host-gateway entry", () => {
  const { policy } = parsePolicy(POLICY, "corral.yaml");
  const rag = composeService("rag_api", {});
  rag.extraHosts = ["host.docker.internal:host-gateway", "metrics.local:10.9.9.9"];
  const ui = composeService("ui", {});
  ui.extraHosts = ["host.docker.internal:host-gateway"];
  const d = deployment([rag, ui, svc("db")]);
  const plan = buildPlan(policy, d);
  const text = renderOverlay(plan, d);
  assert.match(text, /extra_hosts: !override/);
  const o = parse(text, {
    customTags: [
      { tag: "!override", collection: "seq", resolve: (v) => v },
      { tag: "!reset", collection: "seq", resolve: (v) => v },
      { tag: "!override", collection: "map", resolve: (v) => v },
    ],
  });
  const gw = plan.networks.find((n) => n.key === "apps")!.gateway;
  assert.deepEqual(dig(o, "services", "rag_api", "extra_hosts"), [
    "metrics.local:10.9.9.9",
    `host.docker.internal:${gw}`,
  ]);
  assert.equal(
    dig(o, "services", "ui", "extra_hosts"),
    undefined,
    "no flow: the shipped entry stays, and the input chain drops it",
  );
  assert.match(
    String(dig(o, "services", "rag_api", "environment", "NO_PROXY")),
    /host\.docker\.internal/,
    "not sent to the gate",
  );
});

test("Kubernetes: NetworkPolicy leaves host flows out and says so; Cilium allows the host entity", {
  skip: sharedSkip(),
}, () => {
  const { policy } = parsePolicy(POLICY, "corral.yaml");
  const d = deployment([svc("rag_api"), svc("ui"), svc("db")]);
  const np = compileKubernetes(policy, d)["networkpolicies.yaml"] ?? "";
  assert.match(np, /Flows to `host` are not here/);
  const nps = parseAllDocuments(np).map((x) => x.toJS() as Record<string, unknown>);
  const validNp = validator(schemaPath("k8s-networkpolicy-networking-v1.json"));
  for (const o of nps) assert.deepEqual(validNp(o), []);
  assert.ok(!np.includes("corral.dev/service: host"), "no selector for a pod named host");
  assert.ok(
    nps.some((o) => dig(o, "metadata", "name") === "corral-flow-1-to-db"),
    "the flow's other target stays",
  );
  const cnps = parseAllDocuments(compileCilium(policy, d)["cilium-egress.yaml"] ?? "").map(
    (x) => x.toJS() as Record<string, unknown>,
  );
  const validCnp = validator(schemaPath("cilium-ciliumnetworkpolicies-crd.yaml"));
  for (const o of cnps) assert.deepEqual(validCnp(o), [], String(dig(o, "metadata", "name")));
  const host = cnps.find((o) => dig(o, "metadata", "name") === "corral-flow-1-host-rag-api");
  assert.deepEqual(dig(host, "spec", "egress"), [
    { toEntities: ["host"], toPorts: [{ ports: [{ protocol: "TCP", port: "11434" }] }] },
  ]);
  assert.deepEqual(dig(host, "spec", "enableDefaultDeny"), { egress: false }, "adds to what else allows egress");
});
