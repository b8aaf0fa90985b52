// One canonical JSON line per decision, in Elastic Common Schema field names, via pino.
import pino, { type DestinationStream, type Logger } from "pino";
import type { Alert, DecisionEvent, TunnelEvent } from "./events.ts";

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
  if (ev.run !== undefined) fields["corral.run"] = ev.run;
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

/** The part of the line that depends only on the decision object (decisions may be memoised). */
const decisionPart = new WeakMap<object, string>();
function decisionText(d: DecisionEvent["decision"]): string {
  let t = decisionPart.get(d);
  if (t === undefined) {
    t =
      `,"event.outcome":${d.verdict === "allow" ? '"success"' : '"failure"'}` +
      `,"rule.id":${str(d.rule.id)},"rule.name":${str(d.rule.name)}` +
      `,"corral.verdict":"${d.verdict}","corral.reason":${str(d.reason)},"corral.mode":${str(d.mode)}` +
      (d.wouldDeny ? ',"corral.would_deny":true' : "");
    decisionPart.set(d, t);
  }
  return t;
}

/** One decision as the JSON line pino would write for `logger.info(decisionFields(ev), message)`. */
export function decisionLine(ev: DecisionEvent, now = Date.now()): string {
  const d = ev.decision;
  const where = `${ev.name ?? ev.ip ?? ""}${ev.port ? `:${ev.port}` : ""}`;
  let line =
    `{"log.level":"info","time":"${isoTime(now)}","event.kind":"event","event.category":"network"` +
    `,"event.action":"gate-${ev.transport}","event.duration":${Math.round(ev.latencyMs * 1e6)}` +
    `,"source.ip":${str(ev.sourceIp)},"corral.identity":${ev.identity === undefined ? "null" : str(ev.identity)}` +
    decisionText(d);
  if (ev.name !== undefined) line += `,"destination.domain":${str(ev.name)}`;
  if (ev.ip !== undefined) line += `,"destination.ip":${str(ev.ip)}`;
  if (ev.port !== undefined) line += `,"destination.port":${ev.port}`;
  if (ev.nxdomain) line += ',"dns.response_code":"NXDOMAIN"';
  if (ev.approvalId) line += `,"corral.approval_id":${str(ev.approvalId)}`;
  if (ev.run !== undefined) line += `,"corral.run":${str(ev.run)}`;
  return `${line},"message":${str(`${d.verdict} ${where} ${d.reason}`)}}\n`;
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
  else
    for (let i = 0; i < times; i++)
      logger.info(decisionFields(ev), `${ev.decision.verdict} ${ev.name ?? ev.ip ?? ""} ${ev.decision.reason}`);
}
