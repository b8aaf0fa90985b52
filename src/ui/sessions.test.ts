import assert from "node:assert/strict";
import { test } from "node:test";
import { SessionStore, sameToken } from "./sessions.ts";

test("session ids and CSRF tokens are random, long and distinct", () => {
  const s = new SessionStore();
  const a = s.create("127.0.0.1", 0);
  const b = s.create("127.0.0.1", 0);
  assert.notEqual(a.id, b.id);
  assert.notEqual(a.csrf, b.csrf);
  assert.notEqual(a.id, a.csrf);
  assert.match(a.id, /^[A-Za-z0-9_-]{43}$/);
  assert.match(a.csrf, /^[A-Za-z0-9_-]{43}$/);
});

test("sessions expire when idle and at their absolute age; ending one notifies listeners", () => {
  const s = new SessionStore({ idleMs: 100, absoluteMs: 250 });
  const a = s.create("ip", 0);
  assert.equal(s.get(a.id, 90)?.id, a.id);
  assert.equal(s.get(a.id, 180)?.id, a.id);
  assert.equal(s.get(a.id, 251), undefined, "absolute age");
  const b = s.create("ip", 1000);
  assert.equal(s.get(b.id, 1101), undefined, "idle");
  const ended: string[] = [];
  s.onEnd((id) => ended.push(id));
  const c = s.create("ip", 2000);
  s.end(c.id);
  assert.deepEqual(ended, [c.id]);
  assert.equal(s.get(c.id, 2000), undefined);
  assert.equal(s.get(undefined, 0), undefined);
  assert.equal(s.get("made-up", 0), undefined);
});

test("the store is bounded: the oldest session goes first", () => {
  const s = new SessionStore({ max: 2 });
  const a = s.create("ip", 0);
  const b = s.create("ip", 0);
  const c = s.create("ip", 0);
  assert.equal(s.size, 2);
  assert.equal(s.get(a.id, 0), undefined);
  assert.ok(s.get(b.id, 0) && s.get(c.id, 0));
});

test("CSRF comparison is exact", () => {
  assert.equal(sameToken("abc", "abc"), true);
  assert.equal(sameToken("abd", "abc"), false);
  assert.equal(sameToken("ab", "abc"), false);
  assert.equal(sameToken(undefined, "abc"), false);
  assert.equal(sameToken("", "abc"), false);
});
