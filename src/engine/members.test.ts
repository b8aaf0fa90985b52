import assert from "node:assert/strict";
import { test } from "node:test";
import { buildPlan } from "../compile/plan.ts";
import { deployment, svc } from "../compile/testkit.ts";
import { parsePolicy } from "../policy/index.ts";
import type { ContainerSummary } from "./docker-api.ts";
import { relevantEvent } from "./enforce.ts";
import { liveMembers } from "./members.ts";

const { policy } = parsePolicy(
  `version: 1
zones:
  agents: { services: [agent], isolate: per-service }
  data: { services: [db] }
flows:
  - { from: agent, to: db, ports: [5432/tcp] }
`,
  "p.yaml",
);
const plan = buildPlan(policy, deployment([svc("agent"), svc("db")]));
const subnet = (key: string) => plan.networks.find((n) => n.key === key)?.subnet.replace(/\.0\/\d+$/, "") ?? "";

const container = (service: string, nets: Record<string, string>, project = "p"): ContainerSummary => ({
  Id: `${service}-${Object.values(nets).join("-")}`,
  Labels: { "com.docker.compose.project": project, "com.docker.compose.service": service },
  NetworkSettings: { Networks: Object.fromEntries(Object.entries(nets).map(([n, ip]) => [n, { IPAddress: ip }])) },
});

test("live members: every replica placed by the subnet its address is in, home as the plan says", () => {
  const a = subnet("agents");
  const d = subnet("data");
  const live = liveMembers(plan, [
    container("agent", { x_corral_agents: `${a}.130`, x_corral_data: `${d}.131` }),
    container("agent", { renamed: `${a}.133`, other: `${d}.140` }),
    container("db", { x_corral_data: `${d}.128` }),
    // Not Compose's: no service label.
    { Id: "stray", Labels: {}, NetworkSettings: { Networks: { x: { IPAddress: `${a}.200` } } } },
    // Connected by hand to a network the plan does not give it.
    container("db", { x_corral_agents: `${a}.150` }),
    // On a network outside Corral's plan (e.g. the default bridge): no rules to name it by.
    container("agent", { bridge: "172.17.0.2" }),
  ]);
  assert.deepEqual(
    live.attachments.map((x) => `${x.service}@${x.network}=${x.address}${x.home ? " home" : ""}`),
    [
      `agent@agents=${a}.130 home`,
      `agent@agents=${a}.133 home`,
      `agent@data=${d}.131`,
      `agent@data=${d}.140`,
      `db@data=${d}.128 home`,
    ],
  );
  assert.deepEqual(live.unknown, ["db"]);
});

test("events: the project's container lifecycle and network (dis)connects reconcile; the rest does not", () => {
  const c = (Action: string, project = "p") => ({
    Type: "container",
    Action,
    Actor: { Attributes: { "com.docker.compose.project": project, "com.docker.compose.service": "agent" } },
  });
  assert.equal(relevantEvent(c("start"), "p"), true);
  assert.equal(relevantEvent(c("die"), "p"), true);
  assert.equal(relevantEvent(c("exec_start: sh"), "p"), false, "an exec changes no address");
  assert.equal(relevantEvent(c("start", "other"), "p"), false, "another project");
  assert.equal(relevantEvent({ Type: "network", Action: "connect" }, "p"), true);
  assert.equal(relevantEvent({ Type: "network", Action: "create" }, "p"), false);
  assert.equal(relevantEvent({}, "p"), true, "an unreadable line costs one reconcile, never a missed one");
});
