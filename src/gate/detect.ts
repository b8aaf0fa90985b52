// Anomalies in an identity's traffic, over sliding windows. Pure state machine: feed it
// observations with their time, get alerts back; no clocks, no I/O. Each alert kind fires at
// most once per identity per window, so a flood produces one alert, not a flood of alerts.
// Counts live in one-second buckets with running sums, so a flood of 100k events per second
// costs O(1) per event and O(window seconds) memory, not O(events).
import type { Alert } from "./events.ts";

export interface DetectConfig {
  windowMs: number;
  denyBurst: number;
  fanout: number;
  nxdomainRatio: number;
  /** fewest DNS answers before the NXDOMAIN ratio means anything */
  nxdomainMin?: number;
  /** remembered destinations per identity for first-seen alerts */
  seenMax?: number;
  /** distinct destinations/ports tracked per identity within a window */
  distinctMax?: number;
}

export interface Observation {
  time: number;
  identity: string;
  verdict: "allow" | "deny";
  /** name or address, without port */
  destination?: string;
  port?: number;
  dns?: { nxdomain: boolean };
}

interface Bucket {
  second: number;
  denies: number;
  dns: number;
  nx: number;
}

interface Window {
  buckets: Bucket[];
  denies: number;
  dns: number;
  nx: number;
  /** destination → last seen; insertion order is recency order */
  dests: Map<string, number>;
  /** port → last seen */
  ports: Map<number, number>;
  seen: Set<string>;
  lastAlert: Map<Alert["kind"], number>;
}

export class Detector {
  private readonly cfg: Required<DetectConfig>;
  private readonly windows = new Map<string, Window>();

  constructor(cfg: DetectConfig) {
    this.cfg = { nxdomainMin: 10, seenMax: 10_000, distinctMax: 10_000, ...cfg };
  }

  private window(identity: string): Window {
    let w = this.windows.get(identity);
    if (!w) {
      w = {
        buckets: [],
        denies: 0,
        dns: 0,
        nx: 0,
        dests: new Map(),
        ports: new Map(),
        seen: new Set(),
        lastAlert: new Map(),
      };
      this.windows.set(identity, w);
    }
    return w;
  }

  private bucket(w: Window, now: number): Bucket {
    const second = Math.floor(now / 1000);
    const oldest = Math.floor((now - this.cfg.windowMs) / 1000);
    while (w.buckets.length > 0 && w.buckets[0]!.second <= oldest) {
      const b = w.buckets.shift()!;
      w.denies -= b.denies;
      w.dns -= b.dns;
      w.nx -= b.nx;
    }
    let last = w.buckets[w.buckets.length - 1];
    if (!last || last.second !== second) {
      last = { second, denies: 0, dns: 0, nx: 0 };
      w.buckets.push(last);
    }
    return last;
  }

  private static touch<K>(m: Map<K, number>, key: K, now: number, since: number, max: number): void {
    m.delete(key);
    m.set(key, now);
    // Oldest first: drop what slid out of the window, and keep the map bounded.
    for (const [k, t] of m) {
      if (t > since && m.size <= max) break;
      m.delete(k);
    }
  }

  private fire(w: Window, out: Alert[], alert: Alert): void {
    const last = w.lastAlert.get(alert.kind);
    if (last !== undefined && alert.time - last < this.cfg.windowMs) return;
    w.lastAlert.set(alert.kind, alert.time);
    out.push(alert);
  }

  observe(o: Observation): Alert[] {
    const w = this.window(o.identity);
    const b = this.bucket(w, o.time);
    const since = o.time - this.cfg.windowMs;
    const secs = this.cfg.windowMs / 1000;
    const out: Alert[] = [];
    const base = { time: o.time, identity: o.identity };
    if (o.verdict === "deny") {
      b.denies++;
      w.denies++;
      if (w.denies >= this.cfg.denyBurst) {
        this.fire(w, out, {
          ...base,
          kind: "deny_burst",
          value: w.denies,
          threshold: this.cfg.denyBurst,
          message: `${w.denies} denials within ${secs}s`,
        });
      }
    }
    if (o.destination !== undefined) {
      Detector.touch(w.dests, o.destination, o.time, since, this.cfg.distinctMax);
      if (w.dests.size >= this.cfg.fanout) {
        this.fire(w, out, {
          ...base,
          kind: "fanout",
          value: w.dests.size,
          threshold: this.cfg.fanout,
          message: `${w.dests.size} distinct destinations within ${secs}s`,
        });
      }
      if (o.port !== undefined) {
        Detector.touch(w.ports, o.port, o.time, since, this.cfg.distinctMax);
        if (w.ports.size >= this.cfg.fanout) {
          this.fire(w, out, {
            ...base,
            kind: "port_fanout",
            value: w.ports.size,
            threshold: this.cfg.fanout,
            message: `${w.ports.size} distinct ports within ${secs}s`,
          });
        }
      }
      if (o.verdict === "allow" && !w.seen.has(o.destination)) {
        if (w.seen.size >= this.cfg.seenMax) w.seen.delete(w.seen.values().next().value as string);
        w.seen.add(o.destination);
        // Not rate-limited per kind: each new destination is its own event.
        out.push({
          ...base,
          kind: "first_seen",
          value: w.seen.size,
          threshold: 0,
          message: `first connection to ${o.destination}`,
        });
      }
    }
    if (o.dns) {
      b.dns++;
      w.dns++;
      if (o.dns.nxdomain) {
        b.nx++;
        w.nx++;
      }
      if (w.dns >= this.cfg.nxdomainMin && w.nx / w.dns >= this.cfg.nxdomainRatio) {
        this.fire(w, out, {
          ...base,
          kind: "nxdomain_ratio",
          value: w.nx / w.dns,
          threshold: this.cfg.nxdomainRatio,
          message: `${w.nx} of ${w.dns} DNS answers were NXDOMAIN`,
        });
      }
    }
    return out;
  }
}
