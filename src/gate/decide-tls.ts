// The second decision on a CONNECT tunnel, made on its first client bytes: a tunnel allowed for
// one host must not carry a TLS handshake for another (domain fronting), and a port-443 tunnel
// must carry TLS at all. Pure; the proxy only holds the bytes until this says "ok".
import type { Decision } from "./decide.ts";
import { sameHost } from "./names.ts";
import { parseClientHello } from "./proxy/tls-sni.ts";
import type { ReasonCode } from "./reason.ts";

export const TLS_RULE = { id: "tls", name: "sni-check" } as const;

/** Larger than any real ClientHello (post-quantum key shares included) with room to spare. */
const MAX_HELLO_BYTES = 70_000;

const tlsDeny = (code: ReasonCode, detail?: string): Decision => ({
  verdict: "deny",
  mode: "enforce",
  code,
  rule: TLS_RULE,
  ...(detail !== undefined ? { detail } : {}),
});

/**
 * `expected` is the name the tunnel was allowed for (the CONNECT host as decided), `authority`
 * what the client wrote. "wait": not enough bytes yet. `tlsRequired`: anything but TLS is
 * refused (port 443, and every tunnel the gate terminates).
 */
export function decideTunnelStart(
  first: Buffer,
  expected: string,
  authority: { host: string; port: number },
  tlsRequired = authority.port === 443,
): "wait" | "ok" | Decision {
  if (first.length === 0) return "wait";
  if (first[0] !== 0x16) return tlsRequired ? tlsDeny("not-tls") : "ok";
  if (first.length > MAX_HELLO_BYTES) return tlsDeny("tls-malformed", "ClientHello too large");
  const sni = parseClientHello(first);
  if (sni.kind === "incomplete") return "wait";
  if (sni.kind === "invalid") return tlsDeny("tls-malformed", sni.reason);
  if (sni.name === undefined || sameHost(sni.name, expected)) return "ok";
  return tlsDeny("sni-mismatch", `'${sni.name}' in a tunnel to '${authority.host}'`);
}

/** The ClientHello did not complete within header_timeout. */
export const TUNNEL_START_TIMEOUT: Decision = Object.freeze(tlsDeny("tls-timeout"));
