import assert from "node:assert/strict";
import { test } from "node:test";
import { type Lookup, ServiceDiscovery } from "./discovery.ts";

function fakeDns(table: Record<string, string[] | Error>) {
  const asked: string[] = [];
  const lookup: Lookup = async (name) => {
    asked.push(name);
    const v = table[name];
    if (v instanceof Error) throw v;
    return v ?? [];
  };
  return { lookup, asked, table };
}

test("discovery: every replica's address maps to its service; change is reported once", async () => {
  const dns = fakeDns({ celery: ["10.0.0.131", "10.0.0.130"], web: ["10.0.1.128"] });
  const seen: unknown[] = [];
  const d = new ServiceDiscovery(["celery", "web"], (m) => seen.push(m), { lookup: dns.lookup });
  await d.refresh();
  assert.deepEqual(d.current(), { celery: ["10.0.0.130", "10.0.0.131"], web: ["10.0.1.128"] });
  await d.refresh();
  assert.equal(seen.length, 1, "an unchanged answer is not a change");
  dns.table.celery = ["10.0.0.130"];
  await d.refresh();
  assert.equal(seen.length, 2);
  assert.deepEqual(d.current().celery, ["10.0.0.130"]);
});

test("discovery: a failing resolver keeps what was known; a name with no replica forgets it", async () => {
  const dns = fakeDns({ celery: ["10.0.0.130"] });
  const d = new ServiceDiscovery(["celery"], () => undefined, { lookup: dns.lookup });
  await d.refresh();
  dns.table.celery = new Error("EAI_AGAIN");
  await d.refresh();
  assert.deepEqual(d.current().celery, ["10.0.0.130"]);
  dns.table.celery = [];
  await d.refresh();
  assert.deepEqual(d.current().celery, []);
});

test("discovery: unknown sources trigger at most one refresh per gap, joined while in flight", async () => {
  let now = 1000;
  const dns = fakeDns({ celery: ["10.0.0.130"] });
  const d = new ServiceDiscovery(["celery"], () => undefined, { lookup: dns.lookup, now: () => now, minGapMs: 250 });
  const first = d.unknown();
  assert.ok(first);
  assert.equal(d.unknown(), first, "a second stranger joins the refresh under way");
  await first;
  assert.equal(d.unknown(), undefined, "no new refresh inside the gap");
  now += 250;
  assert.ok(d.unknown());
  assert.equal(dns.asked.length, 2);
});
