// What a policy reload changed, for the audit log: zones, flows and egress rules added,
// removed or changed against the previous good policy. Pure. Zones are keyed by name; flows
// and egress rules by `name` when they have one, else by their `from → to` / `from` (with
// #2, #3 … for repeats), so reordering the file is not a change.
import type { Policy } from "../policy/schema.ts";

export interface SectionDiff {
  added: string[];
  removed: string[];
  changed: string[];
}

export interface PolicyDiff {
  zones: SectionDiff;
  flows: SectionDiff;
  egress: SectionDiff;
}

type Keyed = Map<string, string>;

function keyed<T>(items: readonly T[], key: (item: T) => string): Keyed {
  const out: Keyed = new Map();
  const seen = new Map<string, number>();
  for (const item of items) {
    const base = key(item);
    const n = (seen.get(base) ?? 0) + 1;
    seen.set(base, n);
    out.set(n === 1 ? base : `${base}#${n}`, stable(item));
  }
  return out;
}

/** JSON with sorted keys: the same rule written with its keys in another order is unchanged. */
function stable(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(stable).join(",")}]`;
  if (v && typeof v === "object") {
    const entries = Object.entries(v as Record<string, unknown>)
      .filter(([, x]) => x !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, x]) => `${JSON.stringify(k)}:${stable(x)}`).join(",")}}`;
  }
  return JSON.stringify(v);
}

function compare(before: Keyed, after: Keyed): SectionDiff {
  const d: SectionDiff = { added: [], removed: [], changed: [] };
  for (const [k, v] of after) {
    const old = before.get(k);
    if (old === undefined) d.added.push(k);
    else if (old !== v) d.changed.push(k);
  }
  for (const k of before.keys()) if (!after.has(k)) d.removed.push(k);
  return d;
}

type Sections = Pick<Policy, "zones" | "flows" | "egress">;

function sections(p: Sections | undefined): { zones: Keyed; flows: Keyed; egress: Keyed } {
  if (!p) return { zones: new Map(), flows: new Map(), egress: new Map() };
  return {
    zones: keyed(Object.entries(p.zones), ([name]) => name),
    flows: keyed(p.flows, (f) => f.name ?? `${f.from.join(",")} -> ${f.to.join(",")}`),
    egress: keyed(p.egress, (e) => e.name ?? `from ${e.from.join(",")}`),
  };
}

/** `previous` undefined: the first load, everything is added. */
export function policyDiff(previous: Sections | undefined, next: Sections): PolicyDiff {
  const a = sections(previous);
  const b = sections(next);
  // Zone entries are [name, zone] pairs: compare the zone bodies only.
  return {
    zones: compare(a.zones, b.zones),
    flows: compare(a.flows, b.flows),
    egress: compare(a.egress, b.egress),
  };
}

/** `zones +1 -0 ~2, flows …` for a log line. */
export function diffSummary(d: PolicyDiff): string {
  return (["zones", "flows", "egress"] as const)
    .map((k) => `${k} +${d[k].added.length} -${d[k].removed.length} ~${d[k].changed.length}`)
    .join(", ");
}
