import assert from "node:assert/strict";
import { test } from "node:test";
import { parseBytes, parseCpus, parseInteger } from "./units.ts";

test("byte sizes as docker reads them", () => {
  assert.equal(parseBytes("512m"), 512 * 1024 ** 2);
  assert.equal(parseBytes("1gb"), 1024 ** 3);
  assert.equal(parseBytes("1G"), 1024 ** 3);
  assert.equal(parseBytes("100k"), 102400);
  assert.equal(parseBytes("100b"), 100);
  assert.equal(parseBytes("1.5g"), 1.5 * 1024 ** 3);
  assert.equal(parseBytes("2MiB"), 2 * 1024 ** 2);
  assert.equal(parseBytes(1024), 1024);
  assert.equal(parseBytes("4096"), 4096);
  assert.equal(parseBytes("lots"), undefined);
  assert.equal(parseBytes(""), undefined);
});

test("cpus and integers", () => {
  assert.equal(parseCpus("0.5"), 0.5);
  assert.equal(parseCpus(2), 2);
  assert.equal(parseCpus("x"), undefined);
  assert.equal(parseInteger("100"), 100);
  assert.equal(parseInteger(-1), -1);
  assert.equal(parseInteger("1.5"), undefined);
});
