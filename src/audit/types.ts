// The shapes stored in an audit log directory. Everything here is plain JSON so a record can be
// re-verified by any tool that can do SHA-256, sorted-key JSON and Ed25519.

/** What callers record. `audit.note` is written by the log itself (e.g. after crash recovery). */
export const AUDIT_KINDS = [
  "gate.decision",
  "gate.alert",
  "gate.aggregate",
  "sandbox.run",
  "policy.load",
  "approval",
  "login",
  "seal",
  "audit.note",
] as const;
export type AuditKind = (typeof AUDIT_KINDS)[number];

export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };
export type JsonObject = { [key: string]: JsonValue };

/** Who caused the event: a policy identity (`agents/celery`, `plugin-runs`), a user, or `corral`. */
export interface Actor {
  identity: string;
  /** Source address the identity was recognised from, when there is one. */
  ip?: string;
}

export interface AuditRecord {
  seq: number;
  time: string;
  kind: string;
  actor: Actor;
  data: JsonObject;
  /** Hash of the previous record; GENESIS_HASH for seq 1. */
  prev: string;
  /** SHA-256 hex of the canonical encoding of this record without `hash` (see canonical.ts). */
  hash: string;
}

export interface Checkpoint {
  seq: number;
  hash: string;
  time: string;
  /** Key id: first 16 hex digits of SHA-256 over the public key's SPKI DER. */
  key: string;
  /** Ed25519 signature (base64) over checkpointMessage(seq, hash, time). */
  sig: string;
  /** C2SP signed tlog-checkpoint over the Merkle tree of the first `seq` records (absent in v1 lines). */
  note?: string;
  /** The tree's frontier at `seq` (base64 SHA-256 hashes, largest subtree first). */
  frontier?: string[];
}

export interface Receipt {
  seq: number;
  hash: string;
}

export const GENESIS_HASH = "0".repeat(64);
