// Allowed gate decisions are the bulk of the traffic and individually uninteresting: when the
// policy says `aggregate_allowed`, they become one `gate.aggregate` record per identity,
// destination and minute. Denials, alerts, runs, approvals and everything else stay individual.
import type { AuditSink } from "./sink.ts";
import type { Actor, AuditKind, JsonObject, Receipt } from "./types.ts";

const MINUTE = 60_000;
const MAX_IPS = 16;

interface Bucket {
  minute: number;
  identity: string;
  destination: string;
  count: number;
  first: string;
  last: string;
  ips: Set<string>;
  rules: Set<string>;
  waiters: { resolve: (r: Receipt) => void; reject: (e: Error) => void }[];
}

export interface AggregatorOptions {
  now?: () => Date;
  /** Flush on the minute boundary with a timer (default true; tests drive tick() instead). */
  timer?: boolean;
}

function destinationOf(data: JsonObject): string {
  if (typeof data.destination === "string") return data.destination;
  const host = typeof data.host === "string" ? data.host : "?";
  return typeof data.port === "number" ? `${host}:${data.port}` : host;
}

export function isAggregatable(kind: AuditKind, data: JsonObject): boolean {
  return kind === "gate.decision" && data.decision === "allow" && data.credentials === undefined;
}

export class AggregatingSink implements AuditSink {
  private readonly inner: AuditSink;
  private readonly now: () => Date;
  private readonly buckets = new Map<string, Bucket>();
  private timer: NodeJS.Timeout | undefined;
  private readonly useTimer: boolean;
  private closed = false;

  constructor(inner: AuditSink, opts: AggregatorOptions = {}) {
    this.inner = inner;
    this.now = opts.now ?? (() => new Date());
    this.useTimer = opts.timer ?? true;
  }

  /**
   * Aggregated records resolve when their minute is flushed (up to a minute later): do not
   * await them on a request path.
   */
  record(kind: AuditKind, actor: string | Actor, data: JsonObject): Promise<Receipt> {
    if (this.closed) return Promise.reject(new Error("audit sink is closed"));
    void this.tick();
    if (!isAggregatable(kind, data)) return this.inner.record(kind, actor, data);
    const a = typeof actor === "string" ? { identity: actor } : actor;
    const at = this.now();
    const minute = Math.floor(at.getTime() / MINUTE) * MINUTE;
    const destination = destinationOf(data);
    const key = `${minute}\u0000${a.identity}\u0000${destination}`;
    let b = this.buckets.get(key);
    if (!b) {
      b = {
        minute,
        identity: a.identity,
        destination,
        count: 0,
        first: at.toISOString(),
        last: at.toISOString(),
        ips: new Set(),
        rules: new Set(),
        waiters: [],
      };
      this.buckets.set(key, b);
    }
    b.count++;
    b.last = at.toISOString();
    if (a.ip && b.ips.size < MAX_IPS) b.ips.add(a.ip);
    if (typeof data.rule === "string" && b.rules.size < MAX_IPS) b.rules.add(data.rule);
    this.arm();
    return new Promise((resolve, reject) => b.waiters.push({ resolve, reject }));
  }

  /** Writes the buckets of minutes that have ended. */
  tick(): Promise<void> {
    const current = Math.floor(this.now().getTime() / MINUTE) * MINUTE;
    return this.flushWhere((b) => b.minute < current);
  }

  /** Writes every bucket, the current minute's too. */
  flush(): Promise<void> {
    return this.flushWhere(() => true);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    await this.flush();
    await this.inner.close();
  }

  private arm(): void {
    if (!this.useTimer || this.timer) return;
    const wait = MINUTE - (this.now().getTime() % MINUTE) + 50;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      void this.tick();
      if (this.buckets.size > 0) this.arm();
    }, wait);
    this.timer.unref();
  }

  private async flushWhere(pred: (b: Bucket) => boolean): Promise<void> {
    const due = [...this.buckets.entries()].filter(([, b]) => pred(b));
    due.sort(([, a], [, b]) => a.minute - b.minute || a.first.localeCompare(b.first));
    const writes = due.map(([key, b]) => {
      this.buckets.delete(key);
      const data: JsonObject = {
        decision: "allow",
        destination: b.destination,
        minute: new Date(b.minute).toISOString(),
        count: b.count,
        first: b.first,
        last: b.last,
        source_ips: [...b.ips],
        rules: [...b.rules],
      };
      return this.inner.record("gate.aggregate", { identity: b.identity }, data).then(
        (r) => {
          for (const w of b.waiters) w.resolve(r);
        },
        (e: Error) => {
          for (const w of b.waiters) w.reject(e);
        },
      );
    });
    await Promise.all(writes);
  }
}
