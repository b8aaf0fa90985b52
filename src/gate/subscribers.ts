// The gate's listeners on its bus, one per concern: each request's end (published once by a
// transport, `times` > 1 for identical repeats answered together) fans out to approvals, learn,
// the log, the metrics, the audit log, the detector and the dashboard's stream. Approvals come
// first: a denial's approval id must be on the event before the transport answers the client.
import type { Logger } from "pino";
import type { Approvals } from "./approvals.ts";
import type { Detector } from "./detect.ts";
import type { Alert, DecisionEvent, EventBus } from "./events.ts";
import type { LearnStore } from "./learn.ts";
import { logDecision } from "./log.ts";
import type { GateMetrics } from "./metrics.ts";
import { hostForm } from "./names.ts";
import { reasonText } from "./reason.ts";

type Listener = (ev: DecisionEvent, times: number) => void;

/** Denials a human may approve open a request; its id goes back to the client in a header. */
export function approvalsSubscriber(approvals: Approvals): Listener {
  return (ev) => {
    const d = ev.decision;
    if (!d.approvable || ev.outcome !== "denied" || ev.identity === undefined || ev.transport === "dns") return;
    // An address literal (`CONNECT 127.0.0.1:9`) arrives as ev.name with no d.name: the grant
    // must name that address, in the form decide() compares (ipaddr's toString).
    let ip = ev.ip;
    if (d.name === undefined && ip === undefined && ev.name !== undefined) {
      const f = hostForm(ev.name);
      if (f.kind === "ip") ip = f.addr.toString();
    }
    ev.approvalId = approvals.request(ev.identity, { name: d.name, ip, port: ev.port }, ev.time);
  };
}

export function learnSubscriber(learn: LearnStore): Listener {
  return (ev, times) => {
    const d = ev.decision;
    if (d.mode !== "learn" || d.verdict !== "allow" || ev.identity === undefined) return;
    // DNS names are kept without a port; suggest drops them where the proxy saw the port.
    for (let i = 0; i < times; i++)
      learn.record(ev.identity, d.name ?? ev.ip ?? ev.name ?? "?", ev.transport === "dns" ? undefined : ev.port);
  };
}

export const logSubscriber =
  (logger: Logger): Listener =>
  (ev, times) =>
    logDecision(logger, ev, times);

export const metricsSubscriber =
  (metrics: GateMetrics): Listener =>
  (ev, times) =>
    metrics.decision(ev, times);

/** The audit record of one request (allowed ones are aggregated per minute by the audit sink). */
export function auditData(ev: DecisionEvent): Record<string, unknown> {
  const d = ev.decision;
  const data: Record<string, unknown> = {
    decision: d.mode !== "enforce" && d.wouldDeny ? "report" : d.verdict,
    outcome: ev.outcome,
    host: d.name ?? ev.name ?? ev.ip ?? "?",
    port: ev.port ?? null,
    protocol: ev.transport,
    rule: d.rule.id,
    rule_name: d.rule.name,
    reason_code: d.code,
    reason: reasonText(d),
  };
  if (ev.status !== undefined) data.status = ev.status;
  if (ev.error !== undefined) data.error = ev.error;
  if (ev.ip !== undefined) data.ip = ev.ip;
  if (ev.run !== undefined) data.run = ev.run;
  if (ev.approvalId !== undefined) data.approval = ev.approvalId;
  if (ev.http !== undefined) {
    data.method = ev.http.method;
    data.path = ev.http.path;
  }
  // A brokered use is recorded one by one, never folded into the minute's aggregate.
  if (ev.credentials?.length) data.credentials = [...ev.credentials];
  return data;
}

export function auditSubscriber(
  audits: () => boolean,
  record: (actor: { identity: string; ip?: string }, data: Record<string, unknown>) => void,
): Listener {
  return (ev, times) => {
    if (!audits()) return;
    const actor = { identity: ev.identity ?? "unknown", ip: ev.sourceIp };
    for (let i = 0; i < times; i++) record(actor, auditData(ev));
  };
}

/**
 * The anomaly detector sees verdicts: a failure (an upstream outage) is an allowed request
 * that was not served, never a denial, so it cannot raise a deny burst.
 */
export function detectorSubscriber(detector: () => Detector, alert: (a: Alert) => void): Listener {
  return (ev, times) => {
    if (ev.identity === undefined) return;
    const d = ev.decision;
    const observation = {
      time: ev.time,
      identity: ev.identity,
      verdict: d.verdict,
      destination: ev.transport === "dns" ? undefined : (d.name ?? ev.ip ?? ev.name),
      port: ev.port,
      dns: ev.transport === "dns" && ev.outcome === "success" ? { nxdomain: ev.nxdomain === true } : undefined,
    };
    const det = detector();
    for (let i = 0; i < times; i++) for (const a of det.observe(observation)) alert(a);
  };
}

const CREDENTIAL_MISUSE = new Set(["credential-exfiltration", "credential-forbidden", "credential-scope"]);

/** A placeholder where it does not belong is an alarm on its own, not one denial of a burst. */
export function credentialAlertSubscriber(alert: (a: Alert) => void): Listener {
  return (ev, times) => {
    const d = ev.decision;
    if (!CREDENTIAL_MISUSE.has(d.code)) return;
    for (let i = 0; i < times; i++)
      alert({
        time: ev.time,
        kind: "credential_exfiltration",
        identity: ev.identity ?? `?${ev.sourceIp}`,
        message: `credential misuse by ${ev.identity ?? ev.sourceIp} toward ${ev.name ?? ev.ip ?? "?"}${ev.port ? `:${ev.port}` : ""}: ${reasonText(d)}`,
        value: 1,
        threshold: 1,
      });
  };
}

/** The one-event-per-request stream the admin API's /events and tests follow. */
export function streamSubscriber(bus: EventBus): Listener {
  return (ev, times) => {
    if (bus.listenerCount("decision") === 0) return;
    for (let i = 0; i < times; i++) bus.emit("decision", ev);
  };
}
