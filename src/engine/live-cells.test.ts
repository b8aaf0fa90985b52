// The live matrix from plain values: per replica, self-flows between replicas, the host, the ways
// out and published ports, each with the policy's expectation and the probe that checks it.
import assert from "node:assert/strict";
import { test } from "node:test";
import { buildPlan, GATE } from "../compile/plan.ts";
import { deployment, svc } from "../compile/testkit.ts";
import { renderJunit, renderTap } from "../lab/formats.ts";
import { parsePolicy } from "../policy/index.ts";
import { DENIED_NAME, type LiveReplica, liveCells } from "./live-cells.ts";

const POLICY = `version: 1
zones:
  agents: { services: [agent, worker], isolate: per-service }
  data: { services: [db] }
flows:
  - { from: agent, to: db, ports: [5432/tcp] }
  - { from: worker, to: worker, ports: [7000/tcp] }
  - { from: agent, to: host, ports: [11434/tcp] }
egress:
  - { from: agent, allow: [api.example.com:443] }
`;

function setup(text = POLICY) {
  const { policy } = parsePolicy(text, "corral.yaml");
  const web = svc("db", [5432]);
  web.ports = [
    {
      target: { from: 5432, to: 5432 },
      protocol: "tcp",
      hostIp: "0.0.0.0",
      hostIpDefaulted: true,
      hostPort: { from: 5432, to: 5432 },
      pos: web.pos,
    } as (typeof web.ports)[number],
  ];
  const d = deployment([svc("agent"), svc("worker", [7000]), web]);
  const plan = buildPlan(policy, d);
  const r = (
    service: string,
    name: string,
    address: string,
    network = "agents",
    gateway = "10.1.0.1",
  ): LiveReplica => ({
    service,
    name,
    id: name,
    pid: 1,
    addresses: [{ network, address, gateway }],
  });
  const replicas = [
    r("agent", "agent#1", "10.1.0.130"),
    r("agent", "agent#2", "10.1.0.131"),
    r("worker", "worker#1", "10.1.0.140"),
    r("worker", "worker#2", "10.1.0.141"),
    r("db", "db", "10.2.0.130", "data", "10.2.0.1"),
    r(GATE, GATE, "10.1.0.2"),
  ];
  return liveCells({
    policy,
    deployment: d,
    plan,
    replicas,
    outside: { target: { host: "10.203.48.2", port: 443 }, hostAddress: "10.203.48.1" },
  });
}

const find = (cells: ReturnType<typeof setup>["cells"], from: string, to: string, port: number, protocol = "tcp") =>
  cells.find((c) => c.from === from && c.to === to && c.port === port && c.protocol === protocol);

test("flows per replica; replicas of a per-service zone meet only through a flow to themselves", () => {
  const { cells, probes } = setup();
  assert.equal(find(cells, "agent#1", "db", 5432)?.expected, true);
  assert.equal(find(cells, "agent#2", "db", 5432)?.expected, true);
  assert.equal(find(cells, "agent#1", "db", 7000)?.expected, false);
  assert.equal(find(cells, "agent#1", "agent", 5432)?.expected, false, "agent replicas are apart");
  assert.equal(find(cells, "worker#1", "worker", 7000)?.expected, true, "worker → worker is declared");
  assert.equal(find(cells, "worker#1", "worker", 7000)?.rule, "flows[1]");
  // The other replica's address only, never the source's own.
  const self = cells.indexOf(find(cells, "worker#1", "worker", 7000)!);
  assert.deepEqual(
    probes.filter((p) => p.cell === self).map((p) => p.host),
    ["10.1.0.141"],
  );
  assert.ok(
    probes
      .filter((p) => p.protocol === "tcp" && "replica" in p.at && p.proxy === undefined && !p.host.startsWith("10.203"))
      .every((p) => p.reach !== false),
  );
});

test("the host at each network's gateway; egress direct, metadata, through the gate", () => {
  const { cells, probes } = setup();
  assert.equal(find(cells, "agent#1", "(host)", 11434)?.expected, true);
  assert.equal(find(cells, "worker#1", "(host)", 11434)?.expected, false);
  const hostCell = cells.indexOf(find(cells, "agent#1", "(host)", 11434)!);
  assert.deepEqual(
    probes.filter((p) => p.cell === hostCell).map((p) => p.host),
    ["10.1.0.1"],
  );
  assert.equal(find(cells, "agent#1", "(outside) direct", 443)?.expected, false);
  assert.equal(find(cells, GATE, "(outside) direct", 443)?.expected, true, "the gate's own way out");
  assert.equal(find(cells, "agent#1", "metadata", 80)?.expected, false);
  const allowed = find(cells, "agent#1", "api.example.com:443 via gate", 3128);
  assert.equal(allowed?.expected, true);
  assert.equal(find(cells, "agent#1", `${DENIED_NAME} via gate`, 3128)?.expected, false);
  assert.deepEqual(
    probes.filter((p) => p.cell === cells.indexOf(allowed!)).map((p) => [p.host, p.port, p.proxy]),
    [["10.1.0.2", 3128, "api.example.com:443"]],
  );
  assert.equal(find(cells, "worker#1", "api.example.com:443 via gate", 3128), undefined, "not a gate client");
});

test("published ports: the shipped 0.0.0.0 port the policy does not publish is closed from outside and loopback", () => {
  const { cells } = setup();
  const out = cells.find((c) => c.kind === "published" && c.from === "(outside)" && c.to === "db");
  const lo = cells.find((c) => c.kind === "published" && c.from === "(host) loopback" && c.to === "db");
  assert.equal(out?.expected, false);
  assert.equal(lo?.expected, false);
  assert.deepEqual(out?.via, { host: "10.203.48.1", port: 5432 });
});

test("TAP and JUnit: one test per cell, a failure per mismatch", () => {
  const { cells } = setup();
  const some = cells.slice(0, 3).map((c, i) => ({ ...c, observed: i === 1 ? !c.expected : c.expected }));
  const tap = renderTap(some, ["live"]);
  assert.match(tap, /^TAP version 13\n1\.\.3\n# live\n/);
  assert.equal(tap.match(/^not ok /gm)?.length, 1);
  assert.match(tap, /^ {2}expected: (open|blocked)$/m);
  const junit = renderJunit(some, "live <stack>");
  assert.match(junit, /<testsuite name="live &lt;stack&gt;" tests="3" failures="1">/);
  assert.equal(junit.match(/<failure /g)?.length, 1);
});

test("observe mode: what no rule allows from or to an observed zone is expected open, by rule 'observe'; never the way out", () => {
  const { cells } = setup(POLICY.replace("isolate: per-service }", "isolate: per-service, mode: observe }"));
  assert.equal(find(cells, "agent#1", "db", 7000)?.rule, "observe", "from an observed member");
  assert.equal(find(cells, "db", "agent", 5432)?.rule, "observe", "to an observed member");
  assert.equal(find(cells, "agent#1", "agent", 5432)?.rule, "observe", "between an observed service's replicas");
  assert.equal(find(cells, "agent#1", "db", 5432)?.rule, "flows[0]", "a declared flow keeps its rule");
  assert.equal(find(cells, "agent#1", "(host)", 5432)?.rule, "observe", "from an observed member to the host");
  assert.equal(find(cells, "db", "(host)", 5432)?.expected, false, "an enforced service to the host stays closed");
  assert.equal(
    cells.find((c) => c.from === "agent#1" && c.kind === "egress" && c.to.endsWith("direct"))?.expected,
    false,
    "observing never opens a direct way out",
  );
});
