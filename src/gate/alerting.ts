// An alert from the detector goes to the log, the metrics, the bus (dashboard), the audit log and
// the policy's webhook. The webhook is best effort and bounded: at most 16 in flight, 5 s each,
// first_seen never sent (it is information, not an alarm).
import type { Logger } from "pino";
import type { Alert, EventBus } from "./events.ts";
import { alertFields } from "./log.ts";
import type { GateMetrics } from "./metrics.ts";

const MAX_IN_FLIGHT = 16;

export class Alerting {
  private inFlight = 0;
  private readonly deps: {
    logger: Logger;
    metrics: GateMetrics;
    bus: EventBus;
    audit: (a: Alert) => void;
    webhook: () => string | undefined;
  };

  constructor(deps: Alerting["deps"]) {
    this.deps = deps;
  }

  raise(a: Alert): void {
    const { logger, metrics, bus } = this.deps;
    logger[a.kind === "first_seen" ? "info" : "warn"]({ ...alertFields(a) }, a.message);
    metrics.alerts.inc({ kind: a.kind });
    bus.emit("alert", a);
    this.deps.audit(a);
    const hook = this.deps.webhook();
    if (!hook || a.kind === "first_seen" || this.inFlight >= MAX_IN_FLIGHT) return;
    this.inFlight++;
    fetch(hook, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ ...a, "@timestamp": new Date(a.time).toISOString() }),
      signal: AbortSignal.timeout(5000),
    })
      .then((r) => r.body?.cancel())
      .catch((err: Error) =>
        logger.warn({ "event.action": "alert-webhook-failed", "error.message": err.message }, "alert webhook failed"),
      )
      .finally(() => this.inFlight--);
  }
}
