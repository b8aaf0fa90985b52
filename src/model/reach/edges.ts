// Accumulates edges keyed by (from, to), merging ports and de-duplicating reasons; emits them sorted.
import type { ReachEdge, ReachReason } from "../types.ts";
import { type PortSet, union } from "./ports.ts";

interface Acc {
  ports: PortSet;
  /** Few per edge: arrays beat a Map per edge when there are millions of edges. */
  keys: string[];
  reasons: ReachReason[];
}

const reasonKeys = new WeakMap<ReachReason, string>();

export function reasonKey(r: ReachReason): string {
  let k = reasonKeys.get(r);
  if (k === undefined) {
    const side = "side" in r ? r.side : "";
    k = `${r.kind}\u0000${side}\u0000${JSON.stringify(r, Object.keys(r).sort())}`;
    reasonKeys.set(r, k);
  }
  return k;
}

export function byString(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function push(acc: Acc, reason: ReachReason): void {
  const key = reasonKey(reason);
  if (!acc.keys.includes(key)) {
    acc.keys.push(key);
    acc.reasons.push(reason);
  }
}

export class EdgeSet {
  private readonly byFrom = new Map<string, Map<string, Acc>>();

  add(from: string, to: string, ports: PortSet, reason: ReachReason): void {
    if (from === to) return;
    push(this.acc(from, to, ports), reason);
  }

  addAll(from: string, to: string, ports: PortSet, reasons: readonly ReachReason[]): void {
    if (from === to || reasons.length === 0) return;
    const acc = this.acc(from, to, ports);
    for (const reason of reasons) push(acc, reason);
  }

  private acc(from: string, to: string, ports: PortSet): Acc {
    let tos = this.byFrom.get(from);
    if (!tos) {
      tos = new Map();
      this.byFrom.set(from, tos);
    }
    let acc = tos.get(to);
    if (!acc) {
      acc = { ports, keys: [], reasons: [] };
      tos.set(to, acc);
    } else if (acc.ports !== "all") acc.ports = union(acc.ports, ports);
    return acc;
  }

  edges(): ReachEdge[] {
    const out: ReachEdge[] = [];
    for (const from of [...this.byFrom.keys()].sort(byString)) {
      const tos = this.byFrom.get(from)!;
      for (const to of [...tos.keys()].sort(byString)) {
        const acc = tos.get(to)!;
        let reasons = acc.reasons;
        if (reasons.length > 1) {
          const order = acc.keys.map((k, i) => [k, i] as const).sort(([a], [b]) => byString(a, b));
          reasons = order.map(([, i]) => acc.reasons[i]!);
        }
        // Copies: edges built from one published port must not share mutable arrays.
        const ports = acc.ports === "all" ? "all" : acc.ports.map((r) => ({ ...r }));
        out.push({ from, to, ports, reasons });
      }
    }
    return out;
  }
}
