// The witness's one decision, after C2SP tlog-witness's add-checkpoint: a checkpoint of a log it
// knows is cosigned only if the log signed it and a consistency proof shows it extends the last
// checkpoint this witness cosigned for that log. A shorter tree, a different root at the same
// size, a proof from another size or one that does not verify is refused, and the state is kept.
// Pure: request text and state in, answer and next state out (the shell persists the state
// before it answers, so a crash never leaves a cosignature the state does not know).
import { sign, verify } from "node:crypto";
import { verifyConsistency } from "./merkle.ts";
import {
  ALG_COSIGNATURE_V1,
  type Checkpoint,
  keyHash,
  NoteError,
  type NoteKey,
  type NoteSigner,
  openNote,
  parseCheckpoint,
  rawPublicKey,
} from "./signed-note.ts";

/** The latest checkpoint cosigned, per log origin: its size, root, and the note with the cosignature. */
export type WitnessState = Record<string, { size: number; root: string; note?: string }>;

export interface WitnessAnswer {
  /** 200 cosigned, 400 malformed or old size past the checkpoint, 403 not signed by the log, 404 unknown log, 409 wrong old size, 422 not consistent */
  status: 200 | 400 | 403 | 404 | 409 | 422;
  /** the cosignature line (200), the witness's size for the log (409), or why */
  body: string;
  state: WitnessState;
}

/** C2SP tlog-cosignature/v1 key hash: the note key hash with algorithm 0x04. */
export function cosignatureKeyHash(name: string, rawPublic: Buffer): number {
  return keyHash(name, rawPublic, ALG_COSIGNATURE_V1);
}

/** The witness's key as verifiers are given it (`name+hash+base64(0x04 ‖ key)`). */
export function witnessVerifierKey(witness: NoteKey): NoteKey {
  return {
    name: witness.name,
    hash: cosignatureKeyHash(witness.name, rawPublicKey(witness.publicKey)),
    publicKey: witness.publicKey,
    algorithm: ALG_COSIGNATURE_V1,
  };
}

/** The time (seconds) of `witness`'s cosignature on a note, or undefined when it has none; throws when it does not verify. */
export function cosignatureTime(note: string, witness: NoteKey): number | undefined {
  const split = note.lastIndexOf("\n\n");
  if (split < 0) throw new NoteError("not a signed note");
  const text = note.slice(0, split + 1);
  const key = witnessVerifierKey(witness);
  for (const line of note.slice(split + 2, -1).split("\n")) {
    const m = /^— (\S+) ([A-Za-z0-9+/=]+)$/.exec(line);
    if (!m || m[1] !== key.name) continue;
    const blob = Buffer.from(m[2]!, "base64");
    if (blob.length !== 76 || blob.readUInt32BE(0) !== key.hash) continue;
    if (blob.toString("base64") !== m[2]) throw new NoteError(`the cosignature of ${key.name} is not canonical base64`);
    const time = blob.readBigUInt64BE(4);
    const message = Buffer.from(`cosignature/v1\ntime ${time}\n${text}`);
    if (!verify(null, message, key.publicKey, blob.subarray(12)))
      throw new NoteError(`the cosignature of ${key.name} does not verify`);
    return Number(time);
  }
  return undefined;
}

/** The cosignature line over a checkpoint's text at `time` (seconds since the epoch). */
export function cosign(text: string, witness: NoteSigner, time: number): string {
  const message = Buffer.from(`cosignature/v1\ntime ${time}\n${text}`);
  const head = Buffer.alloc(12);
  head.writeUInt32BE(cosignatureKeyHash(witness.name, rawPublicKey(witness.publicKey)), 0);
  head.writeBigUInt64BE(BigInt(time), 4);
  const sig = sign(null, message, witness.privateKey);
  return `— ${witness.name} ${Buffer.concat([head, sig]).toString("base64")}\n`;
}

/**
 * `old <size>`, one base64 proof hash per line, a blank line, then the signed checkpoint.
 * `logs`: the logs this witness serves, by origin, with the key each must be signed by.
 */
export function addCheckpoint(
  request: string,
  state: WitnessState,
  logs: ReadonlyMap<string, NoteKey>,
  witness: NoteSigner,
  now: number,
): WitnessAnswer {
  const refuse = (status: WitnessAnswer["status"], body: string): WitnessAnswer => ({ status, body, state });
  const blank = request.indexOf("\n\n");
  if (blank < 0) return refuse(400, "expected 'old <size>', proof lines, a blank line, then the checkpoint");
  const head = request.slice(0, blank).split("\n");
  const old = /^old (0|[1-9]\d*)$/.exec(head[0] ?? "");
  if (!old) return refuse(400, "the first line is 'old <size>'");
  const proof = head.slice(1).map((l) => Buffer.from(l, "base64"));
  if (proof.some((p, i) => p.length !== 32 || p.toString("base64") !== head[i + 1]))
    return refuse(400, "each proof line is one base64 SHA-256 hash");
  const note = request.slice(blank + 2);
  let checkpoint: Checkpoint;
  let text: string;
  try {
    text = note.slice(0, note.lastIndexOf("\n\n") + 1);
    checkpoint = parseCheckpoint(text);
    const key = logs.get(checkpoint.origin);
    if (!key) return refuse(404, `unknown log '${checkpoint.origin}'`);
    if (!openNote(note, [key]).verified.includes(key.name)) return refuse(403, "not signed by the log's key");
  } catch (err) {
    if (err instanceof NoteError) return refuse(err.message.includes("does not verify") ? 403 : 400, err.message);
    throw err;
  }
  const known = state[checkpoint.origin] ?? { size: 0, root: "" };
  const oldSize = Number(old[1]);
  if (oldSize > checkpoint.size)
    return refuse(400, `old size ${oldSize} is past the checkpoint's size ${checkpoint.size}`);
  // The client must prove from what this witness holds: tell it that size.
  if (oldSize !== known.size) return refuse(409, String(known.size));
  const consistent =
    known.size === 0
      ? proof.length === 0
      : verifyConsistency(known.size, checkpoint.size, Buffer.from(known.root, "base64"), checkpoint.root, proof);
  if (!consistent) return refuse(422, `size ${checkpoint.size} is not proven to extend size ${known.size}`);
  const cosignature = cosign(text, witness, now);
  const next: WitnessState = {
    ...state,
    [checkpoint.origin]: { size: checkpoint.size, root: checkpoint.root.toString("base64"), note: note + cosignature },
  };
  return { status: 200, body: cosignature, state: next };
}
