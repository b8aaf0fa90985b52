import assert from "node:assert/strict";
import { test } from "node:test";
import { parseDuration, parseTimeSpec, recordMatcher } from "./query.ts";
import type { AuditRecord } from "./types.ts";

const now = new Date("2026-11-25T08:00:00.000Z");
const rec = (time: string, kind: string, identity: string) =>
  ({ seq: 1, time, kind, actor: { identity }, data: {}, prev: "", hash: "" }) as AuditRecord;

test("durations and time specs", () => {
  assert.equal(parseDuration("30s"), 30_000);
  assert.equal(parseDuration("250ms"), 250);
  assert.equal(parseDuration("1.5h"), 5_400_000);
  assert.equal(parseDuration("soon"), undefined);
  assert.equal(parseTimeSpec("1h", now).toISOString(), "2026-11-25T07:00:00.000Z");
  assert.equal(parseTimeSpec("2026-11-24T10:00:00Z", now).toISOString(), "2026-11-24T10:00:00.000Z");
  assert.throws(
    () => parseTimeSpec("yesterday", now, "since"),
    /--since 'yesterday' is neither an ISO time nor a duration/,
  );
  assert.throws(() => parseTimeSpec("1", now), /neither/);
});

test("filters by time window, kind and identity pattern", () => {
  const m = recordMatcher({
    since: parseTimeSpec("1h", now),
    until: now,
    kinds: ["gate.decision", "gate.alert"],
    identity: "agents/*",
  });
  assert.ok(m(rec("2026-11-25T07:30:00.000Z", "gate.decision", "agents/celery")));
  assert.ok(!m(rec("2026-11-25T06:30:00.000Z", "gate.decision", "agents/celery")));
  assert.ok(!m(rec("2026-11-25T08:00:00.000Z", "gate.decision", "agents/celery")), "until is exclusive");
  assert.ok(!m(rec("2026-11-25T07:30:00.000Z", "login", "agents/celery")));
  assert.ok(!m(rec("2026-11-25T07:30:00.000Z", "gate.alert", "plugin-runs")));
  assert.ok(recordMatcher({ identity: "a.b" })(rec("t", "login", "a.b")));
  assert.ok(!recordMatcher({ identity: "a.b" })(rec("t", "login", "axb")));
});
