// Per-run identities: the admin API mints a token that stands for a policy identity (its
// `parent`) and names one run, so every decision made for that token says which run asked.
// Tokens are kept only as SHA-256 digests: a lookup hashes the presented credential, which
// also keeps the comparison free of a timing oracle on the secret.
import { createHash, randomBytes } from "node:crypto";

export interface EphemeralIdentity {
  parent: string;
  run: string;
  expires: number;
}

const MAX_LIVE = 10_000;
export const MAX_TTL_MS = 24 * 3_600_000;
export const RUN_ID = /^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$/;

const digest = (token: string) => createHash("sha256").update(token).digest("hex");

export class EphemeralIdentities {
  private readonly byDigest = new Map<string, EphemeralIdentity>();
  private readonly now: () => number;

  constructor(now: () => number = Date.now) {
    this.now = now;
  }

  mint(parent: string, run: string, ttlMs: number): { token: string; expires: number; digest: string } {
    this.sweep();
    if (this.byDigest.size >= MAX_LIVE) throw new Error(`too many live run identities (${MAX_LIVE})`);
    const token = `cr_${randomBytes(24).toString("hex")}`;
    const expires = this.now() + Math.min(Math.max(ttlMs, 1000), MAX_TTL_MS);
    const d = digest(token);
    this.byDigest.set(d, { parent, run, expires });
    return { token, expires, digest: d };
  }

  /** Another worker minted it: only the digest travels, never the token. */
  adopt(d: string, entry: EphemeralIdentity): void {
    this.byDigest.set(d, entry);
  }

  release(token: string): string | undefined {
    const d = digest(token);
    return this.byDigest.delete(d) ? d : undefined;
  }

  forget(d: string): void {
    this.byDigest.delete(d);
  }

  lookup(token: string): EphemeralIdentity | undefined {
    if (this.byDigest.size === 0) return undefined;
    const d = digest(token);
    const e = this.byDigest.get(d);
    if (!e) return undefined;
    if (e.expires <= this.now()) {
      this.byDigest.delete(d);
      return undefined;
    }
    return e;
  }

  get size(): number {
    return this.byDigest.size;
  }

  private sweep(): void {
    const now = this.now();
    for (const [d, e] of this.byDigest) if (e.expires <= now) this.byDigest.delete(d);
  }
}
