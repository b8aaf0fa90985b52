// Server identities for terminated destinations: one leaf key per gate process, one certificate
// per host, issued on first use and again before it expires. Only hosts the policy terminates
// ever get one (the caller checks), so the cache is bounded by the policy.
import { generateKeyPairSync, type KeyObject } from "node:crypto";
import { createSecureContext, type SecureContext } from "node:tls";
import type { CaMaterial } from "./certificate.ts";
import { issueLeaf } from "./certificate.ts";
import { SERVER_TLS } from "./tls-settings.ts";

const LEAF_HOURS = 24;
const RENEW_AFTER_MS = 12 * 3600_000;

export class LeafCertificates {
  private readonly key: { privateKey: KeyObject; publicKey: KeyObject };
  private readonly keyPem: string;
  private readonly contexts = new Map<string, { ctx: SecureContext; issued: number }>();
  private readonly ca: CaMaterial;
  private readonly now: () => number;

  constructor(ca: CaMaterial, now: () => number = Date.now) {
    this.ca = ca;
    this.now = now;
    this.key = generateKeyPairSync("ec", { namedCurve: "P-256" });
    this.keyPem = this.key.privateKey.export({ type: "pkcs8", format: "pem" }) as string;
  }

  get caCert(): string {
    return this.ca.cert;
  }

  contextFor(host: string): SecureContext {
    const t = this.now();
    const known = this.contexts.get(host);
    if (known && t - known.issued < RENEW_AFTER_MS) return known.ctx;
    const cert = issueLeaf(this.ca, host, this.key.publicKey, new Date(t), LEAF_HOURS);
    const ctx = createSecureContext({ ...SERVER_TLS, key: this.keyPem, cert: `${cert}${this.ca.cert}` });
    this.contexts.set(host, { ctx, issued: t });
    return ctx;
  }
}
