// The audit log's Merkle tree kept as its frontier (the roots of the perfect subtrees that make
// up the first n leaves, largest first): O(log n) state for appending, the root at any size,
// and consistency proofs from an earlier size without the earlier leaves, only the frontier
// stored with that size's checkpoint. Pure.
import { createHash } from "node:crypto";
import { nodeHash, rootHash } from "./merkle.ts";

export class TreeError extends Error {}

export class TreeFrontier {
  private count: number;
  private readonly peaks: Buffer[];

  private constructor(count: number, peaks: Buffer[]) {
    this.count = count;
    this.peaks = peaks;
  }

  static empty(): TreeFrontier {
    return new TreeFrontier(0, []);
  }

  /** Restores a frontier saved with `toJSON()`; its peaks must match the size's binary form. */
  static from(size: number, peaks: readonly string[]): TreeFrontier {
    if (!Number.isSafeInteger(size) || size < 0) throw new TreeError(`tree size ${size} is not a count`);
    const decoded = peaks.map((p) => Buffer.from(p, "base64"));
    if (decoded.some((p, i) => p.length !== 32 || p.toString("base64") !== peaks[i]))
      throw new TreeError("a frontier hash is not base64 SHA-256");
    if (decoded.length !== popcount(size))
      throw new TreeError(`a tree of ${size} leaves has ${popcount(size)} frontier hashes, not ${decoded.length}`);
    return new TreeFrontier(size, decoded);
  }

  get size(): number {
    return this.count;
  }

  append(leaf: Buffer): void {
    let node = leaf;
    // Like a binary counter: each carry merges two equal subtrees.
    for (let s = this.count; (s & 1) === 1; s = Math.floor(s / 2)) node = nodeHash(this.peaks.pop()!, node);
    this.peaks.push(node);
    this.count++;
  }

  root(): Buffer {
    if (this.peaks.length === 0) return createHash("sha256").digest();
    let r = this.peaks.at(-1)!;
    for (let i = this.peaks.length - 2; i >= 0; i--) r = nodeHash(this.peaks[i]!, r);
    return r;
  }

  clone(): TreeFrontier {
    return new TreeFrontier(this.count, [...this.peaks]);
  }

  toJSON(): string[] {
    return this.peaks.map((p) => p.toString("base64"));
  }

  /** Perfect subtrees as [start, end, hash]. */
  ranges(): [number, number, Buffer][] {
    const out: [number, number, Buffer][] = [];
    let start = 0;
    let bit = highestPowerOfTwo(this.count);
    let i = 0;
    for (; bit >= 1; bit /= 2)
      if (Math.floor(this.count / bit) % 2 === 1) {
        out.push([start, start + bit, this.peaks[i++]!]);
        start += bit;
      }
    return out;
  }
}

function popcount(n: number): number {
  let c = 0;
  for (let s = n; s > 0; s = Math.floor(s / 2)) c += s % 2;
  return c;
}

function highestPowerOfTwo(n: number): number {
  let k = 1;
  while (k * 2 <= n) k *= 2;
  return n === 0 ? 0 : k;
}

/**
 * RFC 9162 consistency proof from size m to size m + later.length, given the frontier at m and
 * the leaf hashes after it. The proof's nodes left of m are always frontier subtrees of m.
 */
export function consistencyProofFrom(old: TreeFrontier, later: readonly Buffer[]): Buffer[] {
  const m = old.size;
  const n = m + later.length;
  if (m === 0 || later.length === 0) return [];
  const known = new Map(old.ranges().map(([a, b, h]) => [`${a}:${b}`, h]));
  const mth = (lo: number, hi: number): Buffer => {
    if (lo >= m) return rootHash(later.slice(lo - m, hi - m));
    const peak = known.get(`${lo}:${hi}`);
    if (peak) return peak;
    if (hi <= m) throw new TreeError(`subtree ${lo}..${hi} is inside the old tree, not on its frontier`);
    const k = splitPoint(hi - lo);
    return nodeHash(mth(lo, lo + k), mth(lo + k, hi));
  };
  const sub = (lo: number, hi: number, mm: number, complete: boolean): Buffer[] => {
    const size = hi - lo;
    if (mm === size) return complete ? [] : [mth(lo, hi)];
    const k = splitPoint(size);
    if (mm <= k) return [...sub(lo, lo + k, mm, complete), mth(lo + k, hi)];
    return [...sub(lo + k, hi, mm - k, false), mth(lo, lo + k)];
  };
  return sub(0, n, m, true);
}

/** The largest power of two smaller than n (n ≥ 2). */
function splitPoint(n: number): number {
  let k = 1;
  while (k * 2 < n) k *= 2;
  return k;
}
