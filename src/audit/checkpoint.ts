// Signed checkpoints: Ed25519 (node:crypto) over a domain-separated encoding of (seq, hash, time).
// A checkpoint proves that, when it was written, the record at `seq` had hash `hash`; since every
// hash covers its predecessor, it pins the whole chain up to `seq`. Pure: keys are passed in.
import { createHash, type KeyObject, sign, verify } from "node:crypto";
import { canonicalize } from "./canonical.ts";
import type { Checkpoint } from "./types.ts";

const DOMAIN = "corral-audit-checkpoint/v1";
const CHECKPOINT_KEYS = ["hash", "key", "seq", "sig", "time"];

/** The signed bytes: canonical JSON of {domain, hash, seq, time}. */
export function checkpointMessage(seq: number, hash: string, time: string): Buffer {
  return Buffer.from(canonicalize({ domain: DOMAIN, hash, seq, time }), "utf8");
}

export function keyId(publicKey: KeyObject): string {
  const der = publicKey.export({ type: "spki", format: "der" });
  return createHash("sha256").update(der).digest("hex").slice(0, 16);
}

export function signCheckpoint(
  seq: number,
  hash: string,
  time: string,
  privateKey: KeyObject,
  publicKey: KeyObject,
): { checkpoint: Checkpoint; line: string } {
  const sig = sign(null, checkpointMessage(seq, hash, time), privateKey).toString("base64");
  const checkpoint: Checkpoint = { seq, hash, time, key: keyId(publicKey), sig };
  return { checkpoint, line: `${canonicalize(checkpoint)}\n` };
}

export type CheckpointCheck = { ok: true; checkpoint: Checkpoint } | { ok: false; problem: string; seq?: number };

/** Checks one checkpoints.jsonl line (without "\n"): shape, canonical bytes, key id, signature. */
export function checkCheckpointLine(bytes: Uint8Array, publicKey: KeyObject, expectedKeyId: string): CheckpointCheck {
  let value: unknown;
  try {
    value = JSON.parse(Buffer.from(bytes).toString("utf8"));
  } catch {
    return { ok: false, problem: "checkpoint is not valid JSON" };
  }
  if (value === null || typeof value !== "object" || Array.isArray(value))
    return { ok: false, problem: "checkpoint is not an object" };
  const c = value as Record<string, unknown>;
  const seq = Number.isSafeInteger(c.seq) ? (c.seq as number) : undefined;
  if (Object.keys(c).sort().join(",") !== CHECKPOINT_KEYS.join(","))
    return { ok: false, problem: `checkpoint members are not [${CHECKPOINT_KEYS.join(", ")}]`, seq };
  if (
    seq === undefined ||
    seq < 1 ||
    typeof c.hash !== "string" ||
    typeof c.time !== "string" ||
    typeof c.key !== "string" ||
    typeof c.sig !== "string"
  )
    return { ok: false, problem: "checkpoint members have the wrong types", seq };
  if (!Buffer.from(canonicalize(c), "utf8").equals(Buffer.from(bytes)))
    return { ok: false, problem: "checkpoint line is not in canonical form (bytes altered)", seq };
  if (c.key !== expectedKeyId)
    return {
      ok: false,
      problem: `checkpoint signed by key ${c.key}, but the given public key is ${expectedKeyId}`,
      seq,
    };
  const sig = Buffer.from(c.sig, "base64");
  // Base64 decoding ignores stray characters; insist on the exact encoding so no byte is free.
  if (sig.toString("base64") !== c.sig) return { ok: false, problem: "checkpoint signature is not base64", seq };
  const ok = verify(null, checkpointMessage(seq, c.hash, c.time), publicKey, sig);
  if (!ok) return { ok: false, problem: "checkpoint signature does not verify", seq };
  return { ok: true, checkpoint: c as unknown as Checkpoint };
}
