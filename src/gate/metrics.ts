// Prometheus metrics, one registry per gate (tests run several gates in one process).
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from "prom-client";
import type { DecisionEvent } from "./events.ts";

const BUCKETS = [0.0001, 0.0005, 0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5];

export class GateMetrics {
  readonly registry = new Registry();
  readonly decisions: Counter<"identity" | "verdict" | "rule" | "transport">;
  readonly latency: Histogram<"transport">;
  readonly tunnels: Gauge;
  readonly connections: Gauge;
  readonly bytes: Counter<"direction">;
  readonly alerts: Counter<"kind">;
  readonly reloads: Counter<"result">;

  constructor() {
    const registers = [this.registry];
    // Process metrics (heap, RSS, open fds, event-loop lag): how soak and leaks show up.
    collectDefaultMetrics({ register: this.registry });
    this.decisions = new Counter({
      name: "corral_gate_decisions_total",
      help: "decisions by identity, verdict and rule",
      labelNames: ["identity", "verdict", "rule", "transport"],
      registers,
    });
    this.latency = new Histogram({
      name: "corral_gate_decision_seconds",
      help: "time from request to decision (including resolution)",
      labelNames: ["transport"],
      buckets: BUCKETS,
      registers,
    });
    this.tunnels = new Gauge({ name: "corral_gate_active_tunnels", help: "open CONNECT tunnels", registers });
    this.connections = new Gauge({
      name: "corral_gate_proxy_connections",
      help: "open proxy client connections",
      registers,
    });
    this.bytes = new Counter({
      name: "corral_gate_bytes_total",
      help: "bytes relayed",
      labelNames: ["direction"],
      registers,
    });
    this.alerts = new Counter({
      name: "corral_gate_alerts_total",
      help: "anomaly alerts",
      labelNames: ["kind"],
      registers,
    });
    this.reloads = new Counter({
      name: "corral_gate_policy_reloads_total",
      help: "policy reloads",
      labelNames: ["result"],
      registers,
    });
  }

  // The per-decision updates, made cheap: prom-client hashes the label object and validates it
  // on every inc()/observe() (a bound child does too), which showed in profiles at tens of
  // thousands of decisions a second. Each label set is created once through the public API;
  // after that its value cell in the metric's own table is updated in place (fastCell). The
  // cell is looked up by decision object first (decisions are memoised), then by label key.
  private readonly decisionCells = new Map<string, Cell>();
  private readonly byDecision = new WeakMap<object, { identity: string | undefined; transport: string; cell: Cell }>();
  private readonly latencyCells = new Map<string, HistCell>();

  /** `times` identical decisions (repeats answered together count as one call). */
  decision(ev: DecisionEvent, times = 1): void {
    const d = ev.decision;
    let known = this.byDecision.get(d);
    if (!known || known.identity !== ev.identity || known.transport !== ev.transport) {
      const identity = ev.identity ?? "unknown";
      const key = `${identity}\0${d.verdict}\0${d.rule.id}\0${ev.transport}`;
      let cell = this.decisionCells.get(key);
      if (!cell) {
        // Bounded like the label space itself (identities × rules); reset if reloads churned it.
        if (this.decisionCells.size > 10_000) this.decisionCells.clear();
        cell = counterCell(this.decisions, { identity, verdict: d.verdict, rule: d.rule.id, transport: ev.transport });
        this.decisionCells.set(key, cell);
      }
      known = { identity: ev.identity, transport: ev.transport, cell };
      this.byDecision.set(d, known);
    }
    known.cell.inc(times);
    let h = this.latencyCells.get(ev.transport);
    if (!h) {
      h = histogramCell(this.latency, { transport: ev.transport });
      this.latencyCells.set(ev.transport, h);
    }
    h.observe(ev.latencyMs / 1000, times);
  }
}

interface Cell {
  inc(n?: number): void;
}
interface HistCell {
  observe(v: number, n?: number): void;
}

/** prom-client's per-label-set storage (lib/counter.js, lib/histogram.js, v15). */
type Table = Record<
  string,
  {
    labels: Record<string, string>;
    value?: number;
    sum?: number;
    count?: number;
    bucketValues?: Record<string, number>;
  }
>;

function findEntry(metric: object, labels: Record<string, string>): { table: Table; key: string } | undefined {
  const table = (metric as { hashMap?: Table }).hashMap;
  if (!table || typeof table !== "object") return undefined;
  for (const [key, e] of Object.entries(table)) {
    const l = e?.labels ?? {};
    const names = Object.keys(labels);
    if (Object.keys(l).length === names.length && names.every((n) => l[n] === labels[n])) return { table, key };
  }
  return undefined;
}

/** inc() on one label set; falls back to the public API whenever the internal cell is not there. */
function counterCell<T extends string>(c: Counter<T>, labels: Record<T, string>): Cell {
  c.inc(labels, 0);
  const found = findEntry(c, labels);
  if (!found || typeof found.table[found.key]?.value !== "number") return { inc: (n = 1) => c.inc(labels, n) };
  const { key } = found;
  return {
    inc: (n = 1) => {
      const e = (c as unknown as { hashMap: Table }).hashMap[key];
      if (e && typeof e.value === "number") e.value += n;
      else c.inc(labels, n);
    },
  };
}

function histogramCell<T extends string>(h: Histogram<T>, labels: Record<T, string>, bounds = BUCKETS): HistCell {
  h.observe(labels, 0);
  const found = findEntry(h, labels);
  const e0 = found?.table[found.key];
  if (!found || !e0?.bucketValues || typeof e0.sum !== "number" || typeof e0.count !== "number")
    return {
      observe: (v, n = 1) => {
        for (let i = 0; i < n; i++) h.observe(labels, v);
      },
    };
  // The zero observed above is taken back, so the series starts as prom-client would have it.
  e0.count -= 1;
  e0.bucketValues[bounds[0]!] = (e0.bucketValues[bounds[0]!] ?? 1) - 1;
  const { key } = found;
  return {
    observe: (v, n = 1) => {
      const e = (h as unknown as { hashMap: Table }).hashMap[key];
      if (!e?.bucketValues || typeof e.sum !== "number" || typeof e.count !== "number" || !Number.isFinite(v)) {
        for (let i = 0; i < n; i++) h.observe(labels, v);
        return;
      }
      // Added one by one, as n observe() calls would: v * n can differ in the last bit.
      for (let i = 0; i < n; i++) e.sum += v;
      e.count += n;
      for (const b of bounds) {
        if (v <= b) {
          e.bucketValues[b] = (e.bucketValues[b] ?? 0) + n;
          break;
        }
      }
    },
  };
}
