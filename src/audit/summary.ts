// The signed summary that stands in for pruned segments (retention): where the remaining log
// starts (its first seq, the hash of the record before it, and the Merkle frontier at that
// size, so roots and consistency proofs go on), and each pruned segment's name, seq range and
// SHA-256. Signed with the log's key, so deleting old segments without the key breaks verify,
// and re-running a prune extends the list. Pure.
import { type KeyObject, sign, verify } from "node:crypto";
import { canonicalize } from "./canonical.ts";
import { keyId } from "./checkpoint.ts";
import type { JsonObject } from "./types.ts";

export const SUMMARY_FILE = "summary.json";
const DOMAIN = "corral-audit-summary/v1";
const KEYS = ["first_seq", "frontier", "key", "prev", "pruned", "sig", "time"];

export interface PrunedSegment {
  name: string;
  index: number;
  first: number;
  last: number;
  sha256: string;
}

export interface Summary {
  /** the first seq the remaining segments hold */
  first_seq: number;
  /** hash of record first_seq - 1 */
  prev: string;
  /** the tree's frontier at size first_seq - 1 */
  frontier: string[];
  pruned: PrunedSegment[];
  time: string;
  key: string;
  sig: string;
}

function message(s: Omit<Summary, "sig" | "key">): Buffer {
  return Buffer.from(canonicalize({ domain: DOMAIN, ...s } as unknown as JsonObject), "utf8");
}

export function signSummary(s: Omit<Summary, "sig" | "key">, privateKey: KeyObject, publicKey: KeyObject): string {
  const summary: Summary = { ...s, key: keyId(publicKey), sig: sign(null, message(s), privateKey).toString("base64") };
  return `${canonicalize(summary as unknown as JsonObject)}\n`;
}

export type SummaryCheck = { ok: true; summary: Summary } | { ok: false; problem: string };

export function checkSummary(bytes: Buffer, publicKey: KeyObject): SummaryCheck {
  let v: Record<string, unknown>;
  try {
    v = JSON.parse(bytes.toString("utf8"));
  } catch {
    return { ok: false, problem: "summary.json is not JSON" };
  }
  if (v === null || typeof v !== "object" || Object.keys(v).sort().join(",") !== KEYS.join(","))
    return { ok: false, problem: `summary.json members are not [${KEYS.join(", ")}]` };
  if (`${canonicalize(v as JsonObject)}\n` !== bytes.toString("utf8"))
    return { ok: false, problem: "summary.json is not in canonical form (bytes altered)" };
  const s = v as unknown as Summary;
  if (s.key !== keyId(publicKey))
    return { ok: false, problem: `summary.json is signed by key ${s.key}, not the given key` };
  const { sig, key: _key, ...rest } = s;
  const sigBytes = Buffer.from(String(sig), "base64");
  // Only the one base64 spelling: padding bits must not leave a byte free to change.
  if (sigBytes.toString("base64") !== sig)
    return { ok: false, problem: "summary.json signature is not canonical base64" };
  if (!verify(null, message(rest), publicKey, sigBytes))
    return { ok: false, problem: "summary.json signature does not verify" };
  return { ok: true, summary: s };
}
