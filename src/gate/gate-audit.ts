// Where the gate's audit records go: into the audit log this process holds, or — a worker of
// several — to worker 1, which holds it. A failing audit write is logged once and never stops
// the gate (records already written stay verifiable).
import type { Logger } from "pino";
import type { LoadedPolicy } from "../policy/load.ts";
import type { RelayPayload } from "./cluster.ts";
import type { AuditSink } from "./events.ts";
import { diffSummary, policyDiff } from "./policy-diff.ts";

type Kind = Parameters<AuditSink["record"]>[0];
type Actor = Parameters<AuditSink["record"]>[1];

export class GateAudit {
  private failedOnce = false;
  private readonly sink: AuditSink | undefined;
  private readonly relay: { send(to: "all" | number, payload: RelayPayload): void } | undefined;
  private readonly logger: Logger;
  /** another worker holds the audit log: the policy has an audit section and there is a relay */
  private readonly relayed: () => boolean;

  constructor(
    sink: AuditSink | undefined,
    relay: { send(to: "all" | number, payload: RelayPayload): void } | undefined,
    logger: Logger,
    policyAudits: () => boolean,
  ) {
    this.sink = sink;
    this.relay = relay;
    this.logger = logger;
    this.relayed = () => relay !== undefined && policyAudits();
  }

  /** Whether decisions are audited at all (here or by worker 1). */
  get enabled(): boolean {
    return this.sink !== undefined || this.relayed();
  }

  /** Records here, or relays to worker 1; never awaited (allowed decisions are aggregated per minute). */
  record(kind: Kind, actor: Actor, data: Record<string, unknown>): void {
    if (this.sink) void this.sink.record(kind, actor, data).catch((err: Error) => this.failed(err));
    else if (this.relayed()) this.relay?.send(1, { kind: "audit", record: { kind, actor, data } });
  }

  /** Records only where the log is held (policy loads and approvals are recorded by each worker's own gate). */
  recordHere(kind: Kind, actor: Actor, data: Record<string, unknown>): void {
    if (this.sink) void this.sink.record(kind, actor, data).catch((err: Error) => this.failed(err));
  }

  /** A policy became the running one: its hash, and what changed against the previous one. */
  policyLoaded(previous: LoadedPolicy | undefined, next: LoadedPolicy, file: string | undefined): void {
    const diff = policyDiff(previous?.policy, next.policy);
    this.recordHere("policy.load", "corral", {
      file: file ?? next.file,
      sha256: next.hash,
      ok: true,
      outcome: "success",
      reload: previous !== undefined,
      previous_sha256: previous?.hash ?? null,
      diff: { ...diff, summary: diffSummary(diff) },
    });
  }

  /** A reload that failed: the error, and the policy that stays. */
  policyRejected(file: string, message: string, kept: LoadedPolicy): void {
    this.recordHere("policy.load", "corral", {
      file,
      ok: false,
      outcome: "failure",
      reload: true,
      error: message.slice(0, 4000),
      kept_sha256: kept.hash,
    });
  }

  private failed(err: Error): void {
    if (this.failedOnce) return;
    this.failedOnce = true;
    this.logger.error({ "event.action": "audit-failed", "error.message": err.message }, "audit log write failed");
  }
}
