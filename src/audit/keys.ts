// The checkpoint signing key: created by `corral audit keygen`, kept outside the log directory
// (whoever can write the log must not be able to read the key that vouches for it).
import { createPrivateKey, createPublicKey, generateKeyPairSync, type KeyObject } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, realpathSync, statSync, writeFileSync } from "node:fs";
import { dirname, isAbsolute, relative, resolve } from "node:path";
import { UserError } from "../policy/user-error.ts";

export class AuditKeyError extends UserError {
  constructor(message: string, hint?: string) {
    super(message, { hint });
  }
}

export interface SigningKey {
  privateKey: KeyObject;
  publicKey: KeyObject;
}

/** Writes PATH (PKCS#8 PEM, mode 0600) and PATH.pub (SPKI PEM, 0644). Refuses to overwrite. */
export function generateSigningKey(path: string, opts: { force?: boolean } = {}): { key: string; pub: string } {
  const key = resolve(path);
  const pub = `${key}.pub`;
  if (!opts.force)
    for (const p of [key, pub])
      if (existsSync(p)) throw new AuditKeyError(`${p} already exists`, "choose another --key path or pass --force");
  // A new key directory is private to its owner, like the key itself.
  if (!existsSync(dirname(key))) mkdirSync(dirname(key), { recursive: true, mode: 0o700 });
  const { privateKey, publicKey } = generateKeyPairSync("ed25519");
  const flag = opts.force ? "w" : "wx";
  writeFileSync(key, privateKey.export({ type: "pkcs8", format: "pem" }), { mode: 0o600, flag });
  writeFileSync(pub, publicKey.export({ type: "spki", format: "pem" }), { mode: 0o644, flag });
  return { key, pub };
}

function realOrResolved(p: string): string {
  try {
    return realpathSync(p);
  } catch {
    return resolve(p);
  }
}

export function isInside(child: string, parent: string): boolean {
  const rel = relative(realOrResolved(parent), realOrResolved(child));
  return rel === "" || (!rel.startsWith("..") && !isAbsolute(rel));
}

/** Loads the private key for a writer; refuses a key inside the log dir or readable by others. */
export function loadSigningKey(path: string, logDir: string): SigningKey {
  if (isInside(path, logDir))
    throw new AuditKeyError(
      `checkpoint key ${path} is inside the audit log directory ${logDir}`,
      "keep the key outside the log directory (e.g. /etc/corral/audit.key) so log writers cannot forge checkpoints",
    );
  let pem: string;
  try {
    pem = readFileSync(path, "utf8");
  } catch (err) {
    throw new AuditKeyError(
      `cannot read checkpoint key ${path}: ${(err as Error).message}`,
      `create one with 'corral audit keygen --key ${path}'`,
    );
  }
  if ((statSync(path).mode & 0o077) !== 0)
    throw new AuditKeyError(`checkpoint key ${path} is accessible by group or others`, `run 'chmod 600 ${path}'`);
  let privateKey: KeyObject;
  try {
    privateKey = createPrivateKey(pem);
  } catch {
    throw new AuditKeyError(`${path} is not a PEM private key`, "create one with 'corral audit keygen --key PATH'");
  }
  if (privateKey.asymmetricKeyType !== "ed25519") throw new AuditKeyError(`${path} is not an Ed25519 key`);
  return { privateKey, publicKey: createPublicKey(privateKey) };
}

/**
 * Loads the verification key. Accepts the public key file, or a private key path whose `.pub`
 * sibling exists (the private key itself is read only when no .pub is beside it).
 */
export function loadPublicKey(path: string): KeyObject {
  const candidates = path.endsWith(".pub") ? [path] : [`${path}.pub`, path];
  for (const p of candidates) {
    if (!existsSync(p)) continue;
    let key: KeyObject;
    try {
      key = createPublicKey(readFileSync(p, "utf8"));
    } catch {
      throw new AuditKeyError(`${p} is not a PEM public or private key`);
    }
    if (key.asymmetricKeyType !== "ed25519") throw new AuditKeyError(`${p} is not an Ed25519 key`);
    return key;
  }
  throw new AuditKeyError(
    `public key ${candidates[0]} not found`,
    "pass the PATH.pub written by 'corral audit keygen'",
  );
}
