// The gate's resource limits as numbers, and the per-identity counters that enforce them.
import type { GateConfig } from "../policy/schema.ts";
import { durationMs } from "../policy/units.ts";

export interface Limits {
  maxConnections: number;
  perIdentityConnections: number;
  perIdentityRps: number;
  headerBytes: number;
  headerCount: number;
  headerTimeoutMs: number;
  idleTimeoutMs: number;
  connectTimeoutMs: number;
}

export function limitsFrom(gate: GateConfig): Limits {
  const l = gate.limits;
  return {
    maxConnections: l.max_connections,
    perIdentityConnections: l.per_identity_connections,
    perIdentityRps: l.per_identity_rps,
    headerBytes: l.header_bytes,
    headerCount: l.header_count,
    headerTimeoutMs: durationMs(l.header_timeout),
    idleTimeoutMs: durationMs(l.idle_timeout),
    connectTimeoutMs: durationMs(l.connect_timeout),
  };
}

/** Token bucket per identity: `rate` requests per second, bursts up to `rate`. */
export class RateLimiter {
  private readonly buckets = new Map<string, { tokens: number; at: number }>();

  take(key: string, rate: number, now: number): boolean {
    let b = this.buckets.get(key);
    if (!b) {
      b = { tokens: rate, at: now };
      this.buckets.set(key, b);
    }
    b.tokens = Math.min(rate, b.tokens + ((now - b.at) / 1000) * rate);
    b.at = now;
    if (b.tokens < 1) return false;
    b.tokens -= 1;
    return true;
  }
}

/** Open connections per identity. */
export class ConnectionCounter {
  private readonly counts = new Map<string, number>();

  open(key: string, max: number): boolean {
    const n = this.counts.get(key) ?? 0;
    if (n >= max) return false;
    this.counts.set(key, n + 1);
    return true;
  }

  close(key: string): void {
    const n = (this.counts.get(key) ?? 1) - 1;
    if (n <= 0) this.counts.delete(key);
    else this.counts.set(key, n);
  }

  get(key: string): number {
    return this.counts.get(key) ?? 0;
  }
}
