// Server-side sessions: the cookie carries only a random id; the CSRF synchronizer token lives
// beside it and is handed to the page, never set as a cookie. Sessions end on logout, after
// an idle period, or at an absolute age, whichever comes first.
import { randomBytes, timingSafeEqual } from "node:crypto";

export interface Session {
  id: string;
  csrf: string;
  created: number;
  lastSeen: number;
  ip: string;
}

export interface SessionOptions {
  idleMs: number;
  absoluteMs: number;
  /** Oldest sessions are dropped beyond this many. */
  max: number;
}

export const DEFAULT_SESSIONS: SessionOptions = { idleMs: 30 * 60_000, absoluteMs: 12 * 3_600_000, max: 64 };

function token(): string {
  return randomBytes(32).toString("base64url");
}

export function sameToken(a: string | undefined, b: string): boolean {
  if (typeof a !== "string") return false;
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

export class SessionStore {
  private readonly opts: SessionOptions;
  private readonly byId = new Map<string, Session>();
  private readonly endListeners = new Set<(id: string) => void>();

  constructor(opts: Partial<SessionOptions> = {}) {
    this.opts = { ...DEFAULT_SESSIONS, ...opts };
  }

  create(ip: string, now: number): Session {
    this.sweep(now);
    while (this.byId.size >= this.opts.max) {
      const oldest = this.byId.keys().next().value;
      if (oldest === undefined) break;
      this.end(oldest);
    }
    const session: Session = { id: token(), csrf: token(), created: now, lastSeen: now, ip };
    this.byId.set(session.id, session);
    return session;
  }

  /** The live session for a cookie value, refreshing its idle timer; undefined when unknown or expired. */
  get(id: string | undefined, now: number, touch = true): Session | undefined {
    if (!id) return undefined;
    const s = this.byId.get(id);
    if (!s) return undefined;
    if (now - s.lastSeen > this.opts.idleMs || now - s.created > this.opts.absoluteMs) {
      this.end(id);
      return undefined;
    }
    if (touch) s.lastSeen = now;
    return s;
  }

  end(id: string): void {
    if (this.byId.delete(id)) for (const fn of this.endListeners) fn(id);
  }

  /** Called when a session ends, so long-lived streams opened under it can be closed. */
  onEnd(fn: (id: string) => void): () => void {
    this.endListeners.add(fn);
    return () => this.endListeners.delete(fn);
  }

  /** Seconds a fresh cookie should live: the absolute limit (idle expiry is enforced server-side). */
  get cookieMaxAgeSeconds(): number {
    return Math.floor(this.opts.absoluteMs / 1000);
  }

  sweep(now: number): void {
    for (const id of [...this.byId.keys()]) this.get(id, now, false);
  }

  get size(): number {
    return this.byId.size;
  }
}
