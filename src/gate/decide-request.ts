// Decisions about the request itself rather than its destination: a Host header that names
// another host than the URI (request smuggling past the allowlist), a malformed or oversized
// head, and the gate's limits. Pure; the proxy carries them out like any other decision.
import type { Decision } from "./decide.ts";
import { sameHost, urlHost } from "./names.ts";
import type { ReasonCode } from "./reason.ts";

export const HOST_RULE = { id: "host", name: "host-header-check" } as const;
export const PROTOCOL_RULE = { id: "protocol", name: "request-check" } as const;
export const LIMITS_RULE = { id: "limits", name: "gate-limits" } as const;

function refusal(code: ReasonCode, rule: Decision["rule"], detail: string): Decision {
  return { verdict: "deny", mode: "enforce", code, rule, detail };
}

/**
 * A request's Host header against its target (an absolute URI, or a terminated tunnel's
 * authority, where a Host without a port means 443): undefined when they name the same
 * host and port (or there is no Host header), a denial otherwise.
 */
export function decideHostHeader(
  hostHeader: string | undefined,
  target: { host: string; port: number; authority: string },
  defaultPort = 80,
): Decision | undefined {
  // Common case first: the Host header is exactly the target's serialised authority.
  if (hostHeader === undefined || hostHeader === target.authority) return undefined;
  let u: URL | undefined;
  try {
    u = new URL(`http://${hostHeader}/`);
  } catch {}
  const same =
    u !== undefined &&
    !u.username &&
    !u.password &&
    u.pathname === "/" &&
    !u.search &&
    !u.hash &&
    sameHost(urlHost(u), target.host) &&
    writtenPort(hostHeader, defaultPort) === target.port;
  return same ? undefined : refusal("host-mismatch", HOST_RULE, `'${hostHeader}' for ${target.authority}`);
}

/**
 * The port as the Host header writes it: the URL parser drops `:80` (http's default), which
 * inside a 443 tunnel would read as 443.
 */
function writtenPort(hostHeader: string, defaultPort: number): number {
  const m = /:(\d*)$/.exec(hostHeader.slice(hostHeader.lastIndexOf("]") + 1));
  return m?.[1] ? Number(m[1]) : defaultPort;
}

/** A request the gate cannot or will not parse: nothing was decided about its destination. */
export function badRequest(detail: string): Decision {
  return refusal("bad-request", PROTOCOL_RULE, detail);
}

export function limited(code: "rate-limited" | "overloaded", detail: string): Decision {
  return refusal(code, LIMITS_RULE, detail);
}
