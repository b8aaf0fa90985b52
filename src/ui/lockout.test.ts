import assert from "node:assert/strict";
import { test } from "node:test";
import { LoginGuard } from "./lockout.ts";

test("five wrong passwords lock the account, even for the right password, until the lock ends", () => {
  const g = new LoginGuard({ lockMs: 60_000, perIpAttempts: 100 });
  let t = 1000;
  for (let i = 1; i <= 4; i++) {
    assert.deepEqual(g.admit("10.0.0.1", t), { ok: true });
    assert.deepEqual(g.failure(t), { locked: false, failures: i });
    t += 10;
  }
  assert.deepEqual(g.admit("10.0.0.1", t), { ok: true });
  const fifth = g.failure(t);
  assert.equal(fifth.locked, true);
  assert.equal(fifth.lockedUntil, t + 60_000);
  // Another address is locked out too: the lock is on the account.
  const refused = g.admit("10.0.0.2", t + 1);
  assert.equal(refused.ok, false);
  assert.equal(!refused.ok && refused.reason, "locked");
  assert.equal(!refused.ok && refused.retryAfterMs, 59_999);
  assert.equal(g.lockedUntilMs(t + 1), t + 60_000);
  assert.deepEqual(g.admit("10.0.0.1", t + 60_000), { ok: true });
  assert.equal(g.lockedUntilMs(t + 60_000), undefined);
});

test("a success resets the failure count", () => {
  const g = new LoginGuard({ perIpAttempts: 100 });
  for (let i = 0; i < 4; i++) g.failure(0);
  g.success();
  for (let i = 0; i < 4; i++) assert.equal(g.failure(0).locked, false);
  assert.equal(g.failure(0).locked, true);
});

test("one address gets a bounded number of attempts per window", () => {
  const g = new LoginGuard({ perIpAttempts: 3, perIpWindowMs: 1000 });
  assert.equal(g.admit("a", 0).ok, true);
  assert.equal(g.admit("a", 100).ok, true);
  assert.equal(g.admit("a", 200).ok, true);
  const r = g.admit("a", 300);
  assert.deepEqual(r, { ok: false, reason: "rate-limited", retryAfterMs: 700 });
  assert.equal(g.admit("b", 300).ok, true);
  assert.equal(g.admit("a", 1000).ok, true);
});
