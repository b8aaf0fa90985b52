import assert from "node:assert/strict";
import { test } from "node:test";
import { computeReachability } from "../model/reachability.ts";
import { compose, composeService } from "../model/testkit.ts";
import type { ReachEdge } from "../model/types.ts";
import { GATE_FLOW } from "./allowed.ts";
import { underHostRules } from "./host-reach.ts";

// a and b share a Corral zone network; b also keeps a network of its own (no Corral bridge);
// the gate sits on the zone and on its egress network.
const d = compose(
  [
    composeService("a", { networks: ["zone"] }),
    composeService("b", { networks: ["zone", "plain"] }),
    composeService("c", { networks: ["plain"] }),
    composeService("corral-gate", { networks: ["zone", "egress"] }),
  ],
  [{ name: "zone", bridgeName: "crl-zone" }, { name: "plain" }, { name: "egress", bridgeName: "crl-_egress" }],
);
const rules = {
  file: "out/corral.nft",
  allowed: [
    { from: "a", to: "b", ports: [{ from: 5432, to: 5432, protocol: "tcp" as const }], flowIndex: 0, rule: "flows[0]" },
    {
      from: "a",
      to: "corral-gate",
      ports: [{ from: 3128, to: 3128, protocol: "tcp" as const }],
      flowIndex: GATE_FLOW,
      rule: "gate",
    },
  ],
  egressBridge: "crl-_egress",
};
const reach = underHostRules(computeReachability(d), d, rules);
const edge = (from: string, to: string): ReachEdge | undefined =>
  reach.edges.find((e) => e.from === from && e.to === to);

test("on a Corral network an edge keeps only the allowed ports, and says which rule keeps it", () => {
  assert.deepEqual(edge("a", "b")?.ports, [{ from: 5432, to: 5432, protocol: "tcp" }]);
  assert.deepEqual(edge("a", "b")?.reasons.at(-1), { kind: "host-rules", file: "out/corral.nft", rules: ["flows[0]"] });
  assert.deepEqual(edge("a", "corral-gate")?.ports, [{ from: 3128, to: 3128, protocol: "tcp" }]);
  for (const [from, to] of [
    ["b", "a"],
    ["corral-gate", "a"],
    ["corral-gate", "b"],
  ] as const)
    assert.equal(edge(from, to), undefined, `${from} → ${to} is not allowed`);
});

test("a network the rules do not govern keeps its reachability", () => {
  assert.equal(edge("b", "c")?.ports, "all");
  assert.equal(edge("c", "b")?.ports, "all");
});

test("only the gate and services off Corral's networks keep direct internet egress", () => {
  const egress = new Map(reach.egress.map((g) => [g.service, g]));
  assert.equal(egress.get("a")?.internet, false);
  assert.match(egress.get("a")?.reason ?? "", /out\/corral\.nft: .*only through the gate/);
  assert.equal(egress.get("corral-gate")?.internet, true);
  assert.equal(egress.get("b")?.internet, true, "its own network still routes out");
  assert.equal(egress.get("c")?.internet, true);
});
