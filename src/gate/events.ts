// What the gate tells the rest of the world: every decision and every alert, on one bus. The
// log, the metrics, the anomaly detector, the /events stream and (later) the audit log all
// listen here; transports only publish.
import { EventEmitter } from "node:events";
import type { Decision } from "./decide.ts";

export interface DecisionEvent {
  time: number;
  transport: "dns" | "connect" | "http";
  sourceIp: string;
  identity: string | undefined;
  name?: string;
  ip?: string;
  port?: number;
  decision: Decision;
  latencyMs: number;
  /** DNS: the upstream said the name does not exist */
  nxdomain?: boolean;
  /** set when an approval request was opened for this denial */
  approvalId?: string;
  /** the run whose ephemeral token made the request (identity is then the token's parent) */
  run?: string;
}

export interface Alert {
  time: number;
  kind: "deny_burst" | "fanout" | "port_fanout" | "nxdomain_ratio" | "first_seen";
  identity: string;
  message: string;
  value: number;
  threshold: number;
}

export interface TunnelEvent {
  time: number;
  identity: string | undefined;
  destination: string;
  bytesUp: number;
  bytesDown: number;
  durationMs: number;
}

/** The audit sink's shape (src/audit), accepted without importing it. */
export interface AuditSink {
  record(
    kind: "gate.decision" | "gate.alert" | "policy.load" | "approval" | "login" | "sandbox.run",
    actor: string | { identity: string; ip?: string },
    data: Record<string, unknown>,
  ): Promise<unknown>;
  close?(): Promise<void>;
}

interface BusEvents {
  decision: [DecisionEvent];
  alert: [Alert];
  tunnel: [TunnelEvent];
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
