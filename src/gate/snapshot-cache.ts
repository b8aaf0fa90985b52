// What the transports remember between requests, owned by one policy snapshot (its index): a
// reload builds a new index and so starts with an empty cache, and nothing outlives the policy
// it was computed from. Bounded; each map is cleared whole when full (its entries are cheap to
// recompute, and clearing keeps the worst case flat).
import type { Decision } from "./decide.ts";
import type { EncodedAnswer } from "./dns/encoded-answer.ts";
import type { Caller } from "./identity.ts";
import type { Route } from "./proxy/route.ts";

export class BoundedMap<K, V> {
  private readonly map = new Map<K, V>();
  private readonly max: number;
  constructor(max: number) {
    this.max = max;
  }

  get(key: K): V | undefined {
    return this.map.get(key);
  }

  set(key: K, value: V): void {
    if (this.map.size >= this.max) this.map.clear();
    this.map.set(key, value);
  }

  get size(): number {
    return this.map.size;
  }
}

export class SnapshotCache {
  /** (identity, port, name) → decision, for decisions that do not depend on grants */
  readonly decisions = new BoundedMap<string, Decision>(8192);
  /** (identity, port, address literal) → route */
  readonly literalRoutes = new BoundedMap<string, Route>(8192);
  /** source address → caller */
  readonly callers = new BoundedMap<string, Caller>(10_000);
  /** DNS question → the encoded answer last sent for one cached upstream answer */
  readonly answers = new BoundedMap<string, EncodedAnswer>(4096);
}
