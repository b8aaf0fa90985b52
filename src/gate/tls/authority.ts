// The gate's own CA: made at first start in the state directory (key 0600, never leaves it),
// loaded on later starts. Its certificate, and a bundle of it with the public roots Node ships
// (Mozilla's), are published to a directory the agents mount read-only: tools that replace the
// system store (SSL_CERT_FILE, REQUESTS_CA_BUNDLE, CURL_CA_BUNDLE) get the bundle, so every other
// destination still verifies against the public roots; NODE_EXTRA_CA_CERTS gets the CA alone.
import { createPrivateKey, createPublicKey, generateKeyPairSync, X509Certificate } from "node:crypto";
import {
  chmodSync,
  existsSync,
  linkSync,
  mkdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { join } from "node:path";
import { rootCertificates } from "node:tls";
import { syncPath, writeFileDurably } from "../../policy/durable-file.ts";
import { UserError } from "../../policy/user-error.ts";
import { type CaMaterial, issueCa } from "./certificate.ts";

export const CA_CERT_FILE = "ca.crt";
export const CA_BUNDLE_FILE = "bundle.pem";
const CA_KEY_FILE = "ca.key";
const SUBJECT = "Corral gate CA";
const CA_DAYS = 3650;

function createCa(): { key: string; cert: string } {
  const pair = generateKeyPairSync("ec", { namedCurve: "P-256" });
  const cert = issueCa(pair.privateKey, pair.publicKey, SUBJECT, new Date(), CA_DAYS);
  return { key: pair.privateKey.export({ type: "pkcs8", format: "pem" }) as string, cert };
}

/**
 * Makes the CA in `dir` unless another process (a --workers sibling) made it first: the key
 * appears by link(2), which fails when it exists, so exactly one CA wins. Returns false when
 * this process lost the race.
 */
function createOnce(dir: string): boolean {
  const { key, cert } = createCa();
  const keyTmp = join(dir, `${CA_KEY_FILE}.${process.pid}.tmp`);
  const certTmp = join(dir, `${CA_CERT_FILE}.${process.pid}.tmp`);
  try {
    writeFileSync(keyTmp, key, { mode: 0o600 });
    syncPath(keyTmp);
    writeFileSync(certTmp, cert, { mode: 0o644 });
    syncPath(certTmp);
    try {
      linkSync(keyTmp, join(dir, CA_KEY_FILE));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === "EEXIST") return false;
      throw err;
    }
    renameSync(certTmp, join(dir, CA_CERT_FILE));
    syncPath(dir);
    return true;
  } finally {
    rmSync(keyTmp, { force: true });
    rmSync(certTmp, { force: true });
  }
}

function readMatching(dir: string): { key: string; cert: string } {
  const keyPath = join(dir, CA_KEY_FILE);
  const certPath = join(dir, CA_CERT_FILE);
  let key: string;
  try {
    const mode = statSync(keyPath).mode & 0o777;
    if (mode & 0o077)
      throw new UserError(`${keyPath} is readable by others (mode ${mode.toString(8)})`, {
        hint: `chmod 600 ${keyPath}: whoever reads it can impersonate every terminated destination to the agents`,
      });
    key = readFileSync(keyPath, "utf8");
  } catch (err) {
    if (err instanceof UserError) throw err;
    throw new UserError(`cannot read the gate CA key ${keyPath}: ${(err as NodeJS.ErrnoException).code ?? "error"}`, {
      hint: "the gate's state directory must belong to the user the gate runs as",
    });
  }
  // The process that made the key renames its certificate in a moment later.
  for (let waited = 0; ; waited += 50) {
    const cert = existsSync(certPath) ? readFileSync(certPath, "utf8") : "";
    if (cert && matches(key, cert)) return { key, cert };
    if (waited >= 3000)
      throw new UserError(`the gate CA in ${dir} does not match its key`, {
        hint: `remove ${dir} to make a new CA (and restart the agents so they trust it)`,
      });
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 50);
  }
}

function matches(key: string, cert: string): boolean {
  try {
    const x509 = new X509Certificate(cert);
    return x509.ca && x509.checkPrivateKey(createPrivateKey(key));
  } catch {
    return false;
  }
}

/** Loads the CA kept in `dir` (made there on first use); without a dir, one lives in memory. */
export function loadAuthority(dir: string | undefined): CaMaterial & { created: boolean } {
  let key: string;
  let cert: string;
  let created = false;
  if (dir === undefined) ({ key, cert } = createCa());
  else {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    if (!existsSync(join(dir, CA_KEY_FILE))) created = createOnce(dir);
    ({ key, cert } = readMatching(dir));
  }
  const privateKey = createPrivateKey(key);
  return { cert, key: privateKey, publicKey: createPublicKey(privateKey), subject: SUBJECT, created };
}

/** Writes the CA certificate and the bundle (public roots + CA) where the agents read them. */
export function publishAuthority(ca: CaMaterial, dir: string): void {
  mkdirSync(dir, { recursive: true });
  writeFileDurably(join(dir, CA_CERT_FILE), ca.cert, 0o644);
  writeFileDurably(join(dir, CA_BUNDLE_FILE), `${rootCertificates.join("\n")}\n${ca.cert}`, 0o644);
  chmodSync(dir, 0o755);
}
