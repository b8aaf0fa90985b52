// Clients known by name, not by address. In a compose project every replica gets its address
// from the engine (so `--scale` works), and the engine's DNS (127.0.0.11 in the gate's container)
// answers a service name with the addresses of all its replicas on the networks the gate shares
// with them. The gate asks at start, on a short interval (an address freed by one service and
// reused by another must not keep the old name for long), and when an address it does not know
// asks it something (a replica that just started), at most once per `minGapMs` so a stranger
// cannot make it ask without pause.
import { promises as dns } from "node:dns";
import type { ServiceMap } from "./service-map.ts";

/** Addresses of a name; `[]` when it has none (no replica runs); throws when the resolver fails. */
export type Lookup = (name: string) => Promise<string[]>;

export interface DiscoveryOptions {
  intervalMs?: number;
  minGapMs?: number;
  now?: () => number;
  lookup?: Lookup;
}

const NO_SUCH_NAME = new Set(["ENOTFOUND", "ENODATA"]);

/** The system resolver (the container's resolv.conf), IPv4 only: zone networks are IPv4. */
export const systemLookup: Lookup = async (name) => {
  try {
    return (await dns.lookup(name, { all: true, family: 4 })).map((a) => a.address);
  } catch (err) {
    if (NO_SUCH_NAME.has((err as NodeJS.ErrnoException).code ?? "")) return [];
    throw err;
  }
};

export class ServiceDiscovery {
  private map: ServiceMap = {};
  private inflight: Promise<void> | undefined;
  private lastRefresh = Number.NEGATIVE_INFINITY;
  private timer: NodeJS.Timeout | undefined;
  private readonly lookup: Lookup;
  private readonly now: () => number;
  private readonly intervalMs: number;
  private readonly minGapMs: number;

  private readonly names: readonly string[];
  private readonly onChange: (map: ServiceMap) => void;

  constructor(names: readonly string[], onChange: (map: ServiceMap) => void, options: DiscoveryOptions = {}) {
    this.names = names;
    this.onChange = onChange;
    this.lookup = options.lookup ?? systemLookup;
    this.now = options.now ?? Date.now;
    this.intervalMs = options.intervalMs ?? 1000;
    this.minGapMs = options.minGapMs ?? 250;
  }

  current(): ServiceMap {
    return this.map;
  }

  /** Ask for every name now (joining a refresh already under way). */
  refresh(): Promise<void> {
    this.inflight ??= this.askAll().finally(() => {
      this.inflight = undefined;
    });
    return this.inflight;
  }

  /**
   * An unknown address asked: a refresh to wait for before deciding, or undefined when one was
   * made too recently to be worth waiting for (the address is then simply unknown).
   */
  unknown(): Promise<void> | undefined {
    if (this.inflight) return this.inflight;
    if (this.now() - this.lastRefresh < this.minGapMs) return undefined;
    return this.refresh();
  }

  start(): Promise<void> {
    this.timer = setInterval(() => void this.refresh(), this.intervalMs);
    this.timer.unref();
    return this.refresh();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  private async askAll(): Promise<void> {
    this.lastRefresh = this.now();
    const next: ServiceMap = {};
    await Promise.all(
      this.names.map(async (name) => {
        try {
          next[name] = [...(await this.lookup(name))].sort();
        } catch {
          // The resolver itself failed (not "no such name"): keep what was known rather than
          // forget every client during a hiccup of the engine's DNS.
          next[name] = this.map[name] ?? [];
        }
      }),
    );
    if (sameMap(this.map, next)) return;
    this.map = next;
    this.onChange(next);
  }
}

function sameMap(a: ServiceMap, b: ServiceMap): boolean {
  const keys = Object.keys(b);
  if (keys.length !== Object.keys(a).length) return false;
  return keys.every((k) => a[k]?.join() === b[k]?.join());
}
