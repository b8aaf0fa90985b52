// The reachability graph as Mermaid or Graphviz DOT: zones (from the policy) or tiers as
// subgraphs, services as nodes, reachability edges with their ports, exposures from outside.
// With a policy, edges it does not declare are drawn red.
import type { ReachEdge } from "../model/types.ts";
import type { ScanResult } from "../scan/index.ts";
import { idOf } from "../scan/index.ts";

interface Graph {
  groups: Map<string, Array<{ key: string; label: string }>>;
  edges: Array<{ from: string; to: string; label: string; undeclared: boolean }>;
  exposures: Array<{ to: string; label: string }>;
}

function portsLabel(e: ReachEdge): string {
  if (e.ports === "all") return "all ports";
  const list = e.ports.map((p) => `${p.from === p.to ? p.from : `${p.from}-${p.to}`}/${p.protocol}`);
  return list.length > 3 ? `${list.slice(0, 3).join(", ")}, +${list.length - 3}` : list.join(", ");
}

function build(result: ScanResult): Graph {
  const key = new Map<string, string>();
  const groups = new Map<string, Array<{ key: string; label: string }>>();
  result.deployment.services.forEach((s, i) => {
    const id = idOf(s);
    key.set(id, `s${i}`);
    const group = result.policy ? (result.policy.zoneOf(s) ?? "(no zone)") : (result.tiers.get(id) ?? "agents");
    groups.set(group, [...(groups.get(group) ?? []), { key: `s${i}`, label: id }]);
  });
  const undeclared = new Set(result.undeclared);
  const edges = result.reach.edges.flatMap((e) => {
    const from = key.get(e.from);
    const to = key.get(e.to);
    return from && to ? [{ from, to, label: portsLabel(e), undeclared: undeclared.has(e) }] : [];
  });
  const exposures = result.reach.exposures.flatMap((x) => {
    const to = key.get(x.service);
    if (!to) return [];
    const where = x.allInterfaces ? "all interfaces" : (x.hostIp ?? x.kind);
    return [{ to, label: `${x.kind}${x.port ? ` ${x.port}` : ""} (${where})` }];
  });
  return { groups: new Map([...groups].sort(([a], [b]) => a.localeCompare(b))), edges, exposures };
}

function mm(text: string): string {
  return text.replace(/"/g, "#quot;");
}

export function renderMermaid(result: ScanResult): string {
  const g = build(result);
  const out = ["flowchart LR"];
  if (g.exposures.length > 0) out.push('  outside(("outside"))');
  let n = 0;
  for (const [group, nodes] of g.groups) {
    out.push(`  subgraph g${n++}["${mm(group)}"]`);
    for (const node of nodes) out.push(`    ${node.key}["${mm(node.label)}"]`);
    out.push("  end");
  }
  const red: number[] = [];
  let link = 0;
  for (const x of g.exposures) {
    out.push(`  outside -. "${mm(x.label)}" .-> ${x.to}`);
    link++;
  }
  for (const e of g.edges) {
    out.push(`  ${e.from} -- "${mm(e.label)}" --> ${e.to}`);
    if (e.undeclared) red.push(link);
    link++;
  }
  if (red.length > 0) out.push(`  linkStyle ${red.join(",")} stroke:#d00,stroke-width:2px,color:#d00`);
  return `${out.join("\n")}\n`;
}

function dq(text: string): string {
  return `"${text.replace(/\\/g, "\\\\").replace(/"/g, '\\"')}"`;
}

export function renderDot(result: ScanResult): string {
  const g = build(result);
  const out = ["digraph corral {", "  rankdir=LR;", "  node [shape=box, style=rounded];"];
  if (g.exposures.length > 0) out.push('  outside [shape=ellipse, label="outside"];');
  let n = 0;
  for (const [group, nodes] of g.groups) {
    out.push(`  subgraph cluster_${n++} {`, `    label=${dq(group)};`);
    for (const node of nodes) out.push(`    ${node.key} [label=${dq(node.label)}];`);
    out.push("  }");
  }
  for (const x of g.exposures) out.push(`  outside -> ${x.to} [style=dashed, label=${dq(x.label)}];`);
  for (const e of g.edges)
    out.push(`  ${e.from} -> ${e.to} [label=${dq(e.label)}${e.undeclared ? ", color=red, fontcolor=red" : ""}];`);
  out.push("}");
  return `${out.join("\n")}\n`;
}
