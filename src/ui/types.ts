// What the dashboard is given rather than what it imports: the audit log, the audit chain's
// state and the sandbox-run history arrive as optional dependencies, so the UI never reaches
// into another capability's internals (and runs, with those panels empty, when none is given).

export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };
export type JsonObject = { [key: string]: JsonValue };

/** Who did something, in the audit log's terms. */
export interface UiActor {
  identity: string;
  ip?: string;
}

/** The part of the audit log the dashboard writes to: logins and approvals. */
export interface UiAuditSink {
  record(kind: "login" | "approval", actor: UiActor, data: JsonObject): unknown;
}

/** The audit chain as last verified, for the "audit" panel. */
export interface AuditState {
  status: "valid" | "tampered" | "unknown";
  records: number;
  lastSeq: number;
  /** Records after the last signed checkpoint: consistent, but not yet vouched for by a signature. */
  unverified: number;
  lastCheckpoint?: { seq: number; time: string; hash: string; key?: string };
  problem?: string;
  /**
   * Where checkpoints stand off the host, as the log's writer (the gate) reports it: null when
   * none are configured; absent when no writer answered.
   */
  anchors?: {
    lastSeq: number;
    targets: {
      id: string;
      kind: string;
      anchoredSize: number;
      backlog: number;
      lastError?: string;
      refused: boolean;
    }[];
  } | null;
  /** When this state was computed (ISO 8601). */
  checkedAt: string;
}

export type AuditStateFn = () => Promise<AuditState>;

/** A sealed volume (corral seal) as the host sees it now. */
export interface SealedVolumeState {
  name: string;
  initialized: boolean;
  unlocked: boolean;
  custody: string;
  version?: number;
}

export type SealStateFn = () => Promise<SealedVolumeState[]>;

/** One sandboxed run, as recorded in the audit log (kind `sandbox.run`). */
export interface SandboxRun {
  seq?: number;
  time: string;
  identity: string;
  data: JsonObject;
}

export type SandboxRunsFn = (limit: number) => Promise<SandboxRun[]>;

/** What observe mode and learn mode saw beyond the policy, and the change that would allow it. */
export interface ObservedView {
  /** each zone's mode: observed zones let through (and log) what the policy would deny */
  zones: Array<{ zone: string; mode: "enforce" | "observe" }>;
  flows: Array<{
    from: string;
    to: string;
    protocol: string;
    port: number;
    kind: "observe" | "drop";
    count: number;
    first: string;
    last: string;
  }>;
  egress: Array<{ identity: string; destination: string; count: number; first?: string; last?: string }>;
  /** the proposed change of corral.yaml as a unified diff; empty when nothing is left to add */
  diff: string;
  left: Array<{ what: string; why: string }>;
}

export type ObservedFn = () => Promise<ObservedView>;
