// The key service's durable part, on the machine that is not the data's host: its Ed25519
// identity (identity.key 0600, identity.pub for hosts to pin), the bearer token hosts present
// (token, 0600), and the volume keys by version (keys.json, 0600), replaced atomically and
// synced before an answer that depends on them leaves.
import { createPrivateKey, createPublicKey, generateKeyPairSync, type KeyObject, randomBytes } from "node:crypto";
import { existsSync, mkdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { writeFileDurably } from "../policy/durable-file.ts";
import { UserError } from "../policy/user-error.ts";

export class KeyStoreError extends UserError {}

export interface VolumeKeys {
  current: number;
  /** a rotated version waiting for the host to finish rekeying */
  pending?: number;
  versions: Record<string, string>;
}

export interface KeyStore {
  identity: KeyObject;
  /** the identity.pub text hosts pin */
  publicPem: string;
  token: string;
  volumes: Record<string, VolumeKeys>;
  save(): void;
}

export function openKeyStore(dir: string): { store: KeyStore; created: boolean } {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const keyPath = join(dir, "identity.key");
  let created = false;
  if (!existsSync(keyPath)) {
    const { privateKey, publicKey } = generateKeyPairSync("ed25519");
    writeFileDurably(keyPath, privateKey.export({ type: "pkcs8", format: "pem" }).toString(), 0o600);
    writeFileDurably(join(dir, "identity.pub"), publicKey.export({ type: "spki", format: "pem" }).toString(), 0o644);
    writeFileDurably(join(dir, "token"), `${randomBytes(32).toString("hex")}\n`, 0o600);
    created = true;
  }
  let identity: KeyObject;
  try {
    identity = createPrivateKey(readFileSync(keyPath, "utf8"));
  } catch {
    throw new KeyStoreError(`${keyPath} is not a PEM private key`, {
      hint: "restore the key service's state from a backup",
    });
  }
  const keysPath = join(dir, "keys.json");
  let volumes: Record<string, VolumeKeys> = {};
  if (existsSync(keysPath)) {
    try {
      volumes = (JSON.parse(readFileSync(keysPath, "utf8")) as { volumes: Record<string, VolumeKeys> }).volumes;
      if (typeof volumes !== "object" || volumes === null) throw new Error("shape");
    } catch {
      throw new KeyStoreError(`${keysPath} is damaged`, {
        hint: "restore it from a backup: without it the sealed volumes cannot be unlocked",
      });
    }
  }
  const store: KeyStore = {
    identity,
    publicPem: createPublicKey(identity).export({ type: "spki", format: "pem" }).toString(),
    token: readFileSync(join(dir, "token"), "utf8").trim(),
    volumes,
    save: () =>
      writeFileDurably(keysPath, `${JSON.stringify({ version: 1, volumes: store.volumes }, null, 2)}\n`, 0o600),
  };
  return { store, created };
}
