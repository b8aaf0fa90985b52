// OCSF: each kind lands in its class with a type_uid OCSF defines, and nothing recorded is lost.
import assert from "node:assert/strict";
import { test } from "node:test";
import { toOcsf } from "./ocsf.ts";
import type { AuditRecord } from "./types.ts";

const rec = (kind: string, data: AuditRecord["data"], ip?: string): AuditRecord => ({
  seq: 7,
  time: "2026-12-04T05:00:00.000Z",
  kind,
  actor: { identity: "agents/celery", ...(ip ? { ip } : {}) },
  data,
  prev: "0".repeat(64),
  hash: "ab".repeat(32),
});

test("decisions, alerts, sandbox runs, logins and approvals map to their OCSF classes", () => {
  const cases: Array<[AuditRecord, number, number]> = [
    [
      rec("gate.decision", { decision: "deny", host: "evil.example", port: 443, transport: "connect" }, "172.18.0.5"),
      4002,
      400201, // OCSF HTTP Activity: 1 is Connect
    ],
    [rec("gate.decision", { decision: "allow", name: "pypi.org", transport: "dns" }), 4003, 400301],
    [rec("gate.alert", { kind: "deny-burst", message: "12 denies in 10s" }), 2004, 200401],
    [rec("sandbox.run", { command: ["python", "plugin.py"], exitCode: 137, limitHits: ["memory"] }), 1007, 100702],
    [rec("login", { user: "admin", ok: false }), 3002, 300201],
    [rec("approval", { id: "3fa9", verdict: "approve", ok: true }), 3003, 300301],
    [rec("gate.decision", { decision: "allow", transport: "https", method: "POST", path: "/v1/chat" }), 4002, 400206],
    [rec("gate.decision", { decision: "allow", transport: "http", method: "GET", path: "/" }), 4002, 400203],
    [rec("gate.decision", { decision: "allow", transport: "http", method: "PATCH", path: "/" }), 4002, 400299],
  ];
  for (const [r, cls, type] of cases) {
    const o = toOcsf(r);
    assert.equal(o.class_uid, cls, r.kind);
    assert.equal(o.type_uid, type, r.kind);
    assert.equal(o.time, Date.parse(r.time));
    assert.deepEqual((o.unmapped as { corral: { data: unknown } }).corral.data, r.data, "nothing recorded is dropped");
    assert.equal((o.metadata as { uid: string }).uid, r.hash);
  }
  const denied = toOcsf(cases[0]![0]);
  assert.equal(denied.disposition_id, 2);
  assert.deepEqual(denied.dst_endpoint, { hostname: "evil.example", port: 443 });
  assert.deepEqual(denied.src_endpoint, { ip: "172.18.0.5" });
  const run = toOcsf(cases[3]![0]);
  assert.equal(run.exit_code, 137);
  assert.equal(run.status_id, 2, "a non-zero exit is a failure");
});

test("the gate's own records, as auditData writes them, land in their classes", async () => {
  const { auditData } = await import("../gate/subscribers.ts");
  const base = {
    time: 0,
    sourceIp: "10.203.0.5",
    identity: "agent",
    outcome: "success" as const,
    latencyMs: 1,
    durationMs: 1,
    decision: {
      verdict: "allow" as const,
      mode: "enforce" as const,
      code: "brokered" as const,
      rule: { id: "credential:llm", name: "llm" },
    },
  };
  const https = toOcsf(
    rec(
      "gate.decision",
      auditData({
        ...base,
        transport: "https",
        name: "api.openai.com",
        port: 443,
        status: 200,
        http: { method: "POST", path: "/v1/chat/completions" },
        credentials: ["llm"],
      }) as AuditRecord["data"],
    ),
  );
  assert.equal(https.type_uid, 400206);
  assert.deepEqual(https.http_request, {
    http_method: "POST",
    url: { path: "/v1/chat/completions", hostname: "api.openai.com" },
  });
  const dns = toOcsf(
    rec("gate.decision", auditData({ ...base, transport: "dns", name: "pypi.org" }) as AuditRecord["data"]),
  );
  assert.equal(dns.class_uid, 4003);
});
