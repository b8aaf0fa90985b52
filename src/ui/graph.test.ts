import assert from "node:assert/strict";
import { test } from "node:test";
import { parsePolicy } from "../policy/index.ts";
import { layoutGraph, type ReachPair, UNZONED } from "./graph.ts";

const POLICY = parsePolicy(
  `version: 1
zones:
  web: { services: [proxy, gui], isolate: per-service }
  api: { services: [backend] }
  data: { services: [db] }
flows:
  - { from: proxy, to: [gui, backend], ports: [3000/tcp, 8001/tcp] }
  - { from: api, to: data, ports: [5432/tcp] }
`,
  "corral.yaml",
).policy;

const SERVICES = ["proxy", "gui", "backend", "db", "stray"].map((name) => ({ name }));

/** A flat Docker network: everyone reaches everyone on every port. */
function flat(names: string[]): ReachPair[] {
  return names.flatMap((from) => names.filter((to) => to !== from).map((to) => ({ from, to, ports: "all" as const })));
}

test("zones become boxes in policy order, unzoned services last, services inside their zone", () => {
  const g = layoutGraph({ policy: POLICY, services: SERVICES });
  assert.deepEqual(
    g.zones.map((z) => z.name),
    ["web", "api", "data", UNZONED],
  );
  for (const s of g.services) {
    const z = g.zones.find((z) => z.name === s.zone)!;
    assert.ok(
      s.x >= z.x && s.x + s.w <= z.x + z.w && s.y >= z.y && s.y + s.h <= z.y + z.h,
      `${s.name} inside ${z.name}`,
    );
  }
  assert.equal(g.services.find((s) => s.name === "stray")?.zone, UNZONED);
  // No two zone boxes overlap.
  for (const a of g.zones)
    for (const b of g.zones)
      if (a !== b)
        assert.ok(a.x + a.w <= b.x || b.x + b.w <= a.x || a.y + a.h <= b.y || b.y + b.h <= a.y, `${a.name}/${b.name}`);
});

test("declared flows are arrows; undeclared reachability is excess; a declared flow without a path is missing", () => {
  const reach = flat(["proxy", "gui", "backend", "stray"]);
  const g = layoutGraph({ policy: POLICY, services: SERVICES, reach });
  const kind = (from: string, to: string) => g.edges.find((e) => e.from === from && e.to === to)?.kind;
  assert.equal(kind("proxy", "gui"), "declared");
  assert.equal(kind("proxy", "backend"), "declared");
  assert.equal(kind("backend", "db"), "missing");
  assert.equal(kind("gui", "proxy"), "excess");
  assert.equal(kind("stray", "backend"), "excess");
  // 4 services, 12 ordered pairs, 2 declared → 10 excess.
  assert.deepEqual(g.counts, { declared: 2, excess: 10, missing: 1 });
  const pg = g.edges.find((e) => e.from === "proxy" && e.to === "gui")!;
  assert.equal(pg.ports, "3000/tcp, 8001/tcp");
  assert.equal(pg.wider, true, "a flat network reaches every port, more than the two declared");
  assert.match(pg.path, /^M[\d.]+,[\d.]+ Q[\d.]+,[\d.]+ [\d.]+,[\d.]+$/);
  // Excess edges are drawn first so declared arrows stay on top.
  assert.equal(g.edges[0]?.kind, "excess");
  assert.equal(g.edges.at(-1)?.kind, "declared");
});

test("reachability limited to the declared ports is not 'wider'", () => {
  const reach: ReachPair[] = [{ from: "backend", to: "db", ports: [{ from: 5432, to: 5432, protocol: "tcp" }] }];
  const g = layoutGraph({ policy: POLICY, services: SERVICES, reach });
  const e = g.edges.find((e) => e.from === "backend" && e.to === "db")!;
  assert.equal(e.kind, "declared");
  assert.equal(e.wider, false);
});

test("without reachability every declared flow is drawn as declared and nothing as excess", () => {
  const g = layoutGraph({ policy: POLICY, services: SERVICES });
  assert.deepEqual(g.counts, { declared: 3, excess: 0, missing: 0 });
});

test("the layout is deterministic, whatever order the services and edges arrive in", () => {
  const reach = flat(["proxy", "gui", "backend", "db"]);
  const a = layoutGraph({ policy: POLICY, services: SERVICES, reach });
  const b = layoutGraph({ policy: POLICY, services: [...SERVICES].reverse(), reach: [...reach].reverse() });
  assert.deepEqual(a, b);
});

test("a→b and b→a bend to opposite sides", () => {
  const g = layoutGraph({ policy: POLICY, services: SERVICES, reach: flat(["gui", "backend"]) });
  const ab = g.edges.find((e) => e.from === "gui" && e.to === "backend")!;
  const ba = g.edges.find((e) => e.from === "backend" && e.to === "gui")!;
  assert.notDeepEqual(ab.label, ba.label);
});

test("members of a shared zone may talk: their pairs are declared, not excess", () => {
  const policy = parsePolicy("version: 1\nzones:\n  data: { services: [db, cache] }\n", "corral.yaml").policy;
  const g = layoutGraph({ policy, services: [{ name: "db" }, { name: "cache" }], reach: flat(["db", "cache"]) });
  assert.deepEqual(g.counts, { declared: 2, excess: 0, missing: 0 });
});

test("a flow inside a shared zone reads 'any port'; ports are not repeated", () => {
  const policy = parsePolicy(
    "version: 1\nzones:\n  web: { services: [a, b] }\nflows:\n  - { from: a, to: b, ports: [80/tcp] }\n  - { from: a, to: b, ports: [80/tcp] }\n",
    "corral.yaml",
  ).policy;
  const g = layoutGraph({ policy, services: [{ name: "a" }, { name: "b" }] });
  const ab = g.edges.find((e) => e.from === "a" && e.to === "b")!;
  assert.equal(ab.ports, "any port");
  assert.equal(ab.intraZone, true);
  const p2 = parsePolicy(
    "version: 1\nzones:\n  x: { services: [a], isolate: per-service }\n  y: { services: [b] }\nflows:\n  - { from: a, to: b, ports: [80/tcp] }\n  - { from: a, to: b, ports: [80/tcp, 443/tcp] }\n",
    "corral.yaml",
  ).policy;
  const e = layoutGraph({ policy: p2, services: [{ name: "a" }, { name: "b" }] }).edges[0]!;
  assert.equal(e.ports, "80/tcp, 443/tcp");
  assert.equal(e.intraZone, false);
});
