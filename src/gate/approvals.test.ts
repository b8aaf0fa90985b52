import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { UserError } from "../policy/user-error.ts";
import { Approvals } from "./approvals.ts";
import { LearnStore, readLearned, readLearnedSeen } from "./learn.ts";

test("approvals: one pending id per destination, grants expire, state survives a restart", () => {
  const dir = mkdtempSync(join(tmpdir(), "corral-approvals-"));
  try {
    const a = new Approvals(dir);
    const id = a.request("agent", { name: "x.example", port: 443 }, 1000);
    assert.ok(id);
    assert.equal(a.request("agent", { name: "x.example", port: 443 }, 1001), id);
    assert.notEqual(a.request("agent", { name: "x.example", port: 80 }, 1002), id);
    assert.deepEqual(a.grants(), []);
    a.approve(id, 60_000, "alice", 2000);
    assert.deepEqual(a.grants(), [{ identity: "agent", name: "x.example", ip: undefined, port: 443, expires: 62_000 }]);
    const again = new Approvals(dir);
    assert.equal(again.get(id)?.decidedBy, "alice");
    assert.equal(again.grants().length, 1);
    again.deny(id, "bob", 3000);
    assert.equal(again.grants().length, 0);
    assert.throws(() => again.approve("ffff", 1, "x", 1), /no approval request/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("learn store: per-worker files summed by readLearned, first and last use by readLearnedSeen", () => {
  const dir = mkdtempSync(join(tmpdir(), "corral-learn-"));
  try {
    let t = 1000;
    const w1 = new LearnStore(dir, 1, () => t);
    const w2 = new LearnStore(dir, 2, () => t);
    w1.record("api", "pypi.org", 443);
    t = 2000;
    w1.record("api", "pypi.org", 443);
    t = 500;
    w2.record("api", "pypi.org", 443);
    t = 3000;
    w2.record("api", "::1", 8080);
    w1.flush();
    w2.flush();
    assert.deepEqual(readLearned(dir), { api: { "pypi.org:443": 3, "[::1]:8080": 1 } });
    assert.deepEqual(readLearnedSeen(dir), { api: { "pypi.org:443": [500, 2000], "[::1]:8080": [3000, 3000] } });
    assert.deepEqual(new LearnStore(dir, 1).snapshot(), { api: { "pypi.org:443": 2 } }, "read back on restart");
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("a damaged learned file is a user error naming the file, not a crash", () => {
  const dir = mkdtempSync(join(tmpdir(), "corral-learn-"));
  try {
    writeFileSync(join(dir, "learned.json"), "{not json");
    assert.throws(
      () => readLearned(dir),
      (e: UserError) =>
        e instanceof UserError && /learned\.json: not JSON/.test(e.message) && /move it aside/.test(e.hint ?? ""),
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
