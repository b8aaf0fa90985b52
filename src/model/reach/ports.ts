// Port sets: "all" or a normalised list of ranges (sorted by protocol then start, merged).
import type { PortRange, Protocol } from "../types.ts";

export type PortSet = PortRange[] | "all";

const PROTOCOLS: Protocol[] = ["tcp", "udp", "sctp"];
export const MAX_PORT = 65535;

function cmp(a: PortRange, b: PortRange): number {
  if (a.protocol !== b.protocol) return PROTOCOLS.indexOf(a.protocol) - PROTOCOLS.indexOf(b.protocol);
  return a.from - b.from || a.to - b.to;
}

/** Sorts and merges overlapping or adjacent ranges; every port of every protocol becomes "all". */
export function normalise(ranges: readonly PortRange[]): PortSet {
  const sorted = ranges.map((r) => ({ from: r.from, to: r.to, protocol: r.protocol })).sort(cmp);
  const out: PortRange[] = [];
  for (const r of sorted) {
    const last = out[out.length - 1];
    if (last && last.protocol === r.protocol && r.from <= last.to + 1) last.to = Math.max(last.to, r.to);
    else out.push(r);
  }
  const full = PROTOCOLS.every((p) => out.some((r) => r.protocol === p && r.from <= 1 && r.to >= MAX_PORT));
  return full ? "all" : out;
}

export function union(a: PortSet, b: PortSet): PortSet {
  if (a === "all" || b === "all") return "all";
  return normalise([...a, ...b]);
}

export function intersect(a: PortSet, b: PortSet): PortRange[] | "all" {
  if (a === "all") return b === "all" ? "all" : normaliseList(b);
  if (b === "all") return normaliseList(a);
  const out: PortRange[] = [];
  for (const x of a) {
    for (const y of b) {
      if (x.protocol !== y.protocol) continue;
      const from = Math.max(x.from, y.from);
      const to = Math.min(x.to, y.to);
      if (from <= to) out.push({ from, to, protocol: x.protocol });
    }
  }
  return normaliseList(out);
}

function normaliseList(r: readonly PortRange[]): PortRange[] {
  const n = normalise(r);
  return n === "all" ? PROTOCOLS.map((protocol) => ({ from: 1, to: MAX_PORT, protocol })) : n;
}

export function isEmpty(p: PortSet): boolean {
  return p !== "all" && p.length === 0;
}
