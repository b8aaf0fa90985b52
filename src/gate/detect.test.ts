import assert from "node:assert/strict";
import { test } from "node:test";
import { Detector } from "./detect.ts";

const cfg = { windowMs: 60_000, denyBurst: 5, fanout: 4, nxdomainRatio: 0.5, nxdomainMin: 4 };

test("denial burst fires once per window", () => {
  const d = new Detector(cfg);
  const kinds: string[] = [];
  for (let i = 0; i < 12; i++)
    kinds.push(...d.observe({ time: i * 1000, identity: "a", verdict: "deny" }).map((x) => x.kind));
  assert.deepEqual(kinds, ["deny_burst"]);
  const later = d.observe({ time: 200_000, identity: "a", verdict: "deny" });
  assert.equal(later.length, 0, "old denials slid out of the window");
});

test("fan-out to distinct destinations and to distinct ports", () => {
  const d = new Detector(cfg);
  const kinds = new Set<string>();
  for (let i = 0; i < 5; i++)
    for (const a of d.observe({ time: i, identity: "a", verdict: "deny", destination: `h${i}.example`, port: 443 }))
      kinds.add(a.kind);
  assert.ok(kinds.has("fanout"));
  const p = new Detector(cfg);
  const pk = new Set<string>();
  for (let i = 0; i < 5; i++)
    for (const a of p.observe({ time: i, identity: "b", verdict: "deny", destination: "one.example", port: 1000 + i }))
      pk.add(a.kind);
  assert.ok(pk.has("port_fanout"));
  assert.ok(!pk.has("fanout"));
});

test("NXDOMAIN ratio needs enough answers", () => {
  const d = new Detector(cfg);
  const kinds: string[] = [];
  for (let i = 0; i < 3; i++)
    kinds.push(...d.observe({ time: i, identity: "a", verdict: "allow", dns: { nxdomain: true } }).map((x) => x.kind));
  assert.equal(kinds.length, 0);
  kinds.push(...d.observe({ time: 4, identity: "a", verdict: "allow", dns: { nxdomain: true } }).map((x) => x.kind));
  assert.deepEqual(kinds, ["nxdomain_ratio"]);
});

test("first-seen destinations, per identity", () => {
  const d = new Detector(cfg);
  assert.equal(
    d.observe({ time: 1, identity: "a", verdict: "allow", destination: "x.example" })[0]?.kind,
    "first_seen",
  );
  assert.equal(d.observe({ time: 2, identity: "a", verdict: "allow", destination: "x.example" }).length, 0);
  assert.equal(
    d.observe({ time: 3, identity: "b", verdict: "allow", destination: "x.example" })[0]?.kind,
    "first_seen",
  );
});

test("identities are independent", () => {
  const d = new Detector(cfg);
  for (let i = 0; i < 4; i++) d.observe({ time: i, identity: "a", verdict: "deny" });
  assert.equal(d.observe({ time: 5, identity: "b", verdict: "deny" }).length, 0);
});
