// Building a record line (writer side) and checking one (verifier side). Pure: no I/O.
import { CanonicalError, canonicalize, sha256Hex } from "./canonical.ts";
import type { Actor, AuditRecord, JsonObject } from "./types.ts";

const HEX64 = /^[0-9a-f]{64}$/;
const RECORD_KEYS = ["actor", "data", "hash", "kind", "prev", "seq", "time"];

export function normalizeActor(actor: string | Actor): Actor {
  const a = typeof actor === "string" ? { identity: actor } : actor;
  if (typeof a?.identity !== "string" || a.identity === "")
    throw new CanonicalError("actor.identity must be a non-empty string (a policy identity, user or 'corral')");
  const out: Actor = { identity: a.identity };
  if (a.ip !== undefined) out.ip = String(a.ip);
  return out;
}

export interface BuiltRecord {
  record: AuditRecord;
  /** Canonical encoding with the hash and a trailing "\n": exactly what goes to disk. */
  line: string;
}

/**
 * Encodes each member once and splices `hash` in at its sorted position, so the writer does not
 * canonicalize the record twice. `canonicalize(record) + "\n" === line` holds (tested).
 */
export function buildRecord(
  seq: number,
  time: string,
  kind: string,
  actor: string | Actor,
  data: JsonObject,
  prev: string,
): BuiltRecord {
  if (data === null || typeof data !== "object" || Array.isArray(data))
    throw new CanonicalError("data must be a JSON object");
  const a = normalizeActor(actor);
  const head = `{"actor":${canonicalize(a, "actor")},"data":${canonicalize(data, "data")}`;
  const tail = `"kind":${JSON.stringify(kind)},"prev":${JSON.stringify(prev)},"seq":${seq},"time":${JSON.stringify(time)}}`;
  const hash = sha256Hex(`${head},${tail}`);
  const line = `${head},"hash":"${hash}",${tail}\n`;
  // `data` as given: its canonical form (what a reader parses back) is what was hashed.
  const record: AuditRecord = { seq, time, kind, actor: a, data, prev, hash };
  return { record, line };
}

export function recordHash(record: Omit<AuditRecord, "hash"> & { hash?: string }): string {
  const { hash: _ignored, ...body } = record;
  return sha256Hex(canonicalize(body));
}

export type LineCheck = { ok: true; record: AuditRecord } | { ok: false; problem: string };

/** Checks one stored line (without its "\n") on its own: shape, canonical bytes, own hash. */
export function checkRecordLine(bytes: Uint8Array): LineCheck {
  let value: unknown;
  try {
    value = JSON.parse(Buffer.from(bytes).toString("utf8"));
  } catch {
    return { ok: false, problem: "not valid JSON (line altered or torn)" };
  }
  if (value === null || typeof value !== "object" || Array.isArray(value))
    return { ok: false, problem: "not a record object" };
  const r = value as Record<string, unknown>;
  const keys = Object.keys(r).sort();
  if (keys.join(",") !== RECORD_KEYS.join(","))
    return { ok: false, problem: `record members are [${keys.join(", ")}], expected [${RECORD_KEYS.join(", ")}]` };
  if (!Number.isSafeInteger(r.seq) || (r.seq as number) < 1)
    return { ok: false, problem: "seq is not a positive integer" };
  if (typeof r.time !== "string" || typeof r.kind !== "string") return { ok: false, problem: "time/kind not strings" };
  const actor = r.actor as Record<string, unknown> | null;
  if (actor === null || typeof actor !== "object" || typeof actor.identity !== "string")
    return { ok: false, problem: "actor.identity missing" };
  if (r.data === null || typeof r.data !== "object" || Array.isArray(r.data))
    return { ok: false, problem: "data is not an object" };
  if (typeof r.prev !== "string" || !HEX64.test(r.prev)) return { ok: false, problem: "prev is not a SHA-256 hex" };
  if (typeof r.hash !== "string" || !HEX64.test(r.hash)) return { ok: false, problem: "hash is not a SHA-256 hex" };
  let canonical: string;
  try {
    canonical = canonicalize(r);
  } catch (err) {
    return { ok: false, problem: (err as Error).message };
  }
  if (!Buffer.from(canonical, "utf8").equals(Buffer.from(bytes)))
    return { ok: false, problem: "line is not in canonical form (bytes altered)" };
  const record = r as unknown as AuditRecord;
  if (recordHash(record) !== record.hash)
    return { ok: false, problem: "hash does not match the record's content (record altered)" };
  return { ok: true, record };
}
