// One canonical JSON line per request (DNS query, tunnel, forwarded request), written when it
// ends, in Elastic Common Schema field names, via pino.
import pino, { type DestinationStream, type Logger } from "pino";
import type { Alert, DecisionEvent } from "./events.ts";
import { reasonText } from "./reason.ts";

export function createLogger(dest?: DestinationStream | string, level = "info"): Logger {
  // Decision lines are batched into ≥4 KiB writes (up to sonic-boom's 16 KiB maxWrite) and
  // flushed at least every 250 ms; a crash loses at most that unwritten buffer (README).
  // (Writes of 32–64 KiB cost a little less CPU but left ~90 MB more RSS after the soak.)
  let stream: DestinationStream;
  if (typeof dest === "string" || dest === undefined) {
    const boom = pino.destination({
      dest: dest ?? 1,
      sync: false,
      mkdir: typeof dest === "string",
      minLength: 4096,
    });
    batchable(boom);
    setInterval(() => {
      try {
        boom.flush();
      } catch {}
    }, 250).unref();
    stream = boom;
  } else stream = dest;
  return pino(loggerOptions(level), stream);
}

/** The gate's pino settings (ECS level and message keys, ISO time). */
export function loggerOptions(level = "info"): pino.LoggerOptions {
  return {
    level,
    base: undefined,
    timestamp: pino.stdTimeFunctions.isoTime,
    messageKey: "message",
    formatters: { level: (label) => ({ "log.level": label }) },
  };
}

/** The ECS outcome of a request: a denial is a failure from the requester's side. */
const ecsOutcome = (ev: DecisionEvent): string => (ev.outcome === "success" ? "success" : "failure");

/** The canonical line's message: what was decided, on what, why, and what failed. */
export function decisionMessage(ev: DecisionEvent): string {
  const where = `${ev.name ?? ev.ip ?? ""}${ev.port ? `:${ev.port}` : ""}`;
  const failed = ev.error !== undefined ? `; ${ev.outcome === "failure" ? "failed" : "cut"}: ${ev.error}` : "";
  return `${ev.decision.verdict} ${where} ${reasonText(ev.decision)}${failed}`;
}

/**
 * ECS fields of one request's canonical line, in the order pino writes them (decisionLine
 * below builds the same bytes by hand; log.test.ts holds them equal).
 */
export function decisionFields(ev: DecisionEvent): Record<string, unknown> {
  const d = ev.decision;
  const fields: Record<string, unknown> = {
    "event.kind": "event",
    "event.category": "network",
    "event.action": `gate-${ev.transport}`,
    "event.duration": Math.round(ev.durationMs * 1e6),
    "source.ip": ev.sourceIp,
    "corral.identity": ev.identity ?? null,
    "event.outcome": ecsOutcome(ev),
    "corral.outcome": ev.outcome,
    "rule.id": d.rule.id,
    "rule.name": d.rule.name,
    "corral.verdict": d.verdict,
    "corral.reason_code": d.code,
    "corral.reason": reasonText(d),
    "corral.mode": d.mode,
  };
  if (d.wouldDeny) fields["corral.would_deny"] = true;
  fields["corral.decision_ms"] = Math.round(ev.latencyMs * 1000) / 1000;
  if (ev.name !== undefined) fields["destination.domain"] = ev.name;
  if (ev.ip !== undefined) fields["destination.ip"] = ev.ip;
  if (ev.port !== undefined) fields["destination.port"] = ev.port;
  if (ev.status !== undefined) fields["http.response.status_code"] = ev.status;
  if (ev.rcode !== undefined) fields["dns.response_code"] = ev.rcode;
  if (ev.bytesUp !== undefined) fields["source.bytes"] = ev.bytesUp;
  if (ev.bytesDown !== undefined) fields["destination.bytes"] = ev.bytesDown;
  if (ev.error !== undefined) fields["error.message"] = ev.error;
  if (ev.droppedAnswers?.length) fields["corral.dns.dropped"] = ev.droppedAnswers;
  if (ev.approvalId) fields["corral.approval_id"] = ev.approvalId;
  if (ev.run !== undefined) fields["corral.run"] = ev.run;
  if (ev.http !== undefined) {
    fields["http.request.method"] = ev.http.method;
    fields["url.path"] = ev.http.path;
  }
  if (ev.credentials?.length) fields["corral.credentials"] = ev.credentials;
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

// The decision line, built by hand: pino's generic serialiser (asJson over a fresh fields
// object, an ISO time per line) was the largest JavaScript cost per DNS answer. The line has
// the same shape pino writes (level, time, the decisionFields, message) and goes to the
// logger's own destination, so it is batched the same way (sonic-boom, see createLogger):
// nothing is lost on clean shutdown (Gate.close flushes), a crash loses at most the buffer.
const NEEDS_ESCAPE = /["\\\u0000-\u001f\u007f-\uffff]/;
function str(s: string): string {
  return NEEDS_ESCAPE.test(s) ? JSON.stringify(s) : `"${s}"`;
}

let isoAt = -1;
let isoText = "";
function isoTime(ms: number): string {
  if (ms !== isoAt) {
    isoAt = ms;
    isoText = new Date(ms).toISOString();
  }
  return isoText;
}

/** The part of the line that depends only on the decision object (decisions may be remembered). */
const decisionPart = new WeakMap<object, string>();
function decisionText(d: DecisionEvent["decision"]): string {
  let t = decisionPart.get(d);
  if (t === undefined) {
    t =
      `,"rule.id":${str(d.rule.id)},"rule.name":${str(d.rule.name)}` +
      `,"corral.verdict":"${d.verdict}","corral.reason_code":"${d.code}","corral.reason":${str(reasonText(d))}` +
      `,"corral.mode":${str(d.mode)}` +
      (d.wouldDeny ? ',"corral.would_deny":true' : "");
    decisionPart.set(d, t);
  }
  return t;
}

/** One request's line, byte for byte what pino writes for `logger.info(decisionFields(ev), decisionMessage(ev))`. */
export function decisionLine(ev: DecisionEvent, now = Date.now()): string {
  let line =
    `{"log.level":"info","time":"${isoTime(now)}","event.kind":"event","event.category":"network"` +
    `,"event.action":"gate-${ev.transport}","event.duration":${Math.round(ev.durationMs * 1e6)}` +
    `,"source.ip":${str(ev.sourceIp)},"corral.identity":${ev.identity === undefined ? "null" : str(ev.identity)}` +
    `,"event.outcome":"${ecsOutcome(ev)}","corral.outcome":"${ev.outcome}"` +
    decisionText(ev.decision) +
    `,"corral.decision_ms":${Math.round(ev.latencyMs * 1000) / 1000}`;
  if (ev.name !== undefined) line += `,"destination.domain":${str(ev.name)}`;
  if (ev.ip !== undefined) line += `,"destination.ip":${str(ev.ip)}`;
  if (ev.port !== undefined) line += `,"destination.port":${ev.port}`;
  if (ev.status !== undefined) line += `,"http.response.status_code":${ev.status}`;
  if (ev.rcode !== undefined) line += `,"dns.response_code":${str(ev.rcode)}`;
  if (ev.bytesUp !== undefined) line += `,"source.bytes":${ev.bytesUp}`;
  if (ev.bytesDown !== undefined) line += `,"destination.bytes":${ev.bytesDown}`;
  if (ev.error !== undefined) line += `,"error.message":${str(ev.error)}`;
  if (ev.droppedAnswers?.length) line += `,"corral.dns.dropped":${JSON.stringify(ev.droppedAnswers)}`;
  if (ev.approvalId) line += `,"corral.approval_id":${str(ev.approvalId)}`;
  if (ev.run !== undefined) line += `,"corral.run":${str(ev.run)}`;
  if (ev.http !== undefined) line += `,"http.request.method":${str(ev.http.method)},"url.path":${str(ev.http.path)}`;
  if (ev.credentials?.length) line += `,"corral.credentials":${JSON.stringify(ev.credentials)}`;
  return `${line},"message":${str(decisionMessage(ev))}}\n`;
}

// Decision lines for a file or stdout destination are gathered here and handed to sonic-boom a
// few KiB at a time: sonic-boom measures the UTF-8 length of its whole pending buffer on every
// write(), which at tens of thousands of lines a second cost more than making the lines.
// Handed over at the end of the event-loop turn, when 16 KiB are gathered, and before every
// flush/flushSync (Gate.close, the 250 ms timer, pino's exit handling) — so a clean shutdown
// loses nothing and a crash loses at most this turn's lines plus sonic-boom's buffer.
interface Batch {
  text: string;
  scheduled: boolean;
  write(text: string): void;
}
const BATCH_BYTES = 16384;
const batches = new WeakMap<object, Batch>();

function batchable(boom: DestinationStream & { flush(cb?: (err?: Error) => void): void; flushSync(): void }): void {
  const write = boom.write.bind(boom);
  const batch: Batch = { text: "", scheduled: false, write };
  batches.set(boom, batch);
  const flush = boom.flush.bind(boom);
  const flushSync = boom.flushSync.bind(boom);
  boom.flush = (cb?: (err?: Error) => void) => {
    drain(batch);
    flush(cb);
  };
  boom.flushSync = () => {
    drain(batch);
    flushSync();
  };
  // Any other line (alerts, tunnels, reloads) goes after the decisions logged before it.
  boom.write = (text: string) => {
    drain(batch);
    return write(text);
  };
}

function drain(batch: Batch): void {
  if (batch.text === "") return;
  const text = batch.text;
  batch.text = "";
  batch.write(text);
}

/** Logs `times` identical decisions (one line each) at info level through the logger's destination (see decisionLine). */
export function logDecision(logger: Logger, ev: DecisionEvent, times = 1): void {
  if (!logger.isLevelEnabled("info")) return;
  const stream = (logger as unknown as Record<symbol, DestinationStream | undefined>)[pino.symbols.streamSym];
  const batch = stream && batches.get(stream);
  if (batch) {
    const line = decisionLine(ev);
    batch.text += times === 1 ? line : line.repeat(times);
    if (batch.text.length >= BATCH_BYTES) drain(batch);
    else if (!batch.scheduled) {
      batch.scheduled = true;
      setImmediate(() => {
        batch.scheduled = false;
        drain(batch);
      });
    }
  } else if (stream) for (let i = 0; i < times; i++) stream.write(decisionLine(ev));
  else for (let i = 0; i < times; i++) logger.info(decisionFields(ev), decisionMessage(ev));
}
