// The audit log as an RFC 6962 / RFC 9162 Merkle tree: the root over the records' leaf hashes,
// and consistency proofs that a larger tree extends a smaller one, the proof a witness needs
// before it cosigns a new checkpoint (C2SP tlog-witness). Pure: leaf hashes in, hashes out.
import { createHash } from "node:crypto";

const LEAF = Buffer.from([0x00]);
const NODE = Buffer.from([0x01]);

const sha256 = (...parts: Buffer[]) => {
  const h = createHash("sha256");
  for (const p of parts) h.update(p);
  return h.digest();
};

/** RFC 6962 §2.1: the leaf hash of one record's bytes. */
export function leafHash(record: Uint8Array): Buffer {
  return sha256(LEAF, Buffer.from(record));
}

export function nodeHash(left: Buffer, right: Buffer): Buffer {
  return sha256(NODE, left, right);
}

/** The largest power of two smaller than n (n ≥ 2). */
function split(n: number): number {
  let k = 1;
  while (k * 2 < n) k *= 2;
  return k;
}

/** MTH(D[0:n]) over leaf hashes; the empty tree's root is SHA-256 of nothing. */
export function rootHash(leaves: readonly Buffer[]): Buffer {
  if (leaves.length === 0) return sha256();
  // Bottom-up, so a million leaves need no recursion: the pairing RFC 6962's split gives is the
  // same as folding each level left to right, carrying an odd last node up unchanged.
  let level = [...leaves];
  while (level.length > 1) {
    const next: Buffer[] = [];
    for (let i = 0; i + 1 < level.length; i += 2) next.push(nodeHash(level[i]!, level[i + 1]!));
    if (level.length % 2 === 1) next.push(level.at(-1)!);
    level = next;
  }
  return level[0]!;
}

/** RFC 9162 §2.1.4.1: the proof that the tree of the first m leaves is a prefix of all n. */
export function consistencyProof(m: number, leaves: readonly Buffer[]): Buffer[] {
  const n = leaves.length;
  if (m < 0 || m > n) throw new RangeError(`consistency proof from ${m} to ${n}`);
  if (m === 0 || m === n) return [];
  const sub = (d: readonly Buffer[], k: number, complete: boolean): Buffer[] => {
    const size = d.length;
    if (k === size) return complete ? [] : [rootHash(d)];
    const s = split(size);
    if (k <= s) return [...sub(d.slice(0, s), k, complete), rootHash(d.slice(s))];
    return [...sub(d.slice(s), k - s, false), rootHash(d.slice(0, s))];
  };
  return sub(leaves, m, true);
}

/** RFC 9162 §2.1.4.2: whether `proof` shows the tree of size n with root `second` extends size m with root `first`. */
export function verifyConsistency(
  m: number,
  n: number,
  first: Buffer,
  second: Buffer,
  proof: readonly Buffer[],
): boolean {
  if (m < 0 || m > n) return false;
  if (m === n) return proof.length === 0 && first.equals(second);
  if (m === 0) return proof.length === 0;
  if (proof.length === 0) return false;
  // When m is a power of two, the first subtree is the old root itself.
  const path = (m & (m - 1)) === 0 ? [first, ...proof] : [...proof];
  let fn = m - 1;
  let sn = n - 1;
  while ((fn & 1) === 1) {
    fn >>= 1;
    sn >>= 1;
  }
  let fr = path[0]!;
  let sr = path[0]!;
  for (const c of path.slice(1)) {
    if (sn === 0) return false;
    if ((fn & 1) === 1 || fn === sn) {
      fr = nodeHash(c, fr);
      sr = nodeHash(c, sr);
      while ((fn & 1) === 0 && fn !== 0) {
        fn >>= 1;
        sn >>= 1;
      }
    } else sr = nodeHash(sr, c);
    fn >>= 1;
    sn >>= 1;
  }
  return sn === 0 && fr.equals(first) && sr.equals(second);
}
