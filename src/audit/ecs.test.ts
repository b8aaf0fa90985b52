import assert from "node:assert/strict";
import { test } from "node:test";
import { toEcs } from "./ecs.ts";
import { buildRecord } from "./record.ts";
import { GENESIS_HASH } from "./types.ts";

test("a gate denial maps to ECS network fields with corral.* and the hash", () => {
  const { record } = buildRecord(
    12,
    "2026-11-25T08:00:00.000Z",
    "gate.decision",
    { identity: "agents/celery", ip: "172.18.0.5" },
    { decision: "deny", host: "evil.example", port: 443, rule: "default-deny" },
    GENESIS_HASH,
  );
  assert.deepEqual(toEcs(record), {
    "@timestamp": "2026-11-25T08:00:00.000Z",
    event: {
      kind: "event",
      category: ["network"],
      action: "gate.decision",
      outcome: "failure",
      sequence: 12,
      dataset: "corral.audit",
      reason: "default-deny",
    },
    hash: { sha256: record.hash },
    corral: { seq: 12, kind: "gate.decision", prev: GENESIS_HASH, identity: "agents/celery", data: record.data },
    source: { ip: "172.18.0.5" },
    destination: { address: "evil.example", domain: "evil.example", port: 443 },
  });
});

test("alerts, aggregates, runs and logins get their ECS kind, outcome and user", () => {
  const at = "2026-11-25T08:00:00.000Z";
  const alert = toEcs(
    buildRecord(1, at, "gate.alert", "celery", { alert: "beacon", destination: "10.0.0.9:8080" }, GENESIS_HASH).record,
  );
  assert.equal((alert.event as { kind: string }).kind, "alert");
  assert.deepEqual(alert.destination, { address: "10.0.0.9", ip: "10.0.0.9", port: 8080 });
  const agg = toEcs(
    buildRecord(2, at, "gate.aggregate", "celery", { decision: "allow", count: 9 }, GENESIS_HASH).record,
  );
  assert.deepEqual(
    [(agg.event as { kind: string }).kind, (agg.event as { outcome: string }).outcome],
    ["metric", "success"],
  );
  const run = toEcs(buildRecord(3, at, "sandbox.run", "plugin-runs", { exit_code: 3 }, GENESIS_HASH).record);
  assert.equal((run.event as { outcome: string }).outcome, "failure");
  const login = toEcs(buildRecord(4, at, "login", { identity: "alice", ip: "::1" }, { ok: true }, GENESIS_HASH).record);
  assert.deepEqual([login.user, login.source], [{ name: "alice" }, { ip: "::1" }]);
});
