// Against the real gate's admin listener (src/gate), started on loopback.
import assert from "node:assert/strict";
import { test } from "node:test";
import { pino } from "pino";
import { Gate } from "../gate/gate.ts";
import { parsePolicy } from "../policy/index.ts";
import { EventHub } from "./event-hub.ts";
import { GateClient, type GateError } from "./gate-client.ts";

const POLICY = parsePolicy(
  "version: 1\nidentities:\n  agent: { source: [127.0.0.1/32] }\negress:\n  - { from: agent, allow: [pypi.org:443], approval: ask }\n",
  "corral.yaml",
);

async function until(cond: () => boolean, ms = 2000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error("timed out");
    await new Promise((r) => setTimeout(r, 10));
  }
}

test("the relay turns the gate's /events stream into hub events and reports its connection", async () => {
  const gate = await Gate.start({
    loaded: POLICY,
    serve: { proxy: false, dns: false, admin: true },
    listen: { admin: { host: "127.0.0.1", port: 0 } },
    logger: pino({ level: "silent" }),
  });
  const base = `http://127.0.0.1:${gate.addresses.admin!.port}`;
  // Without the gate's admin token nothing but health answers.
  await assert.rejects(new GateClient({ baseUrl: base }).listApprovals(), (e: GateError) => e.status === 401);
  await assert.rejects(
    new GateClient({ baseUrl: base, token: "0".repeat(64) }).listApprovals(),
    (e: GateError) => e.status === 401,
  );
  const client = new GateClient({ baseUrl: base, token: gate.adminToken });
  const hub = new EventHub();
  try {
    client.relay(hub);
    await until(() => client.getStatus().connected);
    const t = Date.now();
    gate.bus.emit("decision", {
      time: t,
      transport: "connect",
      sourceIp: "127.0.0.1",
      identity: "agent",
      name: "<b>evil</b>.example",
      port: 443,
      decision: {
        verdict: "deny",
        mode: "enforce",
        code: "unlisted",
        rule: { id: "egress:agent", name: "agent#0" },
        approvable: true,
      },
      outcome: "denied",
      latencyMs: 0.2,
      durationMs: 0.2,
      approvalId: "0123456789",
    });
    gate.bus.emit("alert", {
      time: t,
      kind: "deny_burst",
      identity: "agent",
      message: "20 denials in 60s",
      value: 20,
      threshold: 20,
    });
    await until(() => hub.recent().length === 2);
    const [d, a] = hub.recent();
    assert.deepEqual(d, {
      type: "decision",
      id: 1,
      time: new Date(t).toISOString(),
      identity: "agent",
      destination: "<b>evil</b>.example:443",
      verdict: "deny",
      mode: "enforce",
      reason: "not in allow list",
      rule: "agent#0",
      approvable: true,
      approvalId: "0123456789",
      transport: "connect",
    });
    assert.equal(a?.type === "alert" && a.kind, "deny_burst");
  } finally {
    await gate.close();
  }
  await until(() => !client.getStatus().connected);
  assert.ok(client.getStatus().lastError);
  client.stop();
});

test("an unreachable gate is a clear error, not a hang", async () => {
  const client = new GateClient({ baseUrl: "http://127.0.0.1:9", timeoutMs: 1000 });
  await assert.rejects(client.listApprovals(), /gate admin API at http:\/\/127\.0\.0\.1:9 unreachable/);
});
