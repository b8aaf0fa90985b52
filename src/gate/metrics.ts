// Prometheus metrics, one registry per gate (tests run several gates in one process).
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from "prom-client";
import type { AuditAnchors } from "./admin/schemas.ts";

type AnchorReport = NonNullable<AuditAnchors>;

import type { DecisionEvent } from "./events.ts";

const BUCKETS = [0.0001, 0.0005, 0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5];

export class GateMetrics {
  readonly registry = new Registry();
  readonly decisions: Counter<"identity" | "verdict" | "outcome" | "rule" | "reason" | "transport">;
  readonly repeats: Counter;
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
      help: "requests by identity, verdict, outcome (success, denied, failure), rule and reason code",
      labelNames: ["identity", "verdict", "outcome", "rule", "reason", "transport"],
      registers,
    });
    this.repeats = new Counter({
      name: "corral_gate_dns_repeats_total",
      help: "DNS answers repeated from the native table (in decisions_total, not timed in decision_seconds)",
      registers,
    });
    this.latency = new Histogram({
      name: "corral_gate_decision_seconds",
      help: "time from request to decision (including resolution), requests answered in JavaScript",
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

  /** Gauges read at scrape time from the audit log's anchoring (absent without witnesses or sinks). */
  watchAnchors(report: () => AnchorReport | undefined): void {
    const registers = [this.registry];
    const gauge = (
      name: string,
      help: string,
      value: (t: AnchorReport["targets"][number], r: AnchorReport) => number,
    ) =>
      new Gauge({
        name,
        help,
        labelNames: ["target", "kind"],
        registers,
        collect() {
          this.reset();
          const r = report();
          for (const t of r?.targets ?? []) this.set({ target: t.id, kind: t.kind }, value(t, r!));
        },
      });
    gauge(
      "corral_audit_anchored_size",
      "largest log size the target acknowledged (cosigned, for a witness)",
      (t) => t.anchoredSize,
    );
    gauge(
      "corral_audit_anchor_backlog",
      "checkpoints offered to the target and not yet acknowledged",
      (t) => t.backlog,
    );
    gauge("corral_audit_unanchored_records", "records after the target's acknowledged size", (t, r) =>
      Math.max(0, r.lastSeq - t.anchoredSize),
    );
    gauge(
      "corral_audit_anchor_refused",
      "1 when the target refused the last checkpoint (not merely unreachable)",
      (t) => (t.refused ? 1 : 0),
    );
  }

  // Label sets are few (identities × rules × outcomes) and requests many: each set's bound
  // child is made once and found again by decision object (decisions are remembered per
  // snapshot), so a request costs one WeakMap lookup and prom-client's own inc().
  private readonly decisionChildren = new Map<string, Counter.Internal>();
  private readonly byDecision = new WeakMap<
    object,
    { identity: string | undefined; transport: string; outcome: string; child: Counter.Internal }
  >();
  private readonly latencyChildren = new Map<string, Histogram.Internal<"transport">>();

  /** `times` identical requests (repeats answered together by the DNS table count as one call). */
  decision(ev: DecisionEvent, times = 1): void {
    const d = ev.decision;
    let known = this.byDecision.get(d);
    if (!known || known.identity !== ev.identity || known.transport !== ev.transport || known.outcome !== ev.outcome) {
      const identity = ev.identity ?? "unknown";
      const key = `${identity}\0${d.verdict}\0${ev.outcome}\0${d.rule.id}\0${d.code}\0${ev.transport}`;
      let child = this.decisionChildren.get(key);
      if (!child) {
        // Bounded like the label space itself; reset if reloads churned it.
        if (this.decisionChildren.size > 10_000) this.decisionChildren.clear();
        child = this.decisions.labels({
          identity,
          verdict: d.verdict,
          outcome: ev.outcome,
          rule: d.rule.id,
          reason: d.code,
          transport: ev.transport,
        });
        this.decisionChildren.set(key, child);
      }
      known = { identity: ev.identity, transport: ev.transport, outcome: ev.outcome, child };
      this.byDecision.set(d, known);
    }
    known.child.inc(times);
    if (times > 1) {
      // Answered from the kernel-side repeat table: counted, but each took well under the
      // smallest bucket and was not timed one by one.
      this.repeats.inc(times);
      return;
    }
    let h = this.latencyChildren.get(ev.transport);
    if (!h) {
      h = this.latency.labels({ transport: ev.transport });
      this.latencyChildren.set(ev.transport, h);
    }
    h.observe(ev.latencyMs / 1000);
  }
}
