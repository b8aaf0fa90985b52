// One canonical JSON line per decision, in Elastic Common Schema field names, via pino.
import pino, { type DestinationStream, type Logger } from "pino";
import type { Alert, DecisionEvent, TunnelEvent } from "./events.ts";

export function createLogger(dest?: DestinationStream | string, level = "info"): Logger {
  // Decision lines are batched into ≥4 KiB writes (one syscall per few dozen decisions) and
  // flushed at least every 250 ms, so the log costs little at tens of thousands of decisions/s.
  let stream: DestinationStream;
  if (typeof dest === "string" || dest === undefined) {
    const boom = pino.destination({ dest: dest ?? 1, sync: false, mkdir: typeof dest === "string", minLength: 4096 });
    setInterval(() => {
      try {
        boom.flush();
      } catch {}
    }, 250).unref();
    stream = boom;
  } else stream = dest;
  return pino(
    {
      level,
      base: undefined,
      timestamp: pino.stdTimeFunctions.isoTime,
      messageKey: "message",
      formatters: { level: (label) => ({ "log.level": label }) },
    },
    stream,
  );
}

/** ECS fields for one decision. */
export function decisionFields(ev: DecisionEvent): Record<string, unknown> {
  const d = ev.decision;
  const fields: Record<string, unknown> = {
    "event.kind": "event",
    "event.category": "network",
    "event.action": `gate-${ev.transport}`,
    "event.outcome": d.verdict === "allow" ? "success" : "failure",
    "event.duration": Math.round(ev.latencyMs * 1e6),
    "source.ip": ev.sourceIp,
    "rule.id": d.rule.id,
    "rule.name": d.rule.name,
    "corral.identity": ev.identity ?? null,
    "corral.verdict": d.verdict,
    "corral.reason": d.reason,
    "corral.mode": d.mode,
  };
  if (ev.name !== undefined) fields["destination.domain"] = ev.name;
  if (ev.ip !== undefined) fields["destination.ip"] = ev.ip;
  if (ev.port !== undefined) fields["destination.port"] = ev.port;
  if (d.wouldDeny) fields["corral.would_deny"] = true;
  if (ev.nxdomain) fields["dns.response_code"] = "NXDOMAIN";
  if (ev.approvalId) fields["corral.approval_id"] = ev.approvalId;
  return fields;
}

export function alertFields(a: Alert): Record<string, unknown> {
  return {
    "event.kind": "alert",
    "event.action": a.kind,
    "corral.identity": a.identity,
    "corral.alert.value": a.value,
    "corral.alert.threshold": a.threshold,
  };
}

export function tunnelFields(t: TunnelEvent): Record<string, unknown> {
  return {
    "event.kind": "event",
    "event.action": "gate-tunnel-closed",
    "corral.identity": t.identity ?? null,
    "destination.address": t.destination,
    "source.bytes": t.bytesUp,
    "destination.bytes": t.bytesDown,
    "event.duration": Math.round(t.durationMs * 1e6),
  };
}
