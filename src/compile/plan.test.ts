import assert from "node:assert/strict";
import { test } from "node:test";
import { parse } from "yaml";
import { parsePolicy } from "../policy/index.ts";
import { renderNftables } from "./nftables.ts";
import { bridgeName, buildPlan, GATE } from "./plan.ts";
import { deployment, dig, svc } from "./testkit.ts";
import { traefikConfig } from "./traefik.ts";

const POLICY = `version: 1
zones:
  web: { services: [proxy] }
  agents: { services: [a1, a2], isolate: per-service }
  data: { services: [db, cache] }
flows:
  - { from: proxy, to: a1, ports: [8080/tcp] }
  - { from: agents, to: data, ports: [5432/tcp, 7000-7010/tcp] }
publish:
  - { service: proxy, port: 80/tcp, host: 127.0.0.1:8080 }
egress:
  - { from: agents, allow: [api.openai.com:443] }
`;

test("plan: zone networks, joins only where flows need them, deterministic addresses", () => {
  const { policy } = parsePolicy(POLICY, "p.yaml");
  const d = deployment([svc("proxy"), svc("a1"), svc("a2"), svc("db"), svc("cache")]);
  const plan = buildPlan(policy, d);
  assert.deepEqual(buildPlan(policy, d), plan, "same input, same plan");
  const nets = (s: string) =>
    plan.attachments
      .filter((a) => a.service === s)
      .map((a) => a.network)
      .sort();
  assert.deepEqual(nets("proxy"), ["agents", "web"]);
  assert.deepEqual(nets("a1"), ["agents", "data"]);
  assert.deepEqual(nets("db"), ["data"]);
  assert.deepEqual(nets(GATE), ["_egress", "agents"]);
  for (const n of plan.networks) assert.match(n.subnet, /^10\.231\.\d+\.0\/24$/);
  assert.equal(new Set(plan.networks.map((n) => n.subnet)).size, plan.networks.length, "no subnet twice");
  assert.equal(plan.networks.find((n) => n.key === "web")?.internal, false, "published zone keeps a route out");
  assert.equal(plan.networks.find((n) => n.key === "data")?.internal, true);
});

test("nftables: one inet table, zone-to-zone flows compressed into address ranges", () => {
  const { policy } = parsePolicy(POLICY, "p.yaml");
  const text = renderNftables(
    buildPlan(policy, deployment([svc("proxy"), svc("a1"), svc("a2"), svc("db"), svc("cache")])),
  );
  assert.match(text, /^table inet corral \{\}\ndelete table inet corral\ntable inet corral \{/m);
  assert.doesNotMatch(text, /table (ip|ip6|bridge|arp|netdev) /, "never another table");
  assert.match(text, /priority filter - 1;/);
  // agents → data: both agents are contiguous joiners of the data network, both data members contiguous.
  assert.match(text, /10\.231\.\d+\.5-10\.231\.\d+\.6 \. 10\.231\.\d+\.3-10\.231\.\d+\.4 \. tcp \. 7000-7010/);
  assert.match(text, /log prefix "corral-drop " group 1 drop/);
  assert.doesNotMatch(text, /zone_any \{[^}]*agents/);
});

test("bridge names fit in 15 characters", () => {
  assert.equal(bridgeName("data"), "crl-data");
  assert.ok(bridgeName("a-very-long-zone-name").length <= 15);
  assert.notEqual(bridgeName("a-very-long-zone-name"), bridgeName("a-very-long-zone-other"));
});

test("traefik: HSTS, rate limit, allow-list and TLS 1.2 floor for published routes", () => {
  const { policy } = parsePolicy(POLICY, "p.yaml");
  const cfg = parse(JSON.stringify(traefikConfig(policy, deployment([svc("proxy")])))) as unknown;
  assert.equal(dig(cfg, "tls", "options", "corral", "minVersion"), "VersionTLS12");
  assert.equal(dig(cfg, "http", "middlewares", "corral-headers", "headers", "stsSeconds"), 31536000);
  const middlewares = dig(Object.values(dig(cfg, "http", "routers") as object)[0], "middlewares") as string[];
  assert.deepEqual(middlewares.slice(1), ["corral-ratelimit", "corral-headers"]);
  assert.deepEqual(dig(cfg, "http", "middlewares", middlewares[0] ?? "", "ipAllowList", "sourceRange"), [
    "127.0.0.1/32",
    "::1/128",
  ]);
});

test("scaling: members come from the dynamic half, live replicas each get the service's rules", () => {
  const selfFlow = POLICY.replace("flows:\n", "flows:\n  - { from: a2, to: a2, ports: [9000/tcp] }\n");
  const { policy } = parsePolicy(selfFlow, "p.yaml");
  const plan = buildPlan(policy, deployment([svc("proxy"), svc("a1"), svc("a2"), svc("db"), svc("cache")]));
  const agents = plan.networks.find((n) => n.key === "agents");
  assert.ok(agents);
  assert.equal(agents.dynamicRange, agents.subnet.replace(/\.0\/24$/, ".128/25"), "the engine's ip_range: upper half");
  const self = plan.groups.find((g) => g.sources.length === 1 && g.sources[0] === "a2" && g.targets[0] === "a2");
  assert.ok(self, "a flow from a service to itself is kept: its replicas talk across the bridge");
  // Two live replicas of a1 and of a2, as the engine assigned them.
  const base = agents.subnet.replace(/\.0\/24$/, "");
  const live = [
    ...plan.attachments.filter((a) => a.network !== "agents" || !["a1", "a2"].includes(a.service)),
    { service: "a1", network: "agents", address: `${base}.130`, home: true },
    { service: "a1", network: "agents", address: `${base}.131`, home: true },
    { service: "a2", network: "agents", address: `${base}.140`, home: true },
    { service: "a2", network: "agents", address: `${base}.141`, home: true },
  ];
  const text = renderNftables(plan, {}, live);
  assert.match(text, new RegExp(`${base}\\.140-${base}\\.141 \\. ${base}\\.140-${base}\\.141 \\. tcp \\. 9000`));
  assert.doesNotMatch(text, new RegExp(`${base}\\.130-${base}\\.131 \\. ${base}\\.130`), "a1's replicas stay apart");
  const proxyToA1 = new RegExp(`\\. ${base}\\.130-${base}\\.131 \\. tcp \\. 8080`);
  assert.match(text, proxyToA1, "a declared flow reaches every replica");
});
