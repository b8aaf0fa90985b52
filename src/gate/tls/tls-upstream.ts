// The gate's side toward a terminated destination's real server: TLS to the one address route()
// checked, the certificate verified for the destination's name against the system store (and
// any CA the operator adds with --upstream-ca), never a weaker version than the client got from
// the gate, forward-secret AEAD suites only. A verification failure is a 502 that names why.

import { X509Certificate } from "node:crypto";
import { readFileSync } from "node:fs";
import { isIP } from "node:net";
import { connect, createSecureContext, getCACertificates, type SecureContext } from "node:tls";
import { UserError } from "../../policy/user-error.ts";
import { type Dialled, settle } from "../proxy/dial.ts";
import { type Addr, formatAddr } from "../ssrf.ts";
import { AEAD_CIPHERS, type TlsVersion } from "./tls-settings.ts";

export interface UpstreamTrust {
  /** where the roots came from, for the start line */
  source: "system" | "bundled";
  /**
   * One client context per TLS floor, made once: parsing several hundred roots for every
   * upstream connection costs more than the handshake itself.
   */
  context(minVersion: TlsVersion): SecureContext;
}

/**
 * The roots upstream certificates are checked against: the system store (a container without
 * ca-certificates has none, and then Node's bundled Mozilla roots), the gate process's
 * NODE_EXTRA_CA_CERTS (how a compose file adds a private CA to the gate container), plus
 * `extraFiles` (--upstream-ca).
 */
export function upstreamTrust(extraFiles: readonly string[] = []): UpstreamTrust {
  const system = getCACertificates("system");
  const base = system.length > 0 ? system : getCACertificates("bundled");
  const extra = extraFiles.flatMap((f) => {
    let text: string;
    try {
      text = readFileSync(f, "utf8");
    } catch (err) {
      throw new UserError(`--upstream-ca ${f}: ${(err as NodeJS.ErrnoException).code ?? "unreadable"}`, {
        hint: "give a PEM file of the CA that signs the destination's certificate",
      });
    }
    // Node takes a file of concatenated PEM certificates as one `ca` entry; this only makes
    // sure it holds one, so a wrong file is an error here rather than a failed handshake later.
    try {
      new X509Certificate(text);
    } catch {
      throw new UserError(`--upstream-ca ${f}: no PEM certificate in it`, {
        hint: "the file must hold '-----BEGIN CERTIFICATE-----' blocks",
      });
    }
    return [text];
  });
  const ca = [...base, ...getCACertificates("extra"), ...extra];
  const contexts = new Map<TlsVersion, SecureContext>();
  return {
    source: system.length > 0 ? "system" : "bundled",
    context(minVersion) {
      let c = contexts.get(minVersion);
      if (!c) {
        c = createSecureContext({ ca, minVersion, ciphers: AEAD_CIPHERS });
        contexts.set(minVersion, c);
      }
      return c;
    },
  };
}

export interface UpstreamTls {
  /** the destination's name as decided: SNI and the name its certificate must carry */
  name: string;
  minVersion: TlsVersion;
  trust: UpstreamTrust;
}

export function dialTls(addr: Addr, port: number, timeoutMs: number, t: UpstreamTls): Promise<Dialled> {
  const where = `${t.name}:${port}`;
  // The certificate is checked against `servername` (the decided name, not the address
  // dialled); for an IP destination there is none, and `host` is that IP.
  const s = connect({
    host: formatAddr(addr),
    port,
    ...(isIP(t.name) !== 0 ? {} : { servername: t.name }),
    secureContext: t.trust.context(t.minVersion),
    ALPNProtocols: ["http/1.1"],
    rejectUnauthorized: true,
  });
  s.setNoDelay(true);
  return settle(s, "secureConnect", timeoutMs, {
    timedOut: `TLS connect to ${where} timed out after ${timeoutMs} ms`,
    failed: (err) =>
      `TLS to ${where} failed: ${err.code?.startsWith("ERR_TLS") || /certificate|verify/i.test(err.message) ? err.message : (err.code ?? err.message)}`,
  });
}
