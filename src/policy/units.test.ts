import assert from "node:assert/strict";
import { test } from "node:test";
import { durationMs, formatPortRange, parsePortSpec, sizeBytes } from "./units.ts";

test("durations", () => {
  assert.equal(durationMs("500ms"), 500);
  assert.equal(durationMs("60s"), 60_000);
  assert.equal(durationMs("5m"), 300_000);
  assert.equal(durationMs("1h"), 3_600_000);
  assert.equal(durationMs(2), 2000);
});

test("sizes", () => {
  assert.equal(sizeBytes("512Mi"), 512 * 1024 * 1024);
  assert.equal(sizeBytes("1G"), 1e9);
  assert.equal(sizeBytes("1Gi"), 1024 ** 3);
  assert.equal(sizeBytes(4096), 4096);
  assert.throws(() => sizeBytes("lots"));
});

test("port specs", () => {
  assert.deepEqual(parsePortSpec("5432/tcp"), { from: 5432, to: 5432, protocol: "tcp" });
  assert.deepEqual(parsePortSpec("53/udp"), { from: 53, to: 53, protocol: "udp" });
  assert.deepEqual(parsePortSpec("8000-8100/tcp"), { from: 8000, to: 8100, protocol: "tcp" });
  assert.deepEqual(parsePortSpec(6379), { from: 6379, to: 6379, protocol: "tcp" });
  assert.throws(() => parsePortSpec("0/tcp"));
  assert.throws(() => parsePortSpec("9-1/tcp"));
  assert.equal(formatPortRange(parsePortSpec("8000-8100/udp")), "8000-8100/udp");
});
