// The frontier against the full-leaf definitions: the same root at every size, and the same
// consistency proof from every earlier size, built from the old frontier and the new leaves only.
import assert from "node:assert/strict";
import { test } from "node:test";
import fc from "fast-check";
import { consistencyProof, leafHash, rootHash, verifyConsistency } from "./merkle.ts";
import { consistencyProofFrom, TreeError, TreeFrontier } from "./tree.ts";

const leaves = (n: number) => Array.from({ length: n }, (_, i) => leafHash(Buffer.from(`record ${i}`)));

test("the frontier's root is the RFC root at every size, and survives a save and restore", () => {
  const d = leaves(130);
  const f = TreeFrontier.empty();
  assert.ok(f.root().equals(rootHash([])));
  for (let n = 1; n <= d.length; n++) {
    f.append(d[n - 1]!);
    assert.ok(f.root().equals(rootHash(d.slice(0, n))), `n=${n}`);
    const back = TreeFrontier.from(n, f.toJSON());
    assert.ok(back.root().equals(f.root()));
  }
});

test("a consistency proof from the old frontier and the new leaves equals the full-tree proof", () => {
  fc.assert(
    fc.property(fc.integer({ min: 1, max: 300 }), fc.nat(), (n, pick) => {
      const d = leaves(n);
      const m = pick % (n + 1);
      const old = TreeFrontier.empty();
      for (const l of d.slice(0, m)) old.append(l);
      const proof = consistencyProofFrom(old, d.slice(m));
      assert.deepEqual(
        proof.map((p) => p.toString("hex")),
        consistencyProof(m, d).map((p) => p.toString("hex")),
      );
      assert.ok(verifyConsistency(m, n, rootHash(d.slice(0, m)), rootHash(d), proof));
    }),
    { numRuns: 400 },
  );
});

test("a saved frontier of the wrong shape is refused", () => {
  const f = TreeFrontier.empty();
  for (const l of leaves(5)) f.append(l);
  assert.throws(() => TreeFrontier.from(7, f.toJSON()), TreeError);
  assert.throws(() => TreeFrontier.from(5, ["x", ...f.toJSON().slice(1)]), TreeError);
});
