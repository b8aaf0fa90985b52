// RFC 6962 / 9162 Merkle trees: the root as the RFC defines it (recursively, checked against
// the bottom-up fold), and consistency proofs that verify for every prefix and fail for every
// altered history: a changed record, a removed tail, a fork, a wrong size.
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { test } from "node:test";
import fc from "fast-check";
import { consistencyProof, leafHash, rootHash, verifyConsistency } from "./merkle.ts";

const leaves = (n: number, salt = "") =>
  Array.from({ length: n }, (_, i) => leafHash(Buffer.from(`record ${i}${salt}`)));

/** The RFC's own recursive definition, to hold the bottom-up fold to it. */
function rfcRoot(d: Buffer[]): Buffer {
  if (d.length === 0) return createHash("sha256").digest();
  if (d.length === 1) return d[0]!;
  let k = 1;
  while (k * 2 < d.length) k *= 2;
  return createHash("sha256")
    .update(Buffer.from([1]))
    .update(rfcRoot(d.slice(0, k)))
    .update(rfcRoot(d.slice(k)))
    .digest();
}

test("the root is RFC 6962's MTH; the empty tree is SHA-256 of nothing; leaves are domain-separated", () => {
  assert.equal(rootHash([]).toString("hex"), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  assert.equal(
    leafHash(Buffer.alloc(0)).toString("hex"),
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "RFC 6962's leaf hash of the empty entry",
  );
  for (let n = 1; n <= 70; n++) assert.ok(rootHash(leaves(n)).equals(rfcRoot(leaves(n))), `n=${n}`);
});

test("every prefix is proven consistent with every larger tree", () => {
  fc.assert(
    fc.property(fc.integer({ min: 1, max: 200 }), fc.nat(), (n, pick) => {
      const d = leaves(n);
      const m = pick % (n + 1);
      const proof = consistencyProof(m, d);
      return verifyConsistency(m, n, rootHash(d.slice(0, m)), rootHash(d), proof);
    }),
    { numRuns: 300 },
  );
});

// Sizes are bound by the signed checkpoint (size and root signed together), not by the proof:
// as in RFC 9162, a proof for one size can verify for another whose path has the same shape.
test("an altered history fails: a changed record, a fork, a cut proof", () => {
  fc.assert(
    fc.property(fc.integer({ min: 2, max: 120 }), fc.nat(), fc.nat(), (n, pickM, pickI) => {
      const d = leaves(n);
      const m = 1 + (pickM % (n - 1));
      const proof = consistencyProof(m, d);
      const first = rootHash(d.slice(0, m));
      const second = rootHash(d);
      // A record inside the old tree rewritten: the new tree no longer extends the old root.
      const forged = [...d];
      const i = pickI % m;
      forged[i] = leafHash(Buffer.from("rewritten"));
      const forgedRoot = rootHash(forged);
      const ok = [
        !verifyConsistency(m, n, first, forgedRoot, consistencyProof(m, forged)),
        !verifyConsistency(m, n, rootHash(leaves(m, "fork")), second, proof),
        proof.length === 0 || !verifyConsistency(m, n, first, second, proof.slice(1)),
      ];
      return ok.every(Boolean);
    }),
    { numRuns: 300 },
  );
});

test("a truncated log is caught against what was anchored: no proof makes a shorter tree extend a longer one", () => {
  const d = leaves(40);
  const anchored = rootHash(d);
  const truncated = d.slice(0, 32);
  assert.equal(verifyConsistency(40, 32, anchored, rootHash(truncated), []), false);
  assert.throws(() => consistencyProof(40, truncated), RangeError);
});

test("the RFC 6962 test vectors (certificate-transparency's eight leaves): every root, and the 2→5 consistency proof", () => {
  const inputs = ["", "00", "10", "2021", "3031", "40414243", "5051525354555657", "606162636465666768696a6b6c6d6e6f"];
  const d = inputs.map((h) => leafHash(Buffer.from(h, "hex")));
  const roots = [
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
  ];
  for (const [i, r] of roots.entries()) assert.equal(rootHash(d.slice(0, i + 1)).toString("hex"), r, `size ${i + 1}`);
  const proof = consistencyProof(2, d.slice(0, 5));
  assert.deepEqual(
    proof.map((b) => b.toString("hex")),
    [
      "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
      "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
    ],
  );
  assert.ok(verifyConsistency(2, 5, Buffer.from(roots[1]!, "hex"), Buffer.from(roots[4]!, "hex"), proof));
  assert.equal(verifyConsistency(6, 8, Buffer.from(roots[4]!, "hex"), Buffer.from(roots[7]!, "hex"), proof), false);
});
