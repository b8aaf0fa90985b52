// Login throttling, pure (the clock is passed in). Two limits: five wrong passwords in a row
// lock the account for a while (even the right password is refused meanwhile), and each client
// address gets a bounded number of attempts per window, so one address cannot keep re-locking
// the account faster than the lock expires without also being rate limited.

export interface LockoutOptions {
  /** Consecutive failures that lock the account. */
  maxFailures: number;
  lockMs: number;
  /** Attempts (right or wrong) one address may make per window. */
  perIpAttempts: number;
  perIpWindowMs: number;
}

export const DEFAULT_LOCKOUT: LockoutOptions = {
  maxFailures: 5,
  lockMs: 15 * 60_000,
  perIpAttempts: 10,
  perIpWindowMs: 60_000,
};

export type Admission = { ok: true } | { ok: false; reason: "locked" | "rate-limited"; retryAfterMs: number };

export class LoginGuard {
  private readonly opts: LockoutOptions;
  private failures = 0;
  private lockedUntil = 0;
  private readonly attempts = new Map<string, number[]>();

  constructor(opts: Partial<LockoutOptions> = {}) {
    this.opts = { ...DEFAULT_LOCKOUT, ...opts };
  }

  /** Whether an attempt from `ip` may be checked now; an admitted attempt counts against the address. */
  admit(ip: string, now: number): Admission {
    if (now < this.lockedUntil) return { ok: false, reason: "locked", retryAfterMs: this.lockedUntil - now };
    const recent = (this.attempts.get(ip) ?? []).filter((t) => now - t < this.opts.perIpWindowMs);
    if (recent.length >= this.opts.perIpAttempts) {
      this.attempts.set(ip, recent);
      return { ok: false, reason: "rate-limited", retryAfterMs: recent[0]! + this.opts.perIpWindowMs - now };
    }
    recent.push(now);
    this.attempts.set(ip, recent);
    this.prune(now);
    return { ok: true };
  }

  /** Records a wrong password; returns the lock's end when this failure locked the account. */
  failure(now: number): { locked: boolean; lockedUntil?: number; failures: number } {
    this.failures += 1;
    const failures = this.failures;
    if (this.failures >= this.opts.maxFailures) {
      this.failures = 0;
      this.lockedUntil = now + this.opts.lockMs;
      return { locked: true, lockedUntil: this.lockedUntil, failures };
    }
    return { locked: false, failures };
  }

  success(): void {
    this.failures = 0;
  }

  lockedUntilMs(now: number): number | undefined {
    return now < this.lockedUntil ? this.lockedUntil : undefined;
  }

  // Keeps the per-address table bounded when many addresses try once and leave.
  private prune(now: number): void {
    if (this.attempts.size < 1024) return;
    for (const [ip, times] of this.attempts)
      if (times.every((t) => now - t >= this.opts.perIpWindowMs)) this.attempts.delete(ip);
  }
}
