import assert from "node:assert/strict";
import { test } from "node:test";
import { blockHasPublic, isAllInterfaces, isLoopback } from "./address.ts";

test("host addresses", () => {
  assert.ok(isAllInterfaces("0.0.0.0"));
  assert.ok(isAllInterfaces("::"));
  assert.ok(isAllInterfaces("[::]"));
  assert.ok(isAllInterfaces("10.0.0.1", true));
  assert.ok(!isAllInterfaces("127.0.0.1"));
  assert.ok(isLoopback("127.0.0.1"));
  assert.ok(isLoopback("127.1.2.3"));
  assert.ok(isLoopback("::1"));
  assert.ok(isLoopback("[::1]"));
  assert.ok(isLoopback("localhost"));
  assert.ok(!isLoopback("192.168.1.10"));
  assert.ok(!isLoopback("0.0.0.0"));
});

test("ipBlocks that contain public addresses", () => {
  assert.ok(blockHasPublic("0.0.0.0/0", []));
  assert.ok(blockHasPublic("0.0.0.0/0", ["10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "169.254.169.254/32"]));
  assert.ok(!blockHasPublic("10.0.0.0/8", []));
  assert.ok(!blockHasPublic("192.168.0.0/16", []));
  assert.ok(!blockHasPublic("100.64.0.0/10", []));
  assert.ok(blockHasPublic("1.1.1.1/32", []));
  assert.ok(!blockHasPublic("1.1.1.1/32", ["1.1.1.0/24"]));
  assert.ok(blockHasPublic("::/0", []));
  assert.ok(!blockHasPublic("::/0", ["2000::/3"]));
  assert.ok(!blockHasPublic("fc00::/7", []));
  assert.ok(!blockHasPublic("not-a-cidr", []));
  // A host address with host bits set still names its network.
  assert.ok(blockHasPublic("8.8.8.8/24", []));
});
