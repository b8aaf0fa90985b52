// Upstream answers kept for their TTL, bounded: the oldest entry goes first when full, so a
// client asking for millions of names cannot grow the gate's memory.
import type { Packet } from "dns-packet";

export interface CacheEntry {
  packet: Packet;
  storedAt: number;
  expires: number;
}

export class TtlCache {
  private readonly max: number;
  private readonly map = new Map<string, CacheEntry>();

  constructor(max: number) {
    this.max = Math.max(1, max);
  }

  static key(name: string, type: string, cls = "IN"): string {
    return `${name.toLowerCase()}|${type}|${cls}`;
  }

  get(key: string, now: number): CacheEntry | undefined {
    const e = this.map.get(key);
    if (!e) return undefined;
    if (e.expires <= now) {
      this.map.delete(key);
      return undefined;
    }
    return e;
  }

  set(key: string, packet: Packet, ttlSeconds: number, now: number): void {
    if (ttlSeconds <= 0) return;
    this.map.delete(key);
    if (this.map.size >= this.max) {
      const oldest = this.map.keys().next();
      if (!oldest.done) this.map.delete(oldest.value);
    }
    this.map.set(key, { packet, storedAt: now, expires: now + ttlSeconds * 1000 });
  }

  get size(): number {
    return this.map.size;
  }

  clear(): void {
    this.map.clear();
  }
}
