// The in-place metric updates must read exactly as prom-client's own inc()/observe() would.
import assert from "node:assert/strict";
import { test } from "node:test";
import { Counter, Histogram, Registry } from "prom-client";
import type { DecisionEvent } from "./events.ts";
import { GateMetrics } from "./metrics.ts";

function ev(
  identity: string | undefined,
  verdict: "allow" | "deny",
  ms: number,
  transport: DecisionEvent["transport"],
) {
  return {
    time: 0,
    transport,
    sourceIp: "127.0.0.1",
    identity,
    decision: {
      verdict,
      mode: "enforce",
      code: verdict === "allow" ? "listed" : "unlisted",
      rule: { id: verdict === "allow" ? "r1" : "default", name: "n" },
    },
    outcome: verdict === "allow" ? "success" : "denied",
    latencyMs: ms,
    durationMs: ms,
  } satisfies DecisionEvent;
}

test("decision counters and latency histogram equal prom-client's own updates", async () => {
  const m = new GateMetrics();
  const reg = new Registry();
  const counter = new Counter({
    name: "corral_gate_decisions_total",
    help: "requests by identity, verdict, outcome (success, denied, failure), rule and reason code",
    labelNames: ["identity", "verdict", "outcome", "rule", "reason", "transport"],
    registers: [reg],
  });
  const hist = new Histogram({
    name: "corral_gate_decision_seconds",
    help: "time from request to decision (including resolution), requests answered in JavaScript",
    labelNames: ["transport"],
    buckets: [0.0001, 0.0005, 0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5],
    registers: [reg],
  });
  const shared = ev("a", "allow", 0.3, "dns");
  const events = [
    shared,
    shared,
    ev("a", "deny", 0, "http"),
    ev(undefined, "deny", 7000, "dns"),
    shared,
    ev("b", "allow", 0.05, "connect"),
    { ...ev("a", "allow", 9, "dns"), outcome: "failure" as const, error: "upstream: timeout" },
  ];
  // The last two come as repeats: one call standing for 5 and 3 identical decisions.
  const times = [1, 1, 1, 1, 1, 1, 1, 5, 3];
  for (const [i, e] of [...events, { ...shared, identity: "b" }, ev("c", "allow", 0.002, "dns")].entries()) {
    m.decision(e, times[i]);
    for (let k = 0; k < times[i]!; k++) {
      counter.inc({
        identity: e.identity ?? "unknown",
        verdict: e.decision.verdict,
        outcome: e.outcome,
        rule: e.decision.rule.id,
        reason: e.decision.code,
        transport: e.transport,
      });
      // Repeats from the native table are counted, not timed (metrics.ts).
      if (times[i] === 1) hist.observe({ transport: e.transport }, e.latencyMs / 1000);
    }
  }
  const ours = await m.registry.getSingleMetricAsString("corral_gate_decisions_total");
  assert.equal(ours, await reg.getSingleMetricAsString("corral_gate_decisions_total"));
  const h = await m.registry.getSingleMetricAsString("corral_gate_decision_seconds");
  assert.equal(h, await reg.getSingleMetricAsString("corral_gate_decision_seconds"));
});
