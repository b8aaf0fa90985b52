import assert from "node:assert/strict";
import { test } from "node:test";
import fc from "fast-check";
import type { PortRange, Protocol } from "../types.ts";
import { intersect, isEmpty, normalise, union } from "./ports.ts";

const r = (from: number, to: number, protocol: Protocol = "tcp"): PortRange => ({ from, to, protocol });

test("normalise merges overlapping and adjacent ranges per protocol", () => {
  assert.deepEqual(normalise([r(80, 80), r(81, 90), r(85, 100), r(53, 53, "udp"), r(10, 20)]), [
    r(10, 20),
    r(80, 100),
    r(53, 53, "udp"),
  ]);
  assert.equal(normalise([r(1, 65535), r(1, 65535, "udp"), r(1, 65535, "sctp")]), "all");
});

test("intersect and union", () => {
  assert.deepEqual(intersect([r(80, 90)], [r(85, 100), r(85, 100, "udp")]), [r(85, 90)]);
  assert.deepEqual(intersect("all", [r(5, 5)]), [r(5, 5)]);
  assert.equal(intersect("all", "all"), "all");
  assert.ok(isEmpty(intersect([r(1, 2)], [r(3, 4)])));
  assert.equal(union([r(1, 2)], "all"), "all");
});

const arbRanges = fc.array(
  fc
    .tuple(fc.integer({ min: 1, max: 200 }), fc.integer({ min: 0, max: 20 }), fc.constantFrom<Protocol>("tcp", "udp"))
    .map(([from, len, protocol]) => r(from, from + len, protocol)),
  { maxLength: 6 },
);
const has = (set: PortRange[] | "all", port: number, protocol: Protocol) =>
  set === "all" || set.some((x) => x.protocol === protocol && x.from <= port && port <= x.to);

test("property: intersect/union agree with per-port membership", () => {
  fc.assert(
    fc.property(
      arbRanges,
      arbRanges,
      fc.integer({ min: 1, max: 230 }),
      fc.constantFrom<Protocol>("tcp", "udp"),
      (a, b, port, p) => {
        const inA = has(a, port, p);
        const inB = has(b, port, p);
        assert.equal(has(intersect(a, b), port, p), inA && inB);
        assert.equal(has(union(a, b), port, p), inA || inB);
      },
    ),
  );
});
