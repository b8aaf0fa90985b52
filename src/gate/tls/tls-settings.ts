// The TLS the gate speaks on both sides of a terminated tunnel: 1.2 or 1.3, forward-secret AEAD
// suites only. The upstream side never goes below what the client negotiated with the gate
// (tls-upstream.ts raises minVersion to it), and never offers a suite outside this list.
import type { SecureContextOptions } from "node:tls";

export const AEAD_CIPHERS = [
  "TLS_AES_128_GCM_SHA256",
  "TLS_AES_256_GCM_SHA384",
  "TLS_CHACHA20_POLY1305_SHA256",
  "ECDHE-ECDSA-AES128-GCM-SHA256",
  "ECDHE-RSA-AES128-GCM-SHA256",
  "ECDHE-ECDSA-AES256-GCM-SHA384",
  "ECDHE-RSA-AES256-GCM-SHA384",
  "ECDHE-ECDSA-CHACHA20-POLY1305",
  "ECDHE-RSA-CHACHA20-POLY1305",
].join(":");

/**
 * Also the options of the socket itself, not only of the SNI context: OpenSSL keeps the cipher
 * list and versions of the context the handshake started with (authority.test.ts holds it).
 */
export const SERVER_TLS: SecureContextOptions = {
  minVersion: "TLSv1.2",
  ciphers: AEAD_CIPHERS,
  honorCipherOrder: true,
};

export type TlsVersion = "TLSv1.2" | "TLSv1.3";

/** The upstream's floor: the version the client got from the gate (never below 1.2). */
export function upstreamMinVersion(clientProtocol: string | null): TlsVersion {
  return clientProtocol === "TLSv1.3" ? "TLSv1.3" : "TLSv1.2";
}
