// From learned destinations to a reviewed egress allowlist: names only (the floor already
// keeps addresses out), subdomains grouped into `*.parent` when three or more siblings share a
// parent and a port, counts kept as comments so a reviewer sees what each line is based on.
import { stringify } from "yaml";
import type { Learned } from "./learn.ts";

export interface SuggestedEntry {
  destination: string;
  count: number;
  /** the learned destinations folded into a wildcard */
  members: string[];
}

/** A learned destination key, `host:port` or `[v6]:port` (the port absent for names seen only in DNS). */
export function splitKey(key: string): { host: string; port?: string } {
  const m = /^(?:\[(.+)\]|([^:]+))(?::(\d+))?$/.exec(key);
  if (!m) return { host: key };
  return { host: m[1] ?? m[2]!, port: m[3] };
}

export function suggestEntries(destinations: Record<string, number>, minSiblings = 3): SuggestedEntry[] {
  const groups = new Map<string, { host: string; count: number }[]>();
  const singles: SuggestedEntry[] = [];
  // A name learned from DNS (no port) is covered by the same name learned with a port.
  const withPort = new Set(
    Object.keys(destinations)
      .map(splitKey)
      .filter((k) => k.port !== undefined)
      .map((k) => k.host),
  );
  for (const [key, count] of Object.entries(destinations)) {
    const { host, port } = splitKey(key);
    if (port === undefined && withPort.has(host)) continue;
    const labels = host.split(".");
    if (labels.length < 3 || /^[\d.]+$/.test(host) || host.includes(":")) {
      singles.push({ destination: key, count, members: [key] });
      continue;
    }
    const g = `${labels.slice(1).join(".")}|${port ?? ""}`;
    const list = groups.get(g) ?? [];
    list.push({ host, count });
    groups.set(g, list);
  }
  const out: SuggestedEntry[] = [...singles];
  for (const [g, members] of groups) {
    const [parent, port] = g.split("|") as [string, string];
    const suffix = port ? `:${port}` : "";
    if (members.length >= minSiblings) {
      out.push({
        destination: `*.${parent}${suffix}`,
        count: members.reduce((s, m) => s + m.count, 0),
        members: members.map((m) => m.host + suffix).sort(),
      });
    } else
      for (const m of members) out.push({ destination: m.host + suffix, count: m.count, members: [m.host + suffix] });
  }
  return out.sort((a, b) => a.destination.localeCompare(b.destination));
}

/** The `egress:` YAML to paste into corral.yaml, one rule per learned identity. */
export function suggestYaml(learned: Learned, opts: { minSiblings?: number; source?: string } = {}): string {
  const lines: string[] = [
    `# suggested by corral policy suggest${opts.source ? ` from ${opts.source}` : ""}`,
    "# review every line before enforcing: counts are requests seen in learn mode",
    "egress:",
  ];
  const identities = Object.keys(learned).sort();
  if (identities.length === 0) return `${lines.join("\n")} []\n`;
  for (const identity of identities) {
    const entries = suggestEntries(learned[identity] ?? {}, opts.minSiblings);
    lines.push(`  - from: ${stringify(identity).trim()}`, "    mode: enforce", "    allow:");
    for (const e of entries) {
      const folded =
        e.members.length > 1
          ? ` (${e.members.length} names: ${e.members.slice(0, 5).join(", ")}${e.members.length > 5 ? ", …" : ""})`
          : "";
      lines.push(`      - ${JSON.stringify(e.destination)}  # ${e.count} request${e.count === 1 ? "" : "s"}${folded}`);
    }
  }
  return `${lines.join("\n")}\n`;
}
