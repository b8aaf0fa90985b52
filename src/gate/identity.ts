// Who is asking: a Proxy-Authorization token first (it names the client explicitly), then the
// service mapped to the source address, then an identity's source CIDRs. Unknown clients get
// no identity and therefore default deny.
import { timingSafeEqual } from "node:crypto";
import ipaddr from "ipaddr.js";
import type { PolicyIndex } from "./policy-index.ts";
import { canonical } from "./ssrf.ts";

export interface Caller {
  identity: string | undefined;
  via: "token" | "service" | "source" | "none";
  /** the run an ephemeral token was minted for: taken from the token, never from a header */
  run?: string;
}

/** The credential in `Proxy-Authorization: Bearer t` or `Basic base64(user:t)` (password, or user when no password). */
export function tokenFromHeader(header: string | undefined): string | undefined {
  if (!header) return undefined;
  const m = /^(Basic|Bearer)[ \t]+(\S+)[ \t]*$/i.exec(header);
  if (!m) return undefined;
  if (m[1]!.toLowerCase() === "bearer") return m[2];
  const decoded = Buffer.from(m[2]!, "base64").toString("utf8");
  const colon = decoded.indexOf(":");
  if (colon < 0) return decoded || undefined;
  const pass = decoded.slice(colon + 1);
  return pass || decoded.slice(0, colon) || undefined;
}

function tokenIdentity(index: PolicyIndex, token: string): string | undefined {
  const given = Buffer.from(token);
  for (const [value, name] of index.tokens) {
    const want = Buffer.from(value);
    if (want.length === given.length && timingSafeEqual(want, given)) return name;
  }
  return undefined;
}

export function resolveCaller(index: PolicyIndex, sourceIp: string, proxyAuthorization?: string): Caller {
  const token = tokenFromHeader(proxyAuthorization);
  if (token !== undefined) {
    const name = tokenIdentity(index, token);
    if (name) return { identity: name, via: "token" };
    const run = index.ephemeral?.lookup(token);
    // Decided as the parent's rules: a reload that removes the parent leaves it default-denied.
    if (run) return { identity: run.parent, via: "token", run: run.run };
    // A wrong token is not silently downgraded to the source identity.
    return { identity: undefined, via: "none" };
  }
  // The same few clients ask again and again.
  const known = index.cache.callers.get(sourceIp);
  if (known) return known;
  const caller = callerBySource(index, sourceIp);
  index.cache.callers.set(sourceIp, caller);
  return caller;
}

function callerBySource(index: PolicyIndex, sourceIp: string): Caller {
  let addr: ipaddr.IPv4 | ipaddr.IPv6;
  try {
    addr = canonical(ipaddr.parse(sourceIp.split("%")[0]!));
  } catch {
    return { identity: undefined, via: "none" };
  }
  const service = index.serviceAddrs.get(addr.toString());
  if (service) return { identity: service, via: "service" };
  for (const s of index.sources) {
    if (s.cidr.addr.kind() === addr.kind() && addr.match(s.cidr.addr, s.cidr.prefix))
      return { identity: s.identity, via: "source" };
  }
  return { identity: undefined, via: "none" };
}
