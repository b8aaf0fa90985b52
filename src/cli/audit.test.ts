import assert from "node:assert/strict";
import { readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { openAuditLog } from "../audit/log.ts";
import { segmentName } from "../audit/segments.ts";
import { scratch } from "../audit/testkit.ts";
import { runCli, startCli } from "../testing/cli.ts";
import { waitFor } from "../testing/wait.ts";

async function corral(args: string[], cwd: string, signal?: AbortSignal) {
  const r = await runCli(args, signal ? { cwd, stopSignal: signal } : { cwd });
  return { code: r.code, stdout: r.out, stderr: r.err };
}

test("keygen, verify (valid, unverified tail, tampered), with exit codes", async () => {
  const s = scratch();
  try {
    const k = await corral(["audit", "keygen", "--key", "k2"], s.root);
    assert.equal(k.code, 0, k.stderr);
    assert.equal(statSync(join(s.root, "k2")).mode & 0o777, 0o600);
    assert.equal((await corral(["audit", "keygen", "--key", "k2"], s.root)).code, 2);
    const inside = await corral(["audit", "keygen", "--key", "log/k3", "--dir", "log"], s.root);
    assert.equal(inside.code, 2);
    assert.match(inside.stderr, /inside the log directory/);

    const log = await openAuditLog({ dir: s.dir, keyPath: join(s.root, "k2"), checkpointEvery: 3, fsync: "record" });
    for (let i = 0; i < 4; i++)
      await log.record(
        "gate.decision",
        { identity: "celery", ip: "10.0.0.2" },
        { decision: i ? "allow" : "deny", host: "pypi.org", port: 443 },
      );
    await log.flush();
    let v = await corral(["audit", "verify", "--dir", "log", "--key", "k2.pub"], s.root);
    assert.equal(v.code, 0);
    assert.match(v.stdout, /valid through seq 3/);
    assert.match(v.stdout, /unverified \(1 records after checkpoint at seq 3\)/);
    assert.equal((await corral(["audit", "verify", "--dir", "log", "--key", "k2.pub", "--strict"], s.root)).code, 1);
    await log.close();
    v = await corral(["audit", "verify", "--dir", "log", "--key", "k2"], s.root);
    assert.equal(v.code, 0);
    assert.match(v.stdout, /: valid\n/);

    const seg = join(s.dir, segmentName(1));
    writeFileSync(seg, readFileSync(seg, "utf8").replace('"deny"', '"allw"'));
    v = await corral(["audit", "verify", "--dir", "log", "--key", "k2.pub"], s.root);
    assert.equal(v.code, 1);
    assert.match(v.stdout, /TAMPERED\n {2}first bad record: segment-000001.jsonl:1 seq 1: hash does not match/);
    const json = JSON.parse(
      (await corral(["audit", "verify", "--dir", "log", "--key", "k2.pub", "--format", "json"], s.root)).stdout,
    );
    assert.equal(json.problem.seq, 1);

    const missing = await corral(["audit", "verify", "--dir", "nope", "--key", "k2.pub"], s.root);
    assert.equal(missing.code, 2);
    assert.match(missing.stderr, /audit log directory .*nope not found/);
    assert.equal((await corral(["audit", "frobnicate"], s.root)).code, 2);
  } finally {
    s.cleanup();
  }
});

test("tail, query and export ecs", async () => {
  const s = scratch();
  try {
    const log = await openAuditLog({ dir: s.dir, keyPath: s.keyPath });
    await log.record("login", { identity: "alice", ip: "127.0.0.1" }, { ok: true });
    await log.record("gate.decision", "agents/celery", { decision: "deny", host: "evil.example", port: 443 });
    await log.record("sandbox.run", "plugin-runs", { exit_code: 0 });
    await log.close();
    const t = await corral(["audit", "tail", "--dir", "log", "-n", "2"], s.root);
    assert.equal(t.code, 0, t.stderr);
    assert.deepEqual(
      t.stdout
        .trim()
        .split("\n")
        .map((l) => l.split(" ")[1]),
      ["#2", "#3"],
    );
    assert.match(t.stdout, /gate.decision +agents\/celery decision=deny host=evil.example port=443/);
    const q = await corral(
      ["audit", "query", "--dir", "log", "--since", "1h", "--identity", "agents/*", "--format", "json"],
      s.root,
    );
    assert.deepEqual(
      q.stdout
        .trim()
        .split("\n")
        .map((l) => JSON.parse(l).seq),
      [2],
    );
    const k = await corral(["audit", "query", "--dir", "log", "--kind", "login,sandbox.run", "--until", "1h"], s.root);
    assert.equal(k.stdout, "", "nothing older than an hour");
    const e = await corral(["audit", "export", "--dir", "log", "--format", "ecs", "--kind", "gate.decision"], s.root);
    const doc = JSON.parse(e.stdout);
    assert.equal(doc.event.outcome, "failure");
    assert.equal(doc.destination.domain, "evil.example");
    assert.equal(doc.corral.identity, "agents/celery");
    assert.match(doc.hash.sha256, /^[0-9a-f]{64}$/);
    const o = await corral(["audit", "export", "--dir", "log", "--format", "ocsf", "--kind", "gate.decision"], s.root);
    const ocsf = JSON.parse(o.stdout);
    assert.equal(ocsf.disposition_id, 2, "OCSF: blocked");
    assert.equal(ocsf.dst_endpoint.hostname, "evil.example");
    assert.equal(ocsf.metadata.version, "1.3.0");
    const bad = await corral(["audit", "query", "--dir", "log", "--since", "last tuesday"], s.root);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /--since 'last tuesday' is neither/);
  } finally {
    s.cleanup();
  }
});

test("tail --follow prints new records until stopped", async () => {
  const s = scratch();
  try {
    const log = await openAuditLog({ dir: s.dir, fsync: "none" });
    await log.record("login", "a", { n: 1 });
    const ac = new AbortController();
    const run = startCli(["audit", "tail", "--dir", "log", "--follow", "--format", "json"], {
      cwd: s.root,
      stopSignal: ac.signal,
    });
    const printed = () => run.out().trim().split("\n").filter(Boolean).length;
    // The first record printed means tail has taken its position: the next one is a new one.
    await waitFor("the existing record", () => printed() === 1);
    await log.record("login", "a", { n: 2 });
    await waitFor("the new record", () => printed() === 2);
    ac.abort();
    assert.equal(await run.done, 0);
    assert.deepEqual(
      run
        .out()
        .trim()
        .split("\n")
        .map((l) => JSON.parse(l).data.n),
      [1, 2],
    );
    await log.close();
  } finally {
    s.cleanup();
  }
});
