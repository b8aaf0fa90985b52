// Policy values written for people (`60s`, `512Mi`, `8000-8100/tcp`) turned into numbers.
import { PORT_SPEC } from "./schema.ts";
import { UserError } from "./user-error.ts";

export interface PortRange {
  from: number;
  to: number;
  protocol: "tcp" | "udp" | "sctp";
}

const DURATION_UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** Milliseconds from a number of seconds or a string like `500ms`, `60s`, `5m`, `1h`. */
export function durationMs(value: number | string): number {
  if (typeof value === "number") return value * 1000;
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h)$/.exec(value);
  if (!m) throw new UserError(`not a duration: ${value}`, { hint: "write it like 500ms, 60s, 5m or 1h" });
  return Number(m[1]) * (DURATION_UNITS[m[2]!] ?? 1);
}

const SIZE_UNITS: Record<string, number> = {
  "": 1,
  k: 1e3,
  kb: 1e3,
  K: 1e3,
  KB: 1e3,
  Ki: 1024,
  m: 1e6,
  mb: 1e6,
  M: 1e6,
  MB: 1e6,
  Mi: 1024 ** 2,
  g: 1e9,
  gb: 1e9,
  G: 1e9,
  GB: 1e9,
  Gi: 1024 ** 3,
  t: 1e12,
  tb: 1e12,
  T: 1e12,
  TB: 1e12,
  Ti: 1024 ** 4,
};

/** Bytes from a number or a string like `512Mi`, `1G`, `500m`. */
export function sizeBytes(value: number | string): number {
  if (typeof value === "number") return value;
  const m = /^(\d+(?:\.\d+)?)([A-Za-z]*)$/.exec(value);
  const unit = m ? SIZE_UNITS[m[2]!] : undefined;
  if (!m || unit === undefined)
    throw new UserError(`not a size: ${value}`, { hint: "write it like 512Mi, 1Gi or 500M" });
  return Math.round(Number(m[1]) * unit);
}

/** `5432/tcp`, `53/udp`, `8000-8100/tcp`, `5432` (tcp). Throws on a malformed or out-of-range spec. */
export function parsePortSpec(spec: string | number): PortRange {
  const m = PORT_SPEC.exec(String(spec));
  if (!m) throw new UserError(`not a port: ${spec}`, { hint: "write it like 5432/tcp, 53/udp or 8000-8100/tcp" });
  const from = Number(m[1]);
  const to = m[2] === undefined ? from : Number(m[2]);
  if (from < 1 || to > 65535 || from > to)
    throw new UserError(`port out of range: ${spec}`, { hint: "ports are 1-65535, the first not above the last" });
  return { from, to, protocol: (m[3] as PortRange["protocol"] | undefined) ?? "tcp" };
}

export function formatPortRange(p: PortRange): string {
  return `${p.from === p.to ? p.from : `${p.from}-${p.to}`}/${p.protocol}`;
}
