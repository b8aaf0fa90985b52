// Off-host anchoring end to end on loopback: a real witness (HTTP, state on disk), real logs,
// the CLI's verify. The same cases run across network namespaces in anchor.int.test.ts.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, test } from "node:test";
import {
  backupSegment,
  cutTail,
  deleteLog,
  type LoopbackWitness,
  loopbackWitness,
  rewriteWithFreshKey,
  verifyWith,
  writeRecords,
} from "../testing/anchor-scenarios.ts";

let lw: LoopbackWitness;
before(async () => {
  lw = await loopbackWitness("corral-anchor-");
});
after(() => lw.close());
const target = () => lw.target();
const serve = (name: string, origin: string) => lw.serve(name, origin);

test("a healthy log is cosigned as it grows and verifies as anchored", async () => {
  const c = serve("healthy", "t.example/healthy");
  const report = await writeRecords(c, target(), 45, { origin: "t.example/healthy" });
  assert.equal(report?.targets[0]?.anchoredSize, 45, JSON.stringify(report));
  const v = await verifyWith(c, target(), ["--origin", "t.example/healthy"]);
  assert.equal(v.code, 0, JSON.stringify(v.json));
  assert.equal(v.json.anchors?.anchoredSize, 45);
  const state = JSON.parse(readFileSync(join(lw.root, "witness", "state.json"), "utf8"));
  assert.equal(state.logs["t.example/healthy"].size, 45, "the witness persisted what it cosigned");
});

test("the newest records deleted with their checkpoints: TAMPERED, naming the lost range", async () => {
  const c = serve("cut", "t.example/cut");
  await writeRecords(c, target(), 50, { origin: "t.example/cut" });
  cutTail(c, 30);
  const local = await verifyWith(c, { ...target(), url: "http://127.0.0.1:9" }, ["--origin", "t.example/cut"]);
  assert.equal(local.json.status, "valid", "the local chain alone cannot see it");
  const v = await verifyWith(c, target(), ["--origin", "t.example/cut"]);
  assert.equal(v.code, 1);
  assert.deepEqual(v.json.anchors?.findings[0]?.range, { from: 31, to: 50 });
});

test("the whole log deleted: TAMPERED, records 1..N lost", async () => {
  const c = serve("gone", "t.example/gone");
  await writeRecords(c, target(), 20, { origin: "t.example/gone" });
  deleteLog(c);
  const v = await verifyWith(c, target(), ["--origin", "t.example/gone"]);
  assert.equal(v.code, 1);
  assert.deepEqual(v.json.anchors?.findings[0]?.range, { from: 1, to: 20 });
});

test("the chain rewritten and re-signed with a fresh key: TAMPERED", async () => {
  const c = serve("resigned", "t.example/resigned");
  await writeRecords(c, target(), 20, { origin: "t.example/resigned" });
  await rewriteWithFreshKey(join(lw.root, "resigned-x"), c, target(), 20);
  const v = await verifyWith(c, target(), ["--origin", "t.example/resigned"]);
  assert.equal(v.json.status, "valid", "with the attacker's key the local chain checks out");
  assert.equal(v.code, 1);
  assert.match(v.json.anchors?.findings[0]?.message ?? "", /not signed by the given log key/);
});

test("a segment replaced from an older backup: TAMPERED, naming what the backup lacks", async () => {
  const c = serve("backup", "t.example/backup");
  const w = target();
  await writeRecords(c, w, 25, { origin: "t.example/backup", segmentRecords: 20 });
  const backup = backupSegment(c, 2);
  await writeRecords(c, w, 30, { origin: "t.example/backup", segmentRecords: 20 });
  backup.restore();
  const v = await verifyWith(c, w, ["--origin", "t.example/backup"]);
  assert.equal(v.json.status, "valid", "the backup is a consistent older log");
  assert.equal(v.code, 1);
  assert.deepEqual(v.json.anchors?.findings[0]?.range, { from: 26, to: 55 });
});

test("with the witness away the log keeps writing, and verify reports what is not anchored", async () => {
  const c = serve("away", "t.example/away");
  const w = target();
  await writeRecords(c, w, 20, { origin: "t.example/away" });
  const down = { url: "http://127.0.0.1:9", pub: w.pub };
  const started = performance.now();
  const report = await writeRecords(c, down, 35, { origin: "t.example/away" });
  assert.ok(performance.now() - started < 5000, "records never wait for the witness");
  const status = report?.targets[0];
  assert.equal(status?.anchoredSize, 0);
  assert.equal(status?.pendingSize, 55);
  assert.ok((status?.backlog ?? 0) >= 1 && status?.lastError, JSON.stringify(status));
  const v = await verifyWith(c, w, ["--origin", "t.example/away"]);
  assert.equal(v.code, 0, JSON.stringify(v.json.anchors));
  assert.equal(v.json.anchors?.anchoredSize, 20);
  assert.equal(v.json.anchors?.unanchored, 35);
  assert.equal((await verifyWith(c, w, ["--origin", "t.example/away", "--strict"])).code, 1, "--strict fails on it");
  assert.equal((await verifyWith(c, down, ["--origin", "t.example/away"])).code, 2, "no anchor answered");
});

test("the witness refuses an inconsistent checkpoint and keeps what it cosigned", async () => {
  const c = serve("fork", "t.example/fork");
  const w = target();
  await writeRecords(c, w, 20, { origin: "t.example/fork" });
  // The same key and origin, another history: what a host that rewrote its log would push.
  deleteLog(c);
  const report = await writeRecords(c, w, 30, { origin: "t.example/fork", salt: "-forked" });
  const status = report?.targets[0];
  assert.equal(status?.refused, true, JSON.stringify(status));
  assert.match(status?.lastError ?? "", /no checkpoint at that size|422/);
  const state = JSON.parse(readFileSync(join(lw.root, "witness", "state.json"), "utf8"));
  assert.equal(state.logs["t.example/fork"].size, 20, "the witness still holds the first history");
  const v = await verifyWith(c, w, ["--origin", "t.example/fork"]);
  assert.equal(v.code, 1);
  assert.match(v.json.anchors?.findings[0]?.message ?? "", /rewritten or replaced/);
});

test("a gate writing the log shows its anchoring in /metrics and at /audit/anchors", async () => {
  const { Gate } = await import("../gate/gate.ts");
  const { GateAdminClient } = await import("../gate/admin/client.ts");
  const { parsePolicy } = await import("../policy/index.ts");
  const { openAuditSink } = await import("./open.ts");
  const { pino } = await import("pino");
  const c = serve("gate", "t.example/gate");
  const sink = await openAuditSink({
    dir: c.dir,
    keyPath: c.key,
    fsync: "none",
    checkpointEvery: 5,
    origin: "t.example/gate",
    witnesses: [
      { url: lw.witness.url, key: target().pub },
      { url: "http://127.0.0.1:9", key: target().pub },
    ],
  });
  const gate = await Gate.start({
    loaded: parsePolicy("version: 1\n", "corral.yaml"),
    serve: { proxy: false, dns: false, admin: true },
    listen: { admin: { host: "127.0.0.1", port: 0 } },
    logger: pino({ level: "silent" }),
    audit: sink,
  });
  try {
    for (let i = 0; i < 12; i++) await sink.record("gate.decision", "agents/a", { decision: "allow", n: i });
    const client = new GateAdminClient({
      baseUrl: `http://127.0.0.1:${gate.addresses.admin!.port}`,
      token: gate.adminToken,
    });
    let anchors = await client.auditAnchors();
    for (let i = 0; i < 100 && anchors?.targets[0]?.anchoredSize !== 10; i++) {
      await new Promise((r) => setTimeout(r, 20));
      anchors = await client.auditAnchors();
    }
    assert.equal(anchors?.targets[0]?.anchoredSize, 10, JSON.stringify(anchors));
    assert.equal(anchors?.targets[1]?.anchoredSize, 0);
    assert.ok(anchors?.targets[1]?.lastError);
    const metrics = await (await fetch(`http://127.0.0.1:${gate.addresses.admin!.port}/metrics`)).text();
    assert.match(metrics, new RegExp(`corral_audit_anchored_size\\{target="${lw.witness.url}",kind="witness"\\} 10`));
    assert.match(metrics, /corral_audit_unanchored_records\{target="http:\/\/127.0.0.1:9",kind="witness"\} 1[0-9]/);
    assert.match(metrics, /corral_audit_anchor_backlog\{target="http:\/\/127.0.0.1:9",kind="witness"\} [1-9]/);
  } finally {
    await gate.close();
    await sink.close();
  }
});

test("a witness that accepts and never answers delays neither records nor close beyond the grace", async () => {
  const { createServer } = await import("node:net");
  const held: import("node:net").Socket[] = [];
  const hang = createServer((s) => held.push(s));
  await new Promise<void>((r) => hang.listen(0, "127.0.0.1", () => r()));
  const port = (hang.address() as import("node:net").AddressInfo).port;
  try {
    const c = serve("hang", "t.example/hang");
    const started = performance.now();
    const report = await writeRecords(c, { url: `http://127.0.0.1:${port}`, pub: target().pub }, 30, {
      origin: "t.example/hang",
    });
    const took = performance.now() - started;
    assert.ok(took < 3500, `writing 30 records and closing took ${Math.round(took)} ms`);
    assert.equal(report?.targets[0]?.anchoredSize, 0);
  } finally {
    for (const s of held) s.destroy();
    hang.close();
  }
});
