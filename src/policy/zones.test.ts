import assert from "node:assert/strict";
import { test } from "node:test";
import { parsePolicy } from "./load.ts";
import { resolveFlows, zoneOf } from "./zones.ts";

const POLICY = parsePolicy(
  `version: 1
zones:
  web: { services: [proxy] }
  agents: { services: ["agent-*"], isolate: per-service }
  data: { labels: { tier: data } }
  tools: { services: [a, b] }
flows:
  - { from: proxy, to: agent-1, ports: [8000/tcp] }
  - { from: agents, to: data, ports: [5432/tcp] }
`,
  "p.yaml",
).policy;

const SERVICES = [
  { name: "proxy" },
  { name: "agent-1" },
  { name: "agent-2" },
  { name: "db", labels: { tier: "data" } },
  { name: "a" },
  { name: "b" },
];

test("zoneOf: literal, glob, labels", () => {
  assert.equal(zoneOf(POLICY, "proxy"), "web");
  assert.equal(zoneOf(POLICY, "agent-7"), "agents");
  assert.equal(zoneOf(POLICY, "db", { tier: "data" }), "data");
  assert.equal(zoneOf(POLICY, "stranger"), undefined);
});

test("resolveFlows expands zones; per-service zones get no implicit flows; shared zones do", () => {
  const flows = resolveFlows(POLICY, SERVICES);
  const pairs = flows.map((f) => `${f.from}>${f.to}:${f.ports.map((p) => p.from).join(",")}`).sort();
  assert.deepEqual(pairs, ["a>b:1,1", "agent-1>db:5432", "agent-2>db:5432", "b>a:1,1", "proxy>agent-1:8000"]);
  assert.ok(
    !flows.some((f) => f.from === "agent-1" && f.to === "agent-2"),
    "per-service: agents may not talk to each other",
  );
});
