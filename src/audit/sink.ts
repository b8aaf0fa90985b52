// What the gate, the sandbox and the ui depend on: record an event, get its place in the chain.
import type { AnchorStatus } from "./anchor.ts";
import type { Actor, AuditKind, JsonObject, Receipt } from "./types.ts";

export interface AnchorReport {
  /** the newest seq handed out */
  lastSeq: number;
  targets: AnchorStatus[];
}

export interface AuditSink {
  /**
   * Appends one record. Resolves once it is written (and synced, per the log's fsync mode) with
   * its seq and hash. Records from one process are chained in call order.
   */
  record(kind: AuditKind, actor: string | Actor, data: JsonObject): Promise<Receipt>;
  /** Writes everything pending (aggregates included), signs a final checkpoint, releases the log. */
  close(): Promise<void>;
  /** Where checkpoints stand off the host, when witnesses or anchor sinks are configured. */
  anchors?(): AnchorReport;
}
