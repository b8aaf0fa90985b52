// C2SP signed notes (the format of Go's sumdb/note, and of tlog checkpoints and witness
// cosignatures): a text ending in a newline, a blank line, then one line per signature,
// `— <name> <base64(4-byte key hash ‖ Ed25519 signature)>`. Keys are written as
// `<name>+<hex key hash>+<base64(0x01 ‖ public key)>`. Checked against the reference
// implementation's own vector (signed-note.test.ts).
import { createHash, createPrivateKey, createPublicKey, type KeyObject, sign, verify } from "node:crypto";

const ALG_ED25519 = 0x01;
/** C2SP tlog-cosignature/v1: Ed25519 over a timestamped message, its own key-hash algorithm byte. */
export const ALG_COSIGNATURE_V1 = 0x04;
const SIG_PREFIX = "— ";
// DER wrappers that turn raw Ed25519 key bytes into Node key objects.
const PKCS8_ED25519 = Buffer.from("302e020100300506032b657004220420", "hex");
const SPKI_ED25519 = Buffer.from("302a300506032b6570032100", "hex");

export class NoteError extends Error {}

export interface NoteKey {
  name: string;
  /** the 4-byte key hash, as a number */
  hash: number;
  publicKey: KeyObject;
  /** 0x01 Ed25519 note signatures (the default), 0x04 cosignature/v1 */
  algorithm?: number;
}

export interface NoteSigner extends NoteKey {
  privateKey: KeyObject;
}

function validName(name: string): boolean {
  return name.length > 0 && !/[\s+]/u.test(name);
}

/** C2SP key hash: SHA-256(name ‖ "\n" ‖ algorithm ‖ public key)[:4] (0x01 note signatures, 0x04 cosignatures). */
export function keyHash(name: string, rawPublic: Buffer, algorithm = ALG_ED25519): number {
  return createHash("sha256")
    .update(name)
    .update("\n")
    .update(Buffer.from([algorithm]))
    .update(rawPublic)
    .digest()
    .readUInt32BE(0);
}

export function rawPublicKey(key: KeyObject): Buffer {
  return Buffer.from(key.export({ format: "der", type: "spki" })).subarray(SPKI_ED25519.length);
}

/** `<name>+<hash>+<base64 key>`: what a verifier is given. */
export function verifierKey(k: NoteKey): string {
  const raw = Buffer.concat([Buffer.from([k.algorithm ?? ALG_ED25519]), rawPublicKey(k.publicKey)]);
  return `${k.name}+${k.hash.toString(16).padStart(8, "0")}+${raw.toString("base64")}`;
}

export function parseVerifierKey(text: string): NoteKey {
  const m = /^([^+\s]+)\+([0-9a-f]{8})\+([A-Za-z0-9+/=]+)$/.exec(text.trim());
  if (!m) throw new NoteError("a verifier key is <name>+<8 hex digits>+<base64 key>");
  const raw = Buffer.from(m[3]!, "base64");
  const algorithm = raw[0];
  if (raw.length !== 33 || (algorithm !== ALG_ED25519 && algorithm !== ALG_COSIGNATURE_V1))
    throw new NoteError("only Ed25519 and cosignature/v1 verifier keys are supported");
  const pub = raw.subarray(1);
  const hash = Number.parseInt(m[2]!, 16);
  if (keyHash(m[1]!, pub, algorithm) !== hash) throw new NoteError(`verifier key hash does not match its name and key`);
  return {
    name: m[1]!,
    hash,
    publicKey: createPublicKey({ key: Buffer.concat([SPKI_ED25519, pub]), format: "der", type: "spki" }),
    algorithm,
  };
}

/** `PRIVATE+KEY+<name>+<hash>+<base64(0x01 ‖ seed)>`, as the reference tools write it. */
export function parseSignerKey(text: string): NoteSigner {
  const m = /^PRIVATE\+KEY\+([^+\s]+)\+([0-9a-f]{8})\+([A-Za-z0-9+/=]+)$/.exec(text.trim());
  if (!m) throw new NoteError("a signer key is PRIVATE+KEY+<name>+<8 hex digits>+<base64 key>");
  const raw = Buffer.from(m[3]!, "base64");
  if (raw.length !== 33 || raw[0] !== ALG_ED25519) throw new NoteError("only Ed25519 signer keys are supported");
  return signerFromSeed(m[1]!, raw.subarray(1), Number.parseInt(m[2]!, 16));
}

export function signerFromSeed(name: string, seed: Buffer, expectHash?: number): NoteSigner {
  if (!validName(name)) throw new NoteError(`'${name}' is not a key name (no spaces or '+')`);
  const privateKey = createPrivateKey({ key: Buffer.concat([PKCS8_ED25519, seed]), format: "der", type: "pkcs8" });
  const publicKey = createPublicKey(privateKey);
  const hash = keyHash(name, rawPublicKey(publicKey));
  if (expectHash !== undefined && hash !== expectHash) throw new NoteError("signer key hash does not match its key");
  return { name, hash, publicKey, privateKey };
}

/** Signs `text` (which must end in a newline); further signers' lines can be added the same way. */
export function signNote(text: string, signer: NoteSigner, existing = ""): string {
  if (!text.endsWith("\n") || text.includes("\n\n"))
    throw new NoteError("a note's text ends in one newline and has no blank lines");
  const sig = sign(null, Buffer.from(text), signer.privateKey);
  const head = Buffer.alloc(4);
  head.writeUInt32BE(signer.hash);
  const line = `${SIG_PREFIX}${signer.name} ${Buffer.concat([head, sig]).toString("base64")}\n`;
  return `${text}\n${existing}${line}`;
}

export interface OpenedNote {
  text: string;
  /** names of the keys given whose signature verified */
  verified: string[];
  /** signature lines by keys not given (kept, e.g. for cosignatures to pass on) */
  unknown: string[];
}

/** The note's text and which of `keys` signed it; a signature by a given key that does not verify is an error. */
export function openNote(note: string, keys: readonly NoteKey[]): OpenedNote {
  const split = note.lastIndexOf("\n\n");
  if (split < 0 || !note.endsWith("\n")) throw new NoteError("not a signed note: no blank line before the signatures");
  const text = note.slice(0, split + 1);
  const verified: string[] = [];
  const unknown: string[] = [];
  for (const line of note.slice(split + 2, -1).split("\n")) {
    const m = /^— (\S+) ([A-Za-z0-9+/=]+)$/.exec(line);
    if (!m) throw new NoteError(`malformed signature line: ${JSON.stringify(line)}`);
    const blob = Buffer.from(m[2]!, "base64");
    // Base64 decoding ignores a last character's padding bits: only the one spelling counts,
    // so no byte of a signed note is free to change.
    if (blob.toString("base64") !== m[2]) throw new NoteError(`signature of ${m[1]} is not canonical base64`);
    if (blob.length < 5) throw new NoteError("signature too short");
    const key = keys.find((k) => k.name === m[1] && k.hash === blob.readUInt32BE(0));
    if (!key) {
      unknown.push(line);
      continue;
    }
    if (!verify(null, Buffer.from(text), key.publicKey, blob.subarray(4)))
      throw new NoteError(`the signature of ${key.name} does not verify`);
    if (!verified.includes(key.name)) verified.push(key.name);
  }
  return { text, verified, unknown };
}

export interface Checkpoint {
  origin: string;
  size: number;
  root: Buffer;
  /** further lines (C2SP tlog-checkpoint allows extension lines) */
  extra: string[];
}

/** C2SP tlog-checkpoint text: origin, size, base64 root hash, extension lines. */
export function checkpointText(c: Checkpoint): string {
  return [c.origin, String(c.size), c.root.toString("base64"), ...c.extra, ""].join("\n");
}

export function parseCheckpoint(text: string): Checkpoint {
  const lines = text.split("\n");
  if (lines.at(-1) !== "" || lines.length < 4)
    throw new NoteError("a checkpoint has an origin, a size and a root hash");
  const [origin, size, root, ...rest] = lines.slice(0, -1);
  if (!origin) throw new NoteError("checkpoint without an origin");
  if (!/^(0|[1-9]\d*)$/.test(size ?? "")) throw new NoteError(`checkpoint size '${size}' is not a decimal number`);
  const hash = Buffer.from(root ?? "", "base64");
  if (hash.length !== 32 || hash.toString("base64") !== root)
    throw new NoteError("checkpoint root is not a base64 SHA-256");
  return { origin, size: Number(size), root: hash, extra: rest };
}
