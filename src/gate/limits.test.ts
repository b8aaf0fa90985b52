// The limiter cores with explicit timestamps: no sleeps, so the arithmetic is what is tested,
// not the machine's speed.
import assert from "node:assert/strict";
import { test } from "node:test";
import { ConnectionCounter, RateLimiter } from "./limits.ts";

const T0 = 1_700_000_000_000;

function takes(r: RateLimiter, key: string, rate: number, times: number[]): boolean[] {
  return times.map((t) => r.take(key, rate, t));
}

test("rate limiter: a burst of `rate` passes at one instant, the next is refused", () => {
  const r = new RateLimiter();
  assert.deepEqual(takes(r, "a", 2, [T0, T0, T0, T0]), [true, true, false, false]);
});

test("rate limiter: tokens come back at `rate` per second, never above the burst", () => {
  const r = new RateLimiter();
  assert.deepEqual(takes(r, "a", 2, [T0, T0, T0]), [true, true, false]);
  assert.equal(r.take("a", 2, T0 + 499), false, "half a token short of one");
  assert.equal(r.take("a", 2, T0 + 500), true, "one token after 1/rate s");
  // A long quiet spell refills to the burst size, not beyond.
  assert.deepEqual(takes(r, "a", 2, [T0 + 60_000, T0 + 60_000, T0 + 60_000]), [true, true, false]);
});

test("rate limiter: the spacing of the flaky integration test (300 ms at 2/s) is refused on the fourth", () => {
  const r = new RateLimiter();
  assert.deepEqual(takes(r, "a", 2, [T0, T0 + 300, T0 + 600, T0 + 900]), [true, true, true, false]);
  // …and a little slower, all four pass: why the old wall-clock test could not be trusted.
  const slow = new RateLimiter();
  assert.deepEqual(takes(slow, "a", 2, [T0, T0 + 350, T0 + 700, T0 + 1050]), [true, true, true, true]);
});

test("rate limiter: identities have separate buckets", () => {
  const r = new RateLimiter();
  assert.deepEqual(takes(r, "a", 1, [T0, T0]), [true, false]);
  assert.equal(r.take("b", 1, T0), true);
});

test("rate limiter: a rate lowered by a reload caps the saved tokens", () => {
  const r = new RateLimiter();
  assert.equal(r.take("a", 100, T0), true);
  assert.deepEqual(takes(r, "a", 1, [T0, T0]), [true, false]);
});

test("connection counter: at most `max` open per key; closing frees a slot", () => {
  const c = new ConnectionCounter();
  assert.equal(c.open("a", 2), true);
  assert.equal(c.open("a", 2), true);
  assert.equal(c.open("a", 2), false);
  assert.equal(c.open("b", 2), true);
  c.close("a");
  assert.equal(c.get("a"), 1);
  assert.equal(c.open("a", 2), true);
  c.close("a");
  c.close("a");
  c.close("a");
  assert.equal(c.get("a"), 0, "never below zero");
});
