// A witness's durable part: its key, made at first start (DIR/witness.key, 0600, in the reference
// tools' PRIVATE+KEY form; DIR/witness.pub, the cosignature verifier key operators copy into
// their policy), and the latest checkpoint it cosigned per log (DIR/state.json), replaced
// atomically and synced before any answer that depends on it.
import { randomBytes } from "node:crypto";
import { existsSync, mkdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { writeFileDurably } from "../policy/durable-file.ts";
import { UserError } from "../policy/user-error.ts";
import { NoteError, type NoteSigner, parseSignerKey, signerFromSeed, verifierKey } from "./signed-note.ts";
import { type WitnessState, witnessVerifierKey } from "./witness-core.ts";

export class WitnessStateError extends UserError {}

export const WITNESS_KEY_FILE = "witness.key";
export const WITNESS_PUB_FILE = "witness.pub";
export const WITNESS_STATE_FILE = "state.json";

/** The witness's signer: read from DIR, or made there when DIR has none. */
export function loadOrCreateWitnessKey(dir: string, name: string): { signer: NoteSigner; created: boolean } {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const keyPath = join(dir, WITNESS_KEY_FILE);
  if (existsSync(keyPath)) {
    try {
      return { signer: parseSignerKey(readFileSync(keyPath, "utf8")), created: false };
    } catch (err) {
      if (err instanceof NoteError)
        throw new WitnessStateError(`${keyPath}: ${err.message}`, { hint: "restore the witness key from a backup" });
      throw err;
    }
  }
  const seed = randomBytes(32);
  const signer = signerFromSeed(name, seed);
  const raw = Buffer.concat([Buffer.from([0x01]), seed]).toString("base64");
  const hash = signer.hash.toString(16).padStart(8, "0");
  writeFileDurably(keyPath, `PRIVATE+KEY+${name}+${hash}+${raw}\n`, 0o600);
  writeFileDurably(join(dir, WITNESS_PUB_FILE), `${verifierKey(witnessVerifierKey(signer))}\n`, 0o644);
  return { signer, created: true };
}

export function readWitnessState(dir: string): WitnessState {
  const path = join(dir, WITNESS_STATE_FILE);
  if (!existsSync(path)) return {};
  try {
    const value = JSON.parse(readFileSync(path, "utf8")) as { version?: unknown; logs?: WitnessState };
    if (value.version !== 1 || typeof value.logs !== "object" || value.logs === null) throw new Error("shape");
    for (const [origin, e] of Object.entries(value.logs))
      if (!Number.isSafeInteger(e.size) || typeof e.root !== "string") throw new Error(origin);
    return value.logs;
  } catch {
    throw new WitnessStateError(`${path} is damaged`, {
      hint: "a witness that lost its state must not start afresh (it would cosign a rewritten history): restore state.json from a backup",
    });
  }
}

export function writeWitnessState(dir: string, state: WitnessState): void {
  writeFileDurably(join(dir, WITNESS_STATE_FILE), `${JSON.stringify({ version: 1, logs: state }, null, 2)}\n`, 0o600);
}
