// The zone graph as a picture: zones as boxes, services inside, declared flows as arrows and
// reachability the policy does not declare as red arrows. Pure and deterministic: the same
// policy, services and reachability always give the same coordinates, so screenshots diff.
import type { Policy } from "../policy/index.ts";
import { formatPortRange, type PortRange, resolveFlows, zoneOf } from "../policy/index.ts";
import type { ServiceRef } from "../policy/zones.ts";

export interface ReachPair {
  from: string;
  to: string;
  ports: PortRange[] | "all";
}

export interface GraphInput {
  policy: Policy;
  services: ServiceRef[];
  /** Who can actually reach whom; undefined when unknown (then no excess can be shown). */
  reach?: ReachPair[];
}

export interface ZoneBox {
  name: string;
  /** True for the box holding services no zone claims. */
  unzoned: boolean;
  isolate?: string;
  x: number;
  y: number;
  w: number;
  h: number;
}

export interface ServiceBox {
  name: string;
  zone: string;
  x: number;
  y: number;
  w: number;
  h: number;
}

/**
 * declared: the policy allows it and it is reachable (or reachability is unknown).
 * excess: reachable, but no flow declares it.
 * missing: declared, but the deployment gives no path.
 */
export type EdgeKind = "declared" | "excess" | "missing";

export interface GraphEdge {
  from: string;
  to: string;
  kind: EdgeKind;
  /** Declared ports (declared/missing) or reachable ports (excess). */
  ports: string;
  /** Declared, but reachable on more ports than declared. */
  wider: boolean;
  /** Both ends in the same zone (drawn as a short arc; its label would sit on the boxes). */
  intraZone: boolean;
  /** SVG path data. */
  path: string;
  label: { x: number; y: number };
}

export interface GraphLayout {
  width: number;
  height: number;
  zones: ZoneBox[];
  services: ServiceBox[];
  edges: GraphEdge[];
  counts: Record<EdgeKind, number>;
}

export const UNZONED = "(no zone)";

const SERVICE_W = 170;
const SERVICE_H = 28;
const PAD = 16;
const HEADER = 30;
const ROW_GAP = 22;
const ZONE_W = SERVICE_W + 2 * PAD;
const H_GAP = 170;
const V_GAP = 110;
const MARGIN = 30;

function byString(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function round(n: number): number {
  return Math.round(n * 10) / 10;
}

const FULL: PortRange[] = [
  { from: 1, to: 65535, protocol: "tcp" },
  { from: 1, to: 65535, protocol: "udp" },
  { from: 1, to: 65535, protocol: "sctp" },
];

/** Every reachable port is inside some declared range. */
function covered(reach: PortRange[] | "all", declared: PortRange[]): boolean {
  const need = reach === "all" ? FULL : reach;
  return need.every((r) => {
    // Walk the declared ranges in order, extending the covered prefix of r.
    let next = r.from;
    const same = declared.filter((d) => d.protocol === r.protocol).sort((a, b) => a.from - b.from);
    for (const d of same) {
      if (d.from > next) break;
      if (d.to >= next) next = d.to + 1;
      if (next > r.to) return true;
    }
    return next > r.to;
  });
}

function portsText(ports: PortRange[] | "all"): string {
  // A shared zone's implicit flow (every port) swallows any narrower declared one.
  if (ports === "all" || ports.some((p) => p.from === 1 && p.to === 65535)) return "any port";
  return [...new Set(ports.map(formatPortRange))].join(", ");
}

function placeZones(policy: Policy, services: ServiceRef[]): { zones: ZoneBox[]; boxes: ServiceBox[] } {
  const members = new Map<string, string[]>();
  for (const name of Object.keys(policy.zones)) members.set(name, []);
  for (const s of [...services].sort((a, b) => byString(a.name, b.name))) {
    const zone = zoneOf(policy, s.name, s.labels ?? {}) ?? UNZONED;
    const list = members.get(zone) ?? [];
    list.push(s.name);
    members.set(zone, list);
  }
  // Policy order for zones (the author's reading order), the unzoned box last.
  const order = [...members.keys()].filter((z) => z !== UNZONED);
  if (members.has(UNZONED)) order.push(UNZONED);
  const columns = Math.max(1, Math.min(4, Math.ceil(Math.sqrt(order.length))));
  const heightOf = (zone: string) =>
    HEADER + PAD + Math.max(1, members.get(zone)!.length) * (SERVICE_H + ROW_GAP) - ROW_GAP + PAD;
  const zones: ZoneBox[] = [];
  const boxes: ServiceBox[] = [];
  let y = MARGIN;
  for (let row = 0; row * columns < order.length; row++) {
    const names = order.slice(row * columns, (row + 1) * columns);
    const rowHeight = Math.max(...names.map(heightOf));
    names.forEach((zone, col) => {
      const x = MARGIN + col * (ZONE_W + H_GAP);
      const z = policy.zones[zone];
      zones.push({
        name: zone,
        unzoned: zone === UNZONED,
        ...(z ? { isolate: z.isolate } : {}),
        x,
        y,
        w: ZONE_W,
        h: rowHeight,
      });
      members.get(zone)!.forEach((name, i) => {
        boxes.push({
          name,
          zone,
          x: x + PAD,
          y: y + HEADER + PAD + i * (SERVICE_H + ROW_GAP),
          w: SERVICE_W,
          h: SERVICE_H,
        });
      });
    });
    y += rowHeight + V_GAP;
  }
  return { zones, boxes };
}

/** Where the segment from the box's centre towards (tx, ty) leaves the box. */
function exitPoint(b: ServiceBox, tx: number, ty: number): { x: number; y: number } {
  const cx = b.x + b.w / 2;
  const cy = b.y + b.h / 2;
  const dx = tx - cx;
  const dy = ty - cy;
  if (dx === 0 && dy === 0) return { x: cx, y: cy };
  const t = Math.min(dx === 0 ? Infinity : b.w / 2 / Math.abs(dx), dy === 0 ? Infinity : b.h / 2 / Math.abs(dy));
  return { x: cx + dx * t, y: cy + dy * t };
}

function curve(a: ServiceBox, b: ServiceBox): { path: string; label: { x: number; y: number } } {
  const ax = a.x + a.w / 2;
  const ay = a.y + a.h / 2;
  const bx = b.x + b.w / 2;
  const by = b.y + b.h / 2;
  const dx = bx - ax;
  const dy = by - ay;
  const len = Math.hypot(dx, dy) || 1;
  // Bend to the right of the direction of travel, so a→b and b→a never overlap; bend more
  // inside one zone, where a straight line would cross the services stacked in between.
  const bend = a.zone === b.zone ? 40 + 0.35 * len : 18 + 0.05 * len;
  const cx = (ax + bx) / 2 + (-dy / len) * bend;
  const cy = (ay + by) / 2 + (dx / len) * bend;
  const p0 = exitPoint(a, cx, cy);
  const p2 = exitPoint(b, cx, cy);
  const path = `M${round(p0.x)},${round(p0.y)} Q${round(cx)},${round(cy)} ${round(p2.x)},${round(p2.y)}`;
  const label = { x: round(0.25 * p0.x + 0.5 * cx + 0.25 * p2.x), y: round(0.25 * p0.y + 0.5 * cy + 0.25 * p2.y) };
  return { path, label };
}

export function layoutGraph(input: GraphInput): GraphLayout {
  const { zones, boxes } = placeZones(input.policy, input.services);
  const boxOf = new Map(boxes.map((b) => [b.name, b]));
  const declared = new Map<string, { from: string; to: string; ports: PortRange[] }>();
  for (const f of resolveFlows(input.policy, input.services)) {
    const key = `${f.from}\u0000${f.to}`;
    const d = declared.get(key);
    if (d) d.ports.push(...f.ports);
    else declared.set(key, { from: f.from, to: f.to, ports: [...f.ports] });
  }
  const reach = new Map<string, ReachPair>();
  for (const r of input.reach ?? [])
    if (boxOf.has(r.from) && boxOf.has(r.to) && r.from !== r.to) reach.set(`${r.from}\u0000${r.to}`, r);

  const edges: GraphEdge[] = [];
  for (const [key, d] of declared) {
    const r = reach.get(key);
    const kind: EdgeKind = input.reach === undefined || r ? "declared" : "missing";
    const wider = r !== undefined && !covered(r.ports, d.ports);
    edges.push({
      from: d.from,
      to: d.to,
      kind,
      ports: portsText(d.ports),
      wider,
      intraZone: boxOf.get(d.from)!.zone === boxOf.get(d.to)!.zone,
      ...curve(boxOf.get(d.from)!, boxOf.get(d.to)!),
    });
  }
  for (const [key, r] of reach) {
    if (declared.has(key)) continue;
    edges.push({
      from: r.from,
      to: r.to,
      kind: "excess",
      ports: portsText(r.ports),
      wider: false,
      intraZone: boxOf.get(r.from)!.zone === boxOf.get(r.to)!.zone,
      ...curve(boxOf.get(r.from)!, boxOf.get(r.to)!),
    });
  }
  const rank: Record<EdgeKind, number> = { excess: 0, missing: 1, declared: 2 };
  // Excess first so declared arrows are drawn on top of the red ones.
  edges.sort((a, b) => rank[a.kind] - rank[b.kind] || byString(a.from, b.from) || byString(a.to, b.to));

  const width = Math.max(...zones.map((z) => z.x + z.w), 0) + MARGIN;
  const height = Math.max(...zones.map((z) => z.y + z.h), 0) + MARGIN;
  const counts: Record<EdgeKind, number> = { declared: 0, excess: 0, missing: 0 };
  for (const e of edges) counts[e.kind] += 1;
  return {
    width: Math.max(width, 2 * MARGIN),
    height: Math.max(height, 2 * MARGIN),
    zones,
    services: boxes,
    edges,
    counts,
  };
}
