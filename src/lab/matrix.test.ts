import assert from "node:assert/strict";
import { test } from "node:test";
import { buildPlan, GATE } from "../compile/plan.ts";
import { deployment, svc } from "../compile/testkit.ts";
import { parsePolicy } from "../policy/index.ts";
import { buildCells, listenPorts, probesFor, renderMatrix, summarize } from "./matrix.ts";
import { compiledTopology, LAB_POOL, OUTSIDE, shippedTopology } from "./topology.ts";

const { policy } = parsePolicy(
  `version: 1
zones:
  agents: { services: [a1, a2], isolate: per-service }
  data: { services: [db] }
flows:
  - { from: agents, to: data, ports: [5432/tcp] }
egress:
  - { from: agents, allow: [api.openai.com:443] }
`,
  "p.yaml",
);
const d = deployment([svc("a1", [8080]), svc("a2", [8080]), svc("db", [5432])]);

test("compiled topology: lab addresses only, the gate leaves through its egress network", () => {
  const plan = buildPlan(policy, d, { pool: LAB_POOL, forcePool: true });
  const t = compiledTopology(plan);
  for (const n of t.nodes) for (const i of n.interfaces) assert.match(i.address, /^10\.203\.([0-9]|1[0-5])\.\d+$/);
  const gate = t.nodes.find((n) => n.name === GATE);
  assert.equal(gate?.defaultVia, t.bridges.find((b) => b.name === "crl-_egress")?.gateway);
  assert.equal(t.nodes.find((n) => n.name === "a1")?.defaultVia, undefined, "agents are on internal networks only");
});

test("cells: declared flows and the gate expected open, everything else closed", () => {
  const plan = buildPlan(policy, d, { pool: LAB_POOL, forcePool: true });
  const t = compiledTopology(plan);
  const cells = buildCells(policy, d, t, plan.gate);
  const find = (from: string, to: string, port: number, protocol = "tcp") =>
    cells.find((c) => c.from === from && c.to === to && c.port === port && c.protocol === protocol);
  assert.equal(find("a1", "db", 5432)?.expected, true);
  assert.equal(find("a1", "db", 5432)?.rule, "flows[0]");
  assert.equal(find("a1", "db", 5432, "udp")?.expected, false);
  assert.equal(find("a1", "a2", 8080)?.expected, false, "per-service isolation");
  assert.equal(find("a1", GATE, 3128)?.expected, true);
  assert.equal(find("db", GATE, 3128)?.expected, false);
  assert.equal(find("a1", OUTSIDE, 443)?.expected, false);
  assert.equal(find(GATE, OUTSIDE, 443)?.expected, true);
  const { probes } = probesFor(cells, t);
  assert.ok(probes.length >= cells.length, "one probe per destination address");
  assert.ok(listenPorts(cells).some((p) => p.port === 5432 && p.protocol === "udp"));
  for (const c of cells) c.observed = c.expected;
  assert.equal(summarize(cells).mismatches, 0);
  assert.match(renderMatrix(cells, { color: false, title: "t" }), /every cell as the policy says/);
});

test("shipped topology: one bridge per compose network, a route out for everyone", () => {
  const t = shippedTopology(d);
  assert.equal(t.bridges.length, 1);
  assert.ok(t.nodes.every((n) => n.defaultVia === "10.203.0.1"));
});
