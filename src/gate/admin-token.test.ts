import assert from "node:assert/strict";
import { chmodSync, mkdtempSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { bearerMatches, ensureAdminToken, findAdminToken } from "./admin-token.ts";
import { EphemeralIdentities } from "./ephemeral.ts";

test("bearer check: exact token only, any length, case-insensitive scheme", () => {
  const t = "a".repeat(64);
  assert.equal(bearerMatches(`Bearer ${t}`, t), true);
  assert.equal(bearerMatches(`bearer ${t}`, t), true);
  assert.equal(bearerMatches(`Bearer ${t.slice(1)}b`, t), false);
  assert.equal(bearerMatches(`Bearer ${t}a`, t), false);
  assert.equal(bearerMatches("Bearer ", t), false);
  assert.equal(bearerMatches(undefined, t), false);
  assert.equal(bearerMatches(`Basic ${t}`, t), false);
  assert.equal(bearerMatches(`Bearer ${t} extra`, t), false);
});

test("token file: created once (0600), reused, loosened modes tightened; env wins; clients find it", () => {
  const dir = mkdtempSync(join(tmpdir(), "corral-admin-token-"));
  try {
    const state = join(dir, "state");
    const first = ensureAdminToken({}, state);
    assert.equal(first.source, "file");
    assert.match(first.token, /^[0-9a-f]{64}$/);
    const file = join(state, "admin.token");
    assert.equal(statSync(file).mode & 0o777, 0o600);
    chmodSync(file, 0o644);
    assert.equal(ensureAdminToken({}, state).token, first.token);
    assert.equal(statSync(file).mode & 0o777, 0o600);
    assert.equal(findAdminToken({}, state), first.token);
    assert.deepEqual(ensureAdminToken({ CORRAL_GATE_ADMIN_TOKEN: "env-token" }, state), {
      token: "env-token",
      source: "env",
    });
    assert.equal(findAdminToken({ CORRAL_GATE_ADMIN_TOKEN: "env-token" }, state), "env-token");
    assert.equal(readFileSync(file, "utf8").trim(), first.token, "env does not overwrite the file");
    assert.equal(findAdminToken({}, join(dir, "nowhere")), undefined);
    assert.equal(ensureAdminToken({}, undefined).source, "memory");
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("ephemeral identities: minted, looked up, expire, released", () => {
  let now = 1000;
  const e = new EphemeralIdentities(() => now);
  const { token, expires } = e.mint("plugin-runs", "run-1", 60_000);
  assert.equal(expires, 61_000);
  assert.deepEqual(e.lookup(token), { parent: "plugin-runs", run: "run-1", expires: 61_000 });
  assert.equal(e.lookup(`${token}x`), undefined);
  now = 61_000;
  assert.equal(e.lookup(token), undefined, "expired");
  const b = e.mint("plugin-runs", "run-2", 10 * 24 * 3_600_000);
  assert.equal(b.expires, now + 24 * 3_600_000, "ttl capped at a day");
  assert.equal(e.release(b.token), b.digest);
  assert.equal(e.release(b.token), undefined);
  assert.equal(e.lookup(b.token), undefined);
});
