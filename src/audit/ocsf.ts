// Open Cybersecurity Schema Framework (OCSF 1.3) view of a record, for SIEMs and security lakes
// that ingest OCSF (`corral audit export --format ocsf`). Each kind maps to the class a security
// engineer would look for it under; what OCSF has no attribute for stays under `unmapped.corral`.
import { outcome } from "./ecs.ts";
import type { AuditRecord, JsonObject, JsonValue } from "./types.ts";

export const OCSF_VERSION = "1.3.0";

interface ClassOf {
  class_uid: number;
  category_uid: number;
  activity_id: number;
  class_name: string;
}

function str(v: JsonValue | undefined): string | undefined {
  return typeof v === "string" && v !== "" ? v : undefined;
}

/** OCSF 1.3 HTTP Activity ids by method (CONNECT is 1); anything else is 99, Other. */
const HTTP_ACTIVITY: Record<string, number> = {
  CONNECT: 1,
  DELETE: 2,
  GET: 3,
  HEAD: 4,
  OPTIONS: 5,
  POST: 6,
  PUT: 7,
  TRACE: 8,
};

function classOf(r: AuditRecord): ClassOf {
  // The gate's records name it `protocol` (gate/subscribers.ts auditData); `transport` is older.
  const transport = str(r.data.protocol) ?? str(r.data.transport);
  switch (r.kind) {
    case "gate.decision":
    case "gate.aggregate":
      if (transport === "dns") return { class_uid: 4003, category_uid: 4, activity_id: 1, class_name: "DNS Activity" };
      if (transport === "http" || transport === "https" || transport === "connect")
        return {
          class_uid: 4002,
          category_uid: 4,
          activity_id: transport === "connect" ? 1 : (HTTP_ACTIVITY[str(r.data.method) ?? ""] ?? 99),
          class_name: "HTTP Activity",
        };
      return { class_uid: 4001, category_uid: 4, activity_id: 6, class_name: "Network Activity" };
    case "gate.alert":
      return { class_uid: 2004, category_uid: 2, activity_id: 1, class_name: "Detection Finding" };
    case "sandbox.run":
      return { class_uid: 1007, category_uid: 1, activity_id: 2, class_name: "Process Activity" };
    case "login":
      return { class_uid: 3002, category_uid: 3, activity_id: 1, class_name: "Authentication" };
    case "approval":
      return { class_uid: 3003, category_uid: 3, activity_id: 1, class_name: "Authorize Session" };
    default:
      return { class_uid: 6002, category_uid: 6, activity_id: 99, class_name: "Application Lifecycle" };
  }
}

export function toOcsf(r: AuditRecord): JsonObject {
  const c = classOf(r);
  const d = r.data;
  const result = outcome(r);
  const doc: JsonObject = {
    class_uid: c.class_uid,
    class_name: c.class_name,
    category_uid: c.category_uid,
    activity_id: c.activity_id,
    type_uid: c.class_uid * 100 + c.activity_id,
    time: Date.parse(r.time),
    severity_id: r.kind === "gate.alert" ? 4 : 1,
    status_id: result === "success" ? 1 : result === "failure" ? 2 : 0,
    metadata: {
      version: OCSF_VERSION,
      product: { name: "Corral", vendor_name: "Corral" },
      uid: r.hash,
      sequence: r.seq,
      log_name: "corral.audit",
      original_time: r.time,
    },
    actor: { user: { name: r.actor.identity } },
    unmapped: { corral: { kind: r.kind, prev: r.prev, data: d } },
  };
  const decision = str(d.decision);
  if (decision) doc.disposition_id = decision === "deny" ? 2 : 1;
  const reason = str(d.reason) ?? str(d.rule);
  if (reason) doc.status_detail = reason;
  if (r.actor.ip) doc.src_endpoint = { ip: r.actor.ip };
  const host = str(d.host) ?? str(d.name);
  const dst: JsonObject = {};
  if (host) dst[/^[\d.]+$|:/.test(host) ? "ip" : "hostname"] = host;
  if (typeof d.port === "number") dst.port = d.port;
  if (Object.keys(dst).length > 0) doc.dst_endpoint = dst;
  const method = str(d.method);
  if (method) doc.http_request = { http_method: method, url: { path: str(d.path) ?? "/", hostname: host ?? "" } };
  if (r.kind === "sandbox.run") {
    const command = Array.isArray(d.command) ? d.command.map(String) : [];
    doc.process = { cmd_line: command.join(" "), name: command[0] ?? "" };
    if (typeof d.exitCode === "number") doc.exit_code = d.exitCode;
  }
  if (r.kind === "gate.alert") doc.finding_info = { title: str(d.message) ?? str(d.kind) ?? "alert", uid: r.hash };
  return doc;
}
