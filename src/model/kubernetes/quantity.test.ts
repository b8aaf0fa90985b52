import assert from "node:assert/strict";
import { test } from "node:test";
import { parseCpu, parseMemory, parseQuantity } from "./quantity.ts";

test("memory quantities in bytes", () => {
  assert.equal(parseMemory("1Gi"), 1073741824);
  assert.equal(parseMemory("512Mi"), 512 * 1024 * 1024);
  assert.equal(parseMemory("64Ki"), 65536);
  assert.equal(parseMemory("1G"), 1e9);
  assert.equal(parseMemory("128M"), 128e6);
  assert.equal(parseMemory("1e3"), 1000);
  assert.equal(parseMemory(2048), 2048);
  assert.equal(parseMemory("lots"), undefined);
});

test("cpu quantities in cores", () => {
  assert.equal(parseCpu("500m"), 0.5);
  assert.equal(parseCpu("2"), 2);
  assert.equal(parseCpu("0.25"), 0.25);
  assert.equal(parseCpu(1.5), 1.5);
  assert.equal(parseQuantity("1.5Gi"), 1.5 * 2 ** 30);
});
