import assert from "node:assert/strict";
import { test } from "node:test";
import { EventHub } from "./event-hub.ts";
import { parseGateEvent } from "./events.ts";

const NOW = new Date("2026-01-01T00:00:00Z");

test("decision and alert events parse from the SSE event name or a type member", () => {
  const d = parseGateEvent(
    "decision",
    JSON.stringify({
      identity: "agents/celery",
      destination: "evil.example:443",
      verdict: "deny",
      rule: { id: "default", name: "default-deny" },
    }),
    NOW,
  );
  assert.deepEqual(d, {
    type: "decision",
    time: NOW.toISOString(),
    identity: "agents/celery",
    destination: "evil.example:443",
    verdict: "deny",
    rule: "default-deny",
  });
  const a = parseGateEvent(
    undefined,
    JSON.stringify({ type: "alert", kind: "deny_burst", message: "20 denials in 60s", time: "2026-01-01T00:00:01Z" }),
    NOW,
  );
  assert.deepEqual(a, {
    type: "alert",
    kind: "deny_burst",
    message: "20 denials in 60s",
    time: "2026-01-01T00:00:01Z",
  });
});

test("malformed events are dropped, not half-shown", () => {
  assert.equal(parseGateEvent("decision", "{", NOW), undefined);
  assert.equal(
    parseGateEvent("decision", JSON.stringify({ identity: "x", verdict: "maybe", destination: "d" }), NOW),
    undefined,
  );
  assert.equal(
    parseGateEvent("decision", JSON.stringify({ identity: "x".repeat(300), verdict: "deny", destination: "d" }), NOW),
    undefined,
  );
  assert.equal(parseGateEvent("other", JSON.stringify({}), NOW), undefined);
});

test("the hub numbers events, fans them out and keeps a bounded backlog", () => {
  const hub = new EventHub({ maxDecisions: 2, maxAlerts: 1 });
  const seen: number[] = [];
  const off = hub.subscribe((e) => seen.push(e.id));
  const base = { type: "decision" as const, time: "t", identity: "i", destination: "d", verdict: "allow" as const };
  hub.publish(base);
  hub.publish({ type: "alert", time: "t", kind: "k", message: "m" });
  hub.publish(base);
  hub.publish(base);
  off();
  hub.publish(base);
  assert.deepEqual(seen, [1, 2, 3, 4]);
  assert.deepEqual(
    hub.recent().map((e) => e.id),
    [2, 4, 5],
  );
  assert.deepEqual(
    hub.recentAlerts().map((e) => e.id),
    [2],
  );
});

test("the gate's ECS-named events become dashboard events", () => {
  const d = parseGateEvent(
    "decision",
    JSON.stringify({
      "@timestamp": "2026-01-01T00:00:02.000Z",
      "event.action": "gate-connect",
      "rule.id": "default",
      "rule.name": "default-deny",
      "corral.identity": "agents/celery",
      "corral.verdict": "deny",
      "corral.reason": "no rule allows it",
      "corral.mode": "enforce",
      "destination.ip": "127.0.0.1",
      "destination.port": 8443,
      "corral.approval_id": "abc123",
    }),
    NOW,
  );
  assert.deepEqual(d, {
    type: "decision",
    time: "2026-01-01T00:00:02.000Z",
    identity: "agents/celery",
    destination: "127.0.0.1:8443",
    verdict: "deny",
    mode: "enforce",
    reason: "no rule allows it",
    rule: "default-deny",
    approvable: true,
    approvalId: "abc123",
    transport: "connect",
  });
  const unknown = parseGateEvent(
    "decision",
    JSON.stringify({ "corral.identity": null, "corral.verdict": "allow", "destination.domain": "pypi.org" }),
    NOW,
  );
  assert.equal(unknown?.type === "decision" && unknown.identity, "(unknown)");
  assert.equal(unknown?.type === "decision" && unknown.destination, "pypi.org");
  const a = parseGateEvent(
    "alert",
    JSON.stringify({ "@timestamp": "t", message: "burst", "event.action": "deny_burst", "corral.identity": "x" }),
    NOW,
  );
  assert.deepEqual(a, { type: "alert", time: "t", kind: "deny_burst", message: "burst", identity: "x" });
});
