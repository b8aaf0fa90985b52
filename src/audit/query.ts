// Filters for `corral audit query` / `tail`: pure, over parsed records.

import { UserError } from "../policy/user-error.ts";
import type { AuditRecord } from "./types.ts";

export class QueryError extends UserError {
  constructor(message: string, hint?: string) {
    super(message, { hint });
  }
}

const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 };
const DURATION = /^(\d+(?:\.\d+)?)(ms|s|m|h|d|w)$/;

/** "30s", "5m", "1h", "2d", "1w", "250ms" → milliseconds; undefined when not a duration. */
export function parseDuration(text: string): number | undefined {
  const m = DURATION.exec(text.trim());
  return m ? Number(m[1]) * UNIT_MS[m[2]!]! : undefined;
}

/** An ISO time, or a duration meaning that long before `now` ("1h" = an hour ago). */
export function parseTimeSpec(text: string, now: Date, flag = "time"): Date {
  const ms = parseDuration(text);
  if (ms !== undefined) return new Date(now.getTime() - ms);
  // Date.parse accepts odd forms ("1"): insist on something that starts like an ISO date.
  const t = /^\d{4}-\d{2}-\d{2}/.test(text) ? Date.parse(text) : Number.NaN;
  if (Number.isNaN(t))
    throw new QueryError(
      `--${flag} '${text}' is neither an ISO time nor a duration`,
      "use e.g. 2026-11-25T08:00:00Z, 2026-11-25, or a duration ago: 90s, 15m, 1h, 2d",
    );
  return new Date(t);
}

export interface RecordFilter {
  since?: Date;
  until?: Date;
  kinds?: string[];
  /** Exact identity, or a pattern with `*` wildcards (`agents/*`). */
  identity?: string;
}

function identityMatcher(pattern: string): (id: string) => boolean {
  if (!pattern.includes("*")) return (id) => id === pattern;
  const re = new RegExp(
    `^${pattern
      .split("*")
      .map((p) => p.replace(/[.*+?^${}()|[\]\\]/g, "\\$&"))
      .join(".*")}$`,
  );
  return (id) => re.test(id);
}

export function recordMatcher(filter: RecordFilter): (r: AuditRecord) => boolean {
  const since = filter.since?.getTime();
  const until = filter.until?.getTime();
  const kinds = filter.kinds && filter.kinds.length > 0 ? new Set(filter.kinds) : undefined;
  const identity = filter.identity ? identityMatcher(filter.identity) : undefined;
  return (r) => {
    if (since !== undefined || until !== undefined) {
      const t = Date.parse(r.time);
      if (since !== undefined && !(t >= since)) return false;
      if (until !== undefined && !(t < until)) return false;
    }
    if (kinds && !kinds.has(r.kind)) return false;
    if (identity && !identity(r.actor.identity)) return false;
    return true;
  };
}
