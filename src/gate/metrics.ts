// Prometheus metrics, one registry per gate (tests run several gates in one process).
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from "prom-client";
import type { DecisionEvent } from "./events.ts";

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
      buckets: [0.0001, 0.0005, 0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5],
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

  decision(ev: DecisionEvent): void {
    this.decisions.inc({
      identity: ev.identity ?? "unknown",
      verdict: ev.decision.verdict,
      rule: ev.decision.rule.id,
      transport: ev.transport,
    });
    this.latency.observe({ transport: ev.transport }, ev.latencyMs / 1000);
  }
}
