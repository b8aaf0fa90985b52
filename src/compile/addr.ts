// IPv4 arithmetic on plain numbers: the address plan allocates blocks and hands out host
// addresses by offset, and the nftables compiler merges runs of addresses into ranges.
import ipaddr from "ipaddr.js";

export function ipToNum(ip: string): number {
  const bytes = ipaddr.IPv4.parse(ip).toByteArray();
  return (((bytes[0] ?? 0) << 24) >>> 0) + ((bytes[1] ?? 0) << 16) + ((bytes[2] ?? 0) << 8) + (bytes[3] ?? 0);
}

export function numToIp(n: number): string {
  return [(n >>> 24) & 255, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join(".");
}

export interface Cidr {
  base: number;
  prefix: number;
}

export function parseCidr(cidr: string): Cidr {
  const [addr, len] = ipaddr.IPv4.parseCIDR(cidr);
  const prefix = len;
  const size = 2 ** (32 - prefix);
  const base = Math.floor(ipToNum(addr.toString()) / size) * size;
  return { base, prefix };
}

export function cidrSize(c: Cidr): number {
  return 2 ** (32 - c.prefix);
}

export function formatCidr(c: Cidr): string {
  return `${numToIp(c.base)}/${c.prefix}`;
}

export function overlaps(a: Cidr, b: Cidr): boolean {
  return a.base < b.base + cidrSize(b) && b.base < a.base + cidrSize(a);
}

/** Sorted, merged runs of consecutive addresses: [first, last] inclusive. */
export function toRuns(addresses: number[]): Array<[number, number]> {
  const sorted = [...new Set(addresses)].sort((a, b) => a - b);
  const runs: Array<[number, number]> = [];
  for (const n of sorted) {
    const last = runs[runs.length - 1];
    if (last && n === last[1] + 1) last[1] = n;
    else runs.push([n, n]);
  }
  return runs;
}

/** FNV-1a, 32 bit: a stable hash for deterministic allocation (not for security). */
export function fnv1a(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h >>> 0;
}
