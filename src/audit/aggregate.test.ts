import assert from "node:assert/strict";
import { test } from "node:test";
import { AggregatingSink } from "./aggregate.ts";
import type { AuditSink } from "./sink.ts";
import type { Actor, JsonObject } from "./types.ts";

function memorySink() {
  const records: { kind: string; actor: Actor | string; data: JsonObject }[] = [];
  let closed = false;
  const sink: AuditSink = {
    record: async (kind, actor, data) => {
      records.push({ kind, actor, data });
      return { seq: records.length, hash: `h${records.length}` };
    },
    close: async () => {
      closed = true;
    },
  };
  return { sink, records, isClosed: () => closed };
}

test("allowed decisions become one record per identity, destination and minute", async () => {
  let t = Date.parse("2026-11-25T08:00:10.000Z");
  const mem = memorySink();
  const agg = new AggregatingSink(mem.sink, { now: () => new Date(t), timer: false });
  const allow = (identity: string, host: string, ip?: string) =>
    agg.record("gate.decision", ip ? { identity, ip } : identity, {
      decision: "allow",
      host,
      port: 443,
      rule: "egress[0]",
    });
  const waits = [
    allow("celery", "api.openai.com", "10.0.0.2"),
    allow("celery", "api.openai.com", "10.0.0.3"),
    allow("backend", "api.openai.com"),
  ];
  // A denial is written at once, individually.
  const deny = await agg.record("gate.decision", "celery", { decision: "deny", host: "evil.example", port: 443 });
  assert.equal(deny.seq, 1);
  assert.equal(mem.records.length, 1);
  t += 5_000;
  waits.push(allow("celery", "api.openai.com"));
  assert.equal(mem.records.length, 1, "nothing flushed inside the minute");
  t = Date.parse("2026-11-25T08:01:00.500Z");
  const next = allow("celery", "api.openai.com");
  await agg.tick();
  const receipts = await Promise.all(waits);
  assert.deepEqual(
    receipts.map((r) => r.seq),
    [2, 2, 3, 2],
  );
  assert.deepEqual(mem.records[1], {
    kind: "gate.aggregate",
    actor: { identity: "celery" },
    data: {
      decision: "allow",
      destination: "api.openai.com:443",
      minute: "2026-11-25T08:00:00.000Z",
      count: 3,
      first: "2026-11-25T08:00:10.000Z",
      last: "2026-11-25T08:00:15.000Z",
      source_ips: ["10.0.0.2", "10.0.0.3"],
      rules: ["egress[0]"],
    },
  });
  assert.equal((mem.records[2]!.data as { count: number }).count, 1);
  await agg.close();
  assert.equal((await next).seq, 4, "close flushes the current minute");
  assert.ok(mem.isClosed());
  await assert.rejects(allow("x", "y"), /closed/);
});
