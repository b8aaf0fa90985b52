// Host-address classification for published ports and ipBlocks.
import ipaddr from "ipaddr.js";

function bare(ip: string): string {
  return ip.startsWith("[") && ip.endsWith("]") ? ip.slice(1, -1) : ip;
}

/** Bound on every interface: 0.0.0.0, ::, or no address at all. */
export function isAllInterfaces(hostIp: string, defaulted = false): boolean {
  if (defaulted) return true;
  const ip = bare(hostIp);
  return ip === "" || ip === "0.0.0.0" || ip === "::" || ip === "*";
}

export function isLoopback(hostIp: string): boolean {
  const ip = bare(hostIp);
  if (ip === "localhost") return true;
  if (!ipaddr.isValid(ip)) return false;
  const a = ipaddr.process(ip);
  return a.range() === "loopback";
}

type Interval = [bigint, bigint];

function toInterval(cidr: string): { v6: boolean; range: Interval } | undefined {
  let parsed: [ipaddr.IPv4 | ipaddr.IPv6, number];
  try {
    parsed = ipaddr.parseCIDR(cidr.trim());
  } catch {
    return undefined;
  }
  const [addr, bits] = parsed;
  const v6 = addr.kind() === "ipv6";
  const width = v6 ? 128 : 32;
  let n = 0n;
  for (const b of addr.toByteArray()) n = (n << 8n) | BigInt(b);
  const hostBits = BigInt(width - bits);
  const start = (n >> hostBits) << hostBits;
  return { v6, range: [start, start + (1n << hostBits) - 1n] };
}

function subtract(set: Interval[], cut: Interval): Interval[] {
  const out: Interval[] = [];
  for (const [a, b] of set) {
    if (cut[1] < a || cut[0] > b) {
      out.push([a, b]);
      continue;
    }
    if (cut[0] > a) out.push([a, cut[0] - 1n]);
    if (cut[1] < b) out.push([cut[1] + 1n, b]);
  }
  return out;
}

const NOT_PUBLIC_V4 = [
  "0.0.0.0/8",
  "10.0.0.0/8",
  "100.64.0.0/10",
  "127.0.0.0/8",
  "169.254.0.0/16",
  "172.16.0.0/12",
  "192.0.0.0/24",
  "192.0.2.0/24",
  "192.168.0.0/16",
  "198.18.0.0/15",
  "198.51.100.0/24",
  "203.0.113.0/24",
  "224.0.0.0/4",
  "240.0.0.0/4",
];
const GLOBAL_V6 = "2000::/3";
const NOT_PUBLIC_V6 = ["2001:db8::/32"];

/** True when `cidr` minus `except` still contains a public (internet-routable) address. */
export function blockHasPublic(cidr: string, except: readonly string[]): boolean {
  const base = toInterval(cidr);
  if (!base) return false;
  let set: Interval[] = [base.range];
  for (const e of except) {
    const cut = toInterval(e);
    if (cut && cut.v6 === base.v6) set = subtract(set, cut.range);
  }
  if (base.v6) {
    const g = toInterval(GLOBAL_V6)!.range;
    set = set.flatMap(([a, b]): Interval[] => {
      // bigint: Math.min/max do not apply.
      let lo = a;
      if (g[0] > lo) lo = g[0];
      let hi = b;
      if (g[1] < hi) hi = g[1];
      return lo <= hi ? [[lo, hi]] : [];
    });
  }
  for (const np of base.v6 ? NOT_PUBLIC_V6 : NOT_PUBLIC_V4) set = subtract(set, toInterval(np)!.range);
  return set.length > 0;
}
