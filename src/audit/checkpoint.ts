// Signed checkpoints. Each checkpoints.jsonl line carries two signatures by the log's Ed25519 key:
// `sig` over (seq, chain hash, time), which pins the hash chain, and `note`, a C2SP
// tlog-checkpoint (origin, size, RFC 6962 root over the record lines, and the chain hash as an
// extension line) in signed-note form: the text a witness cosigns and a verifier compares
// against. `frontier` lets a writer resume the tree and prove consistency from this size
// without rereading the records. Lines without note and frontier (v1) still verify.
import { createHash, type KeyObject, sign, verify } from "node:crypto";
import { canonicalize } from "./canonical.ts";
import {
  checkpointText,
  keyHash,
  NoteError,
  type NoteKey,
  type NoteSigner,
  openNote,
  parseCheckpoint,
  rawPublicKey,
  type Checkpoint as SignedTreeHead,
  signerFromSeed,
  signNote,
} from "./signed-note.ts";
import type { TreeFrontier } from "./tree.ts";
import type { Checkpoint } from "./types.ts";

const DOMAIN = "corral-audit-checkpoint/v1";
const V1_KEYS = ["hash", "key", "seq", "sig", "time"];
const V2_KEYS = ["frontier", "hash", "key", "note", "seq", "sig", "time"];
const CHAIN_LINE = "corral-chain ";
/** The checkpoint origin when the policy names none (C2SP: a schema-less URL naming the log). */
export const DEFAULT_ORIGIN = "corral.local/audit";

/** The signed bytes: canonical JSON of {domain, hash, seq, time}. */
export function checkpointMessage(seq: number, hash: string, time: string): Buffer {
  return Buffer.from(canonicalize({ domain: DOMAIN, hash, seq, time }), "utf8");
}

export function keyId(publicKey: KeyObject): string {
  const der = publicKey.export({ type: "spki", format: "der" });
  return createHash("sha256").update(der).digest("hex").slice(0, 16);
}

/** The log's checkpoint key as a C2SP note signer named by the origin. */
export function noteSignerOf(origin: string, privateKey: KeyObject): NoteSigner {
  const der = Buffer.from(privateKey.export({ type: "pkcs8", format: "der" }));
  return signerFromSeed(origin, der.subarray(der.length - 32));
}

/** What verifiers and witnesses check a log's checkpoints with. */
export function noteKeyOf(origin: string, publicKey: KeyObject): NoteKey {
  return { name: origin, hash: keyHash(origin, rawPublicKey(publicKey)), publicKey };
}

export interface TreeHead {
  origin: string;
  frontier: TreeFrontier;
}

export function signCheckpoint(
  seq: number,
  hash: string,
  time: string,
  privateKey: KeyObject,
  publicKey: KeyObject,
  tree: TreeHead,
): { checkpoint: Checkpoint; line: string } {
  if (tree.frontier.size !== seq) throw new Error(`tree of ${tree.frontier.size} leaves signed as seq ${seq}`);
  const sig = sign(null, checkpointMessage(seq, hash, time), privateKey).toString("base64");
  const text = checkpointText({
    origin: tree.origin,
    size: seq,
    root: tree.frontier.root(),
    extra: [CHAIN_LINE + hash],
  });
  const note = signNote(text, noteSignerOf(tree.origin, privateKey));
  const checkpoint: Checkpoint = {
    seq,
    hash,
    time,
    key: keyId(publicKey),
    sig,
    note,
    frontier: tree.frontier.toJSON(),
  };
  return { checkpoint, line: `${canonicalize({ ...checkpoint })}\n` };
}

/** The tree head a checkpoint's note signs, or undefined for a v1 line. */
export function treeHeadOf(cp: Checkpoint): SignedTreeHead | undefined {
  if (!cp.note) return undefined;
  return parseCheckpoint(cp.note.slice(0, cp.note.lastIndexOf("\n\n") + 1));
}

export type CheckpointCheck = { ok: true; checkpoint: Checkpoint } | { ok: false; problem: string; seq?: number };

/** Checks one checkpoints.jsonl line (without "\n"): shape, canonical bytes, key id, signatures. */
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
  const keys = Object.keys(c).sort().join(",");
  const v2 = keys === V2_KEYS.join(",");
  if (!v2 && keys !== V1_KEYS.join(","))
    return { ok: false, problem: `checkpoint members are not [${V2_KEYS.join(", ")}]`, seq };
  if (
    seq === undefined ||
    seq < 1 ||
    typeof c.hash !== "string" ||
    typeof c.time !== "string" ||
    typeof c.key !== "string" ||
    typeof c.sig !== "string" ||
    (v2 && (typeof c.note !== "string" || !Array.isArray(c.frontier) || c.frontier.some((f) => typeof f !== "string")))
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
  const checkpoint = c as unknown as Checkpoint;
  if (v2) {
    const problem = noteProblem(checkpoint, publicKey);
    if (problem) return { ok: false, problem, seq };
  }
  return { ok: true, checkpoint };
}

function noteProblem(cp: Checkpoint, publicKey: KeyObject): string | undefined {
  try {
    const head = treeHeadOf(cp)!;
    if (!openNote(cp.note!, [noteKeyOf(head.origin, publicKey)]).verified.includes(head.origin))
      return "checkpoint note is not signed by the given key";
    if (head.size !== cp.seq) return `checkpoint note is for size ${head.size}, not seq ${cp.seq}`;
    if (head.extra[0] !== CHAIN_LINE + cp.hash) return "checkpoint note names a different chain hash";
  } catch (err) {
    if (err instanceof NoteError) return `checkpoint note: ${err.message}`;
    throw err;
  }
  return undefined;
}
