// Elastic Common Schema view of a record, for SIEM ingestion (`corral audit export --format ecs`).
// Field meanings follow ECS 8.x; Corral-specific fields live under `corral.*`.
import type { AuditRecord, JsonObject, JsonValue } from "./types.ts";

const CATEGORY: Record<string, string[]> = {
  "gate.decision": ["network"],
  "gate.alert": ["network", "intrusion_detection"],
  "gate.aggregate": ["network"],
  "sandbox.run": ["process"],
  "policy.load": ["configuration"],
  approval: ["iam"],
  login: ["authentication"],
  seal: ["configuration"],
  "audit.note": ["database"],
};

function str(v: JsonValue | undefined): string | undefined {
  return typeof v === "string" && v !== "" ? v : undefined;
}

/** success / failure / unknown, from whatever the producer recorded. */
export function outcome(r: AuditRecord): "success" | "failure" | "unknown" {
  const d = r.data;
  const out = str(d.outcome);
  if (out === "success" || out === "failure") return out;
  const decision = str(d.decision);
  if (decision === "allow" || decision === "report") return "success";
  if (decision === "deny") return "failure";
  if (typeof d.ok === "boolean") return d.ok ? "success" : "failure";
  if (typeof d.approved === "boolean") return d.approved ? "success" : "failure";
  const exit = typeof d.exit_code === "number" ? d.exit_code : d.exitCode;
  if (typeof exit === "number") return exit === 0 ? "success" : "failure";
  return "unknown";
}

/** "host:port", "[v6]:port" or a bare host → ECS destination fields. */
function destination(d: JsonObject): JsonObject | undefined {
  let host = str(d.host);
  let port = typeof d.port === "number" ? d.port : undefined;
  const dest = str(d.destination);
  if (!host && dest) {
    const m = /^\[([^\]]+)\]:(\d+)$/.exec(dest) ?? /^([^:]+):(\d+)$/.exec(dest);
    host = m ? m[1] : dest;
    if (m && port === undefined) port = Number(m[2]);
  }
  const ip = str(d.ip) ?? (host && /^[\d.]+$|:/.test(host) ? host : undefined);
  const out: JsonObject = {};
  if (host) {
    out.address = host;
    if (host !== ip) out.domain = host;
  }
  if (ip) out.ip = ip;
  if (port !== undefined) out.port = port;
  return Object.keys(out).length > 0 ? out : undefined;
}

export function toEcs(r: AuditRecord): JsonObject {
  const kind = r.kind === "gate.alert" ? "alert" : r.kind === "gate.aggregate" ? "metric" : "event";
  const event: JsonObject = {
    kind,
    category: CATEGORY[r.kind] ?? [],
    action: str(r.data.action) ?? r.kind,
    outcome: outcome(r),
    sequence: r.seq,
    dataset: "corral.audit",
  };
  const reason = str(r.data.reason) ?? str(r.data.rule);
  if (reason) event.reason = reason;
  const doc: JsonObject = {
    "@timestamp": r.time,
    event,
    hash: { sha256: r.hash },
    corral: { seq: r.seq, kind: r.kind, prev: r.prev, identity: r.actor.identity, data: r.data },
  };
  const ips = r.data.source_ips;
  const onlyIp = Array.isArray(ips) && ips.length === 1 ? str(ips[0]) : undefined;
  const sourceIp = r.actor.ip ?? str(r.data.source_ip) ?? onlyIp;
  if (sourceIp) doc.source = { ip: sourceIp };
  const dest = destination(r.data);
  if (dest) doc.destination = dest;
  const user = str(r.data.user);
  if (user || r.kind === "login" || r.kind === "approval") doc.user = { name: user ?? r.actor.identity };
  return doc;
}
