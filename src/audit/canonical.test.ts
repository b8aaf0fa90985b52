import assert from "node:assert/strict";
import { test } from "node:test";
import fc from "fast-check";
import { canonicalize } from "./canonical.ts";

test("keys are sorted at every depth, no whitespace", () => {
  assert.equal(canonicalize({ b: 1, a: { d: [true, null], c: "x" } }), '{"a":{"c":"x","d":[true,null]},"b":1}');
});

test("undefined members are dropped, toJSON is applied, non-JSON values are refused", () => {
  assert.equal(
    canonicalize({ a: undefined, b: [undefined], t: new Date(0) }),
    '{"b":[null],"t":"1970-01-01T00:00:00.000Z"}',
  );
  assert.throws(() => canonicalize({ x: Number.POSITIVE_INFINITY }), /\$\.x: Infinity is not a JSON number/);
  assert.throws(() => canonicalize({ x: 1n }), /bigint cannot be stored/);
});

test("canonical form is a fixed point of parse + canonicalize, and equals JSON for sorted input", () => {
  fc.assert(
    fc.property(fc.jsonValue(), (v) => {
      const c = canonicalize(v);
      assert.equal(canonicalize(JSON.parse(c)), c);
      assert.deepEqual(JSON.parse(c), JSON.parse(JSON.stringify(v)));
    }),
  );
});
