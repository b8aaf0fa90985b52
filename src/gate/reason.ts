// Why the gate decided what it did, as a closed set of codes. Behaviour (what is cached, what
// counts as a denial, what may be approved) reads the code and the decision's own flags; the
// words below are only for people, and rewording them changes nothing else (reason.test.ts
// rewrites every one and runs the decision cases again).
import type { Decision } from "./decide.ts";

export const REASON_CODES = [
  /** an allow entry of the caller's rule names the destination */
  "listed",
  /** a deny entry of the caller's rule names the destination */
  "deny-listed",
  /** no entry names the destination (enforce mode) */
  "unlisted",
  /** allowed by an approved request (a grant, until it expires) */
  "grant",
  /** learn mode: not listed, allowed and recorded */
  "learn",
  /** report mode: would be denied, allowed and logged */
  "report",
  /** the SSRF floor: an address the gate never dials */
  "floor",
  /** every address a name resolved to is inside the floor (DNS rebinding) */
  "rebinding",
  /** no identity matched the client */
  "identity-unknown",
  /** the identity has no egress rule */
  "no-rule",
  "invalid-name",
  "invalid-address",
  "invalid-port",
  /** a tunnel's TLS ClientHello names another host than the CONNECT authority */
  "sni-mismatch",
  /** a tunnel's first bytes are a malformed or oversized ClientHello */
  "tls-malformed",
  /** a port-443 tunnel that does not start with TLS */
  "not-tls",
  /** the ClientHello did not arrive within header_timeout */
  "tls-timeout",
  /** an absolute-URI request whose Host header names another host than its URI */
  "host-mismatch",
  /** the request itself is malformed (bad head, too large, too slow) */
  "bad-request",
  /** per-identity connection or request-rate limit */
  "rate-limited",
  /** the gate is at max_connections */
  "overloaded",
  /** a request rule's allow entry names the method and path */
  "request-listed",
  /** a request rule's deny entry names the method and path */
  "request-denied",
  /** the destination has request rules for this identity and none allows the method and path */
  "request-unlisted",
  /** a path with dot segments, encoded slashes or the like, where request rules or a credential's paths apply */
  "path-ambiguous",
  /** a credential's placeholder was swapped for its real value */
  "brokered",
  /** a placeholder toward another destination, or anywhere but where its credential is sent */
  "credential-exfiltration",
  /** a placeholder from an identity it was not made for or that may not use the credential */
  "credential-forbidden",
  /** a placeholder toward its destination with a method or path outside the credential's */
  "credential-scope",
] as const;

export type ReasonCode = (typeof REASON_CODES)[number];

/** The words for each code; `detail` (the matching entry, the address…) follows them. */
export const REASON_TEXT: Record<ReasonCode, string> = {
  listed: "allowed by",
  "deny-listed": "denied by",
  unlisted: "not in allow list",
  grant: "allowed by an approved request",
  learn: "learn mode: recorded",
  report: "report mode: would deny",
  floor: "ssrf floor",
  rebinding: "ssrf floor: every answer is inside the floor",
  "identity-unknown": "unknown client: no identity matched",
  "no-rule": "no egress rule for this identity",
  "invalid-name": "invalid host name",
  "invalid-address": "malformed address literal",
  "invalid-port": "invalid port",
  "sni-mismatch": "TLS SNI does not match the CONNECT host",
  "tls-malformed": "malformed ClientHello",
  "not-tls": "port 443 tunnel does not start with a TLS ClientHello",
  "tls-timeout": "no complete ClientHello in time",
  "host-mismatch": "Host header does not match the request URI",
  "bad-request": "malformed request",
  "rate-limited": "over this identity's limit",
  overloaded: "gate at max connections",
  "request-listed": "request allowed by",
  "request-denied": "request denied by",
  "request-unlisted": "request not in the destination's request rules",
  "path-ambiguous": "ambiguous request path",
  brokered: "credential brokered",
  "credential-exfiltration": "credential exfiltration attempt",
  "credential-forbidden": "credential not permitted for this identity",
  "credential-scope": "credential used outside its bound methods and paths",
};

/** The sentence a person reads: the code's words, then the detail. */
export function reasonText(d: Pick<Decision, "code" | "detail">): string {
  const words = REASON_TEXT[d.code];
  return d.detail ? `${words}: ${d.detail}` : words;
}
