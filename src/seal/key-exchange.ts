// How a volume key crosses the network from the key service to the host that unlocks: the host
// sends a fresh X25519 public key; the service answers with its own fresh X25519 key and the
// volume key sealed with AES-256-GCM under HKDF-SHA256 of the shared secret, and signs the whole
// answer with its Ed25519 identity key, which the host has pinned. An eavesdropper learns
// nothing; a stand-in service cannot answer; an answer for another volume or version does not
// verify. Pure: keys and bytes in, bytes out (node:crypto only).
import {
  createCipheriv,
  createDecipheriv,
  createPublicKey,
  diffieHellman,
  generateKeyPairSync,
  hkdfSync,
  type KeyObject,
  randomBytes,
  sign,
  verify,
} from "node:crypto";

const INFO = Buffer.from("corral-seal-key/v1");
const X25519_SPKI = Buffer.from("302a300506032b656e032100", "hex");

export class KeyExchangeError extends Error {}

export interface SealedKey {
  volume: string;
  version: number;
  /** the service's ephemeral X25519 public key, base64 */
  epk: string;
  nonce: string;
  ciphertext: string;
  /** Ed25519 over transcript(): binds the host's key, the volume and the version */
  sig: string;
}

export interface Ephemeral {
  publicKey: string;
  privateKey: KeyObject;
}

export function ephemeral(): Ephemeral {
  const { publicKey, privateKey } = generateKeyPairSync("x25519");
  const raw = Buffer.from(publicKey.export({ format: "der", type: "spki" })).subarray(X25519_SPKI.length);
  return { publicKey: raw.toString("base64"), privateKey };
}

function x25519Public(b64: string): KeyObject {
  const raw = Buffer.from(b64, "base64");
  if (raw.length !== 32 || raw.toString("base64") !== b64)
    throw new KeyExchangeError("an X25519 key is 32 bytes, base64");
  return createPublicKey({ key: Buffer.concat([X25519_SPKI, raw]), format: "der", type: "spki" });
}

function wrapKey(shared: Buffer, hostEpk: string, serviceEpk: string): Buffer {
  const salt = Buffer.concat([Buffer.from(hostEpk, "base64"), Buffer.from(serviceEpk, "base64")]);
  return Buffer.from(hkdfSync("sha256", shared, salt, INFO, 32));
}

function transcript(hostEpk: string, s: Omit<SealedKey, "sig">): Buffer {
  return Buffer.from(
    ["corral-seal-key/v1", s.volume, String(s.version), hostEpk, s.epk, s.nonce, s.ciphertext].join("\n"),
  );
}

/** Service side: the volume key for the host that sent `hostEpk`. */
export function sealKey(
  volumeKey: Buffer,
  volume: string,
  version: number,
  hostEpk: string,
  identity: KeyObject,
): SealedKey {
  const mine = ephemeral();
  const shared = diffieHellman({ privateKey: mine.privateKey, publicKey: x25519Public(hostEpk) });
  const nonce = randomBytes(12);
  const cipher = createCipheriv("aes-256-gcm", wrapKey(shared, hostEpk, mine.publicKey), nonce);
  cipher.setAAD(Buffer.from(`${volume}\n${version}`));
  const ciphertext = Buffer.concat([cipher.update(volumeKey), cipher.final(), cipher.getAuthTag()]);
  const body = {
    volume,
    version,
    epk: mine.publicKey,
    nonce: nonce.toString("base64"),
    ciphertext: ciphertext.toString("base64"),
  };
  return { ...body, sig: sign(null, transcript(hostEpk, body), identity).toString("base64") };
}

/** Host side: the volume key, once the answer is proven to come from the pinned service. */
export function openKey(
  answer: SealedKey,
  host: Ephemeral,
  servicePublic: KeyObject,
  expect: { volume: string; version?: number },
): Buffer {
  if (answer.volume !== expect.volume)
    throw new KeyExchangeError(`the key service answered for volume ${answer.volume}`);
  if (expect.version !== undefined && answer.version !== expect.version)
    throw new KeyExchangeError(`the key service answered with version ${answer.version}, not ${expect.version}`);
  const { sig, ...body } = answer;
  if (!verify(null, transcript(host.publicKey, body), servicePublic, Buffer.from(sig, "base64")))
    throw new KeyExchangeError("the answer is not signed by the pinned key service");
  const shared = diffieHellman({ privateKey: host.privateKey, publicKey: x25519Public(answer.epk) });
  const data = Buffer.from(answer.ciphertext, "base64");
  const decipher = createDecipheriv(
    "aes-256-gcm",
    wrapKey(shared, host.publicKey, answer.epk),
    Buffer.from(answer.nonce, "base64"),
  );
  decipher.setAAD(Buffer.from(`${answer.volume}\n${answer.version}`));
  decipher.setAuthTag(data.subarray(data.length - 16));
  try {
    return Buffer.concat([decipher.update(data.subarray(0, data.length - 16)), decipher.final()]);
  } catch {
    throw new KeyExchangeError("the sealed key does not open (altered on the way)");
  }
}
