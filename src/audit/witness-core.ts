// The witness's one decision, after C2SP tlog-witness's add-checkpoint: a checkpoint of a log it
// knows is cosigned only if the log signed it and a consistency proof shows it extends the last
// checkpoint this witness cosigned for that log. A shorter tree, a different root at the same
// size, a proof from another size or one that does not verify is refused, and the state is kept.
// Pure: request text and state in, answer and next state out (the shell persists the state
// before it answers, so a crash never leaves a cosignature the state does not know).
import { sign } from "node:crypto";
import { verifyConsistency } from "./merkle.ts";
import {
  type Checkpoint,
  keyHash,
  NoteError,
  type NoteKey,
  type NoteSigner,
  openNote,
  parseCheckpoint,
  rawPublicKey,
} from "./signed-note.ts";

/** The latest checkpoint cosigned, per log origin. */
export type WitnessState = Record<string, { size: number; root: string }>;

export interface WitnessAnswer {
  /** 200 cosigned, 400 malformed, 403 unknown log or bad signature, 409 wrong old size, 422 not consistent */
  status: 200 | 400 | 403 | 409 | 422;
  /** the cosignature line (200), the witness's size for the log (409), or why */
  body: string;
  state: WitnessState;
}

const COSIGNATURE_ALG = 0x04;

/** C2SP tlog-cosignature/v1 key hash: the note key hash with algorithm 0x04. */
export function cosignatureKeyHash(name: string, rawPublic: Buffer): number {
  return keyHash(name, rawPublic, COSIGNATURE_ALG);
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
    if (!key) return refuse(403, `unknown log '${checkpoint.origin}'`);
    if (!openNote(note, [key]).verified.includes(key.name)) return refuse(403, "not signed by the log's key");
  } catch (err) {
    if (err instanceof NoteError) return refuse(err.message.includes("does not verify") ? 403 : 400, err.message);
    throw err;
  }
  const known = state[checkpoint.origin] ?? { size: 0, root: "" };
  const oldSize = Number(old[1]);
  // The client must prove from what this witness holds: tell it that size.
  if (oldSize !== known.size) return refuse(409, String(known.size));
  if (checkpoint.size < known.size) return refuse(409, String(known.size));
  const consistent =
    known.size === 0
      ? proof.length === 0
      : verifyConsistency(known.size, checkpoint.size, Buffer.from(known.root, "base64"), checkpoint.root, proof);
  if (!consistent) return refuse(422, `size ${checkpoint.size} is not proven to extend size ${known.size}`);
  const next: WitnessState = {
    ...state,
    [checkpoint.origin]: { size: checkpoint.size, root: checkpoint.root.toString("base64") },
  };
  return { status: 200, body: cosign(text, witness, now), state: next };
}
