// `corral gate` with an `audit:` section, end to end on loopback: decisions (denials one by
// one, allowed ones aggregated), approvals with the operator, policy loads with their diff (and
// a rejected reload), records other processes report through POST /audit/records, then
// `corral audit verify` and `corral audit query` on the result. Also the reporter's fallbacks:
// no gate → straight into the log; log held by another writer → one warning, no failure.
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { openAuditSink, readRecords } from "../audit/index.ts";
import { AuditReporter } from "../audit/remote.ts";
import type { AuditRecord } from "../audit/types.ts";
import { main } from "../cli/main.ts";
import { privilegedSkip } from "../testing/privileged.ts";
import { textSink } from "../testing/text-sink.ts";
import { freePort, type Origin, rawRequest, startDnsUpstream, startOrigin } from "./testkit.ts";

const skip = privilegedSkip({ root: false });
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const sink = textSink;

async function waitFor(what: string, f: () => Promise<boolean> | boolean, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (await f()) return;
    await sleep(50);
  }
  assert.fail(`timed out waiting for ${what}`);
}

describe("audit wiring through the gate", { skip, timeout: 60_000 }, () => {
  let dir: string;
  let origin: Origin;
  let upstream: Awaited<ReturnType<typeof startDnsUpstream>>;
  let P = 0;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), "corral-audit-gate-"));
    origin = await startOrigin("127.0.0.2");
    P = origin.port;
    upstream = await startDnsUpstream((name, type) =>
      type === "A" && name.endsWith(".test") ? { A: ["127.0.0.2"], ttl: 60 } : { ttl: 60 },
    );
  });

  after(async () => {
    setTimeout(() => process.exit(), 10_000).unref();
    await Promise.all([origin?.close(), upstream?.close()]);
    rmSync(dir, { recursive: true, force: true });
  });

  test("decisions, approvals, policy loads and reported runs land in one verifiable chain", async () => {
    const key = join(dir, "keys", "audit.key");
    mkdirSync(join(dir, "keys"), { mode: 0o700 });
    const k = sink();
    assert.equal(await main(["audit", "keygen", "--key", key], { stdout: k.stream, stderr: k.stream }), 0, k.text());
    const [pp, dp, ap] = [await freePort(), await freePort(), await freePort()];
    const policyFile = join(dir, "corral.yaml");
    const policy = (allow: string[], extraZone = "") => `version: 1
zones:
  agents: { services: [celery] }
${extraZone}identities:
  agent: { source: [127.0.0.1/32] }
egress:
  - name: agent-out
    from: [agent]
    allow: [${allow.map((a) => JSON.stringify(a)).join(", ")}]
    approval: ask
floor:
  allow_ranges: [127.0.0.2/32]
dns: { upstreams: ["127.0.0.1:${upstream.port}"], timeout: 500ms, retries: 1 }
gate:
  listen: { proxy: "127.0.0.1:${pp}", dns: "127.0.0.1:${dp}", admin: "127.0.0.1:${ap}" }
  state_dir: ${JSON.stringify(join(dir, "state"))}
audit:
  path: audit
  checkpoint: { key: ${JSON.stringify(key)}, every: 1000 }
  fsync: batch
  aggregate_allowed: true
`;
    writeFileSync(policyFile, policy([`allowed.test:${P}`]));
    const stop = new AbortController();
    const log = join(dir, "decisions.jsonl");
    const err = sink();
    const running = main(["gate", "--policy", policyFile, "--log", log], {
      stdout: err.stream,
      stderr: err.stream,
      stopSignal: stop.signal,
      cwd: dir,
      env: {},
    });
    const base = `http://127.0.0.1:${ap}`;
    await waitFor("the gate", async () => (await fetch(`${base}/readyz`).catch(() => undefined))?.status === 200);
    const token = readFileSync(join(dir, "state", "admin.token"), "utf8").trim();
    const get = (host: string) =>
      `GET http://${host}:${P}/ HTTP/1.1\r\nHost: ${host}:${P}\r\nConnection: close\r\n\r\n`;
    let reported: AuditReporter | undefined;
    try {
      assert.equal((await rawRequest(pp, get("allowed.test"))).status, 200);
      assert.equal((await rawRequest(pp, get("allowed.test"))).status, 200);
      const denied = await rawRequest(pp, get("denied.test"));
      assert.equal(denied.status, 403);
      const id = /X-Corral-Approval: ([0-9a-f]+)/.exec(denied.text)?.[1];
      assert.ok(id);
      const approved = await fetch(`${base}/approvals/${id}/approve`, {
        method: "POST",
        headers: { "content-type": "application/json", authorization: `Bearer ${token}` },
        body: JSON.stringify({ forMs: 60_000, actor: "alice" }),
      });
      assert.equal(approved.status, 200);

      // A hot reload that adds a zone and changes the rule, then one that does not load.
      writeFileSync(policyFile, policy([`allowed.test:${P}`, `more.test:${P}`], "  tools: { services: [browser] }\n"));
      await waitFor("reload", () => readFileSync(log, "utf8").includes('"policy reloaded"'));
      writeFileSync(policyFile, "version: 1\negress: [ { from: agent, allow: ['bad host!'] } ]\n");
      await waitFor("rejected reload", () => readFileSync(log, "utf8").includes("policy reload failed"));

      // What another process (corral run, corral ui) reports goes through the gate.
      reported = new AuditReporter({ adminUrl: base, token, warn: (m) => assert.fail(m) });
      await reported.record("sandbox.run", "run:abc123", { run: "abc123", profile: "plugin", exitCode: 0 });
      assert.deepEqual(reported.deliveries, ["gate"]);
      // The gate only takes the kinds other processes own, from callers with the token.
      const forged = await fetch(`${base}/audit/records`, {
        method: "POST",
        headers: { "content-type": "application/json", authorization: `Bearer ${token}` },
        body: JSON.stringify({ kind: "gate.decision", actor: "x", data: {} }),
      });
      assert.equal(forged.status, 400);
      const huge = await fetch(`${base}/audit/records`, {
        method: "POST",
        headers: { "content-type": "application/json", authorization: `Bearer ${token}` },
        body: JSON.stringify({ kind: "login", actor: "ui:admin", data: { blob: "x".repeat(9000) } }),
      });
      assert.equal(huge.status, 400);
      const badActor = await fetch(`${base}/audit/records`, {
        method: "POST",
        headers: { "content-type": "application/json", authorization: `Bearer ${token}` },
        body: JSON.stringify({ kind: "login", actor: "evil\nactor", data: {} }),
      });
      assert.equal(badActor.status, 400);
    } finally {
      stop.abort();
      assert.equal(await running, 0, err.text());
    }

    const auditDir = join(dir, "audit");
    const v = sink();
    assert.equal(
      await main(["audit", "verify", "--dir", auditDir, "--key", `${key}.pub`], { stdout: v.stream, stderr: v.stream }),
      0,
      v.text(),
    );
    const q = sink();
    assert.equal(
      await main(["audit", "query", "--dir", auditDir, "--kind", "sandbox.run", "--format", "json"], {
        stdout: q.stream,
        stderr: q.stream,
      }),
      0,
      q.text(),
    );
    const runs = q
      .text()
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l) as AuditRecord);
    assert.equal(runs.length, 1);
    assert.equal(runs[0]!.actor.identity, "run:abc123");
    assert.equal(runs[0]!.data.run, "abc123");

    const records: AuditRecord[] = [];
    for await (const r of readRecords(auditDir)) records.push(r as AuditRecord);
    const of = (kind: string) => records.filter((r) => r.kind === kind);
    const decisions = of("gate.decision");
    assert.ok(
      decisions.some(
        (r) => r.data.decision === "deny" && r.data.host === "denied.test" && r.actor.identity === "agent",
      ),
      "the denial is recorded on its own",
    );
    assert.ok(!decisions.some((r) => r.data.decision === "allow"), "allowed decisions are aggregated");
    const agg = of("gate.aggregate").find((r) => String(r.data.destination).startsWith("allowed.test"));
    assert.equal(agg?.data.count, 2);
    const approval = of("approval")[0];
    assert.equal(approval?.actor.identity, "alice");
    assert.equal(approval?.actor.ip, "127.0.0.1", "the admin API caller's address");
    assert.equal(approval?.data.approved, true);
    const loads = of("policy.load");
    assert.equal(loads.length, 3, JSON.stringify(loads.map((l) => l.data)));
    const [first, second, rejected] = loads;
    assert.equal(first!.data.ok, true);
    assert.match(String(first!.data.sha256), /^[0-9a-f]{64}$/);
    assert.equal((first!.data.diff as { summary: string }).summary, "zones +1 -0 ~0, flows +0 -0 ~0, egress +1 -0 ~0");
    assert.equal(second!.data.previous_sha256, first!.data.sha256);
    assert.deepEqual((second!.data.diff as { zones: unknown }).zones, { added: ["tools"], removed: [], changed: [] });
    assert.deepEqual((second!.data.diff as { egress: unknown }).egress, {
      added: [],
      removed: [],
      changed: ["agent-out"],
    });
    assert.equal(rejected!.data.ok, false);
    assert.equal(rejected!.data.outcome, "failure");
    assert.match(String(rejected!.data.error), /bad host/);

    // No gate any more: the reporter writes straight into the log (the lock is free) …
    const direct = new AuditReporter({
      adminUrl: `http://127.0.0.1:${ap}`,
      direct: { dir: auditDir, keyPath: key },
      warn: (m) => assert.fail(m),
    });
    await direct.record("sandbox.run", "run:def456", { run: "def456", exitCode: 1 });
    await direct.close();
    assert.deepEqual(direct.deliveries, ["direct"]);
    // … and when someone else holds the log, it warns once and carries on.
    const holder = await openAuditSink({ dir: auditDir, keyPath: key });
    const warnings: string[] = [];
    const blocked = new AuditReporter({
      adminUrl: `http://127.0.0.1:${ap}`,
      direct: { dir: auditDir, keyPath: key },
      warn: (m) => warnings.push(m),
    });
    await blocked.record("sandbox.run", "run:x", { run: "x" });
    await blocked.record("sandbox.run", "run:y", { run: "y" });
    await holder.close();
    assert.deepEqual(blocked.deliveries, ["dropped", "dropped"]);
    assert.equal(warnings.length, 1);
    assert.match(warnings[0]!, /did not answer.*cannot be opened/);
    const v2 = sink();
    assert.equal(
      await main(["audit", "verify", "--dir", auditDir, "--key", `${key}.pub`], {
        stdout: v2.stream,
        stderr: v2.stream,
      }),
      0,
      v2.text(),
    );
  });
});
