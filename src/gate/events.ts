// What the gate tells the rest of the world: every request's end and every alert, on one bus.
// The log, the metrics, the anomaly detector, learn, approvals, the /events stream and the
// audit log are subscribers; transports only publish.
import { EventEmitter } from "node:events";
import type { Decision } from "./decide.ts";

/**
 * What became of a request: served ("success"), refused by a decision ("denied"), or allowed
 * and then not served because something beyond the gate failed: an upstream resolver, a dial,
 * a timeout ("failure"). A failure is never a denial: it does not feed deny alerts.
 */
export type Outcome = "success" | "denied" | "failure";

/**
 * One request (a DNS query, a CONNECT tunnel, a forwarded HTTP request), published once, when
 * it ends: the canonical log line, the metrics, the detector, the audit record and the
 * dashboard's stream are all made from this one event.
 */
export interface DecisionEvent {
  time: number;
  /** "https": one request inside a tunnel the gate terminated (credentials, request rules) */
  transport: "dns" | "connect" | "http" | "https";
  sourceIp: string;
  identity: string | undefined;
  name?: string;
  ip?: string;
  port?: number;
  decision: Decision;
  outcome: Outcome;
  /** the HTTP status the client got (CONNECT: 200 once the tunnel was set up) */
  status?: number;
  /** DNS: the response code the client got */
  rcode?: string;
  /** client → upstream and upstream → client bytes relayed (proxy) */
  bytesUp?: number;
  bytesDown?: number;
  /** from the request to its decision (resolution included) */
  latencyMs: number;
  /** from the request to its end: a tunnel's whole life */
  durationMs: number;
  /** what failed, for outcome "failure" (and what a denied tunnel was cut for) */
  error?: string;
  /** DNS: the upstream said the name does not exist */
  nxdomain?: boolean;
  /** DNS: answers taken out because they point inside the floor */
  droppedAnswers?: readonly string[];
  /** set when an approval request was opened for this denial */
  approvalId?: string;
  /** the run whose ephemeral token made the request (identity is then the token's parent) */
  run?: string;
  /** a terminated or forwarded request's method and path (never its query: keys travel there) */
  http?: { method: string; path: string };
  /** the credentials whose real values the gate sent for this request (names only) */
  credentials?: readonly string[];
}

export interface Alert {
  time: number;
  kind: "deny_burst" | "fanout" | "port_fanout" | "nxdomain_ratio" | "first_seen" | "credential_exfiltration";
  identity: string;
  message: string;
  value: number;
  threshold: number;
}

/** The audit sink's shape (src/audit), accepted without importing it. */
import type { AuditAnchors } from "./admin/schemas.ts";

export interface AuditSink {
  record(
    kind: "gate.decision" | "gate.alert" | "policy.load" | "approval" | "login" | "sandbox.run" | "seal",
    actor: string | { identity: string; ip?: string },
    data: Record<string, unknown>,
  ): Promise<unknown>;
  close?(): Promise<void>;
  /** where checkpoints stand off the host (src/audit/sink.ts AnchorReport) */
  anchors?(): NonNullable<AuditAnchors>;
}

interface BusEvents {
  /** a request ended; `times` identical ones (DNS repeats answered together) */
  request: [DecisionEvent, number];
  /** the same, once per request: what the dashboard's stream follows */
  decision: [DecisionEvent];
  alert: [Alert];
  policy: [{ time: number; ok: boolean; hash?: string; error?: string }];
  approval: [{ time: number; id: string; status: string; actor: string; identity: string; destination: string }];
}

export class EventBus extends EventEmitter<BusEvents> {
  constructor() {
    super();
    // The SSE stream adds one listener per dashboard client.
    this.setMaxListeners(0);
  }
}
