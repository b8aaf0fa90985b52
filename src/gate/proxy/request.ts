// What a request head asks the proxy to do, before any decision: a CONNECT authority or an
// absolute-URI forward with its rewritten head. Pure, so the fuzzer can drive it directly.
// Everything ambiguous (userinfo, duplicate Host, framing) is an error; whether the Host header
// names the target is a decision (decide-request.ts).
import { formatHostPort } from "../../policy/host-port.ts";
import { urlHost } from "../names.ts";
import {
  endToEndHeaders,
  type Framing,
  type Head,
  headerValues,
  requestFraming,
  serializeHead,
  wantsClose,
} from "./http-head.ts";

export type Interpreted =
  | { kind: "error"; status: number; reason: string }
  | { kind: "connect"; host: string; port: number }
  | {
      kind: "forward";
      host: string;
      port: number;
      /** the target's authority as serialised by the URL parser, and the Host header: decide-request.ts compares them */
      authority: string;
      hostHeader: string | undefined;
      method: string;
      /** path and query as they go upstream */
      target: string;
      /** end-to-end headers without Host: what the broker may rewrite */
      headers: [string, string][];
      framing: Framing;
      out: Buffer;
      close: boolean;
    };

export type ForwardRequest = Extract<Interpreted, { kind: "forward" }>;
type RequestError = Extract<Interpreted, { kind: "error" }>;

/** `host[:port]` as a Host header writes it: brackets for IPv6, no port when it is the default. */
export function authorityFor(host: string, port: number, defaultPort: number): string {
  return port === defaultPort ? (host.includes(":") ? `[${host}]` : host) : formatHostPort({ host, port });
}

/** `host:port` of a CONNECT target (port required), IPv6 in brackets. */
export function parseAuthority(target: string): { host: string; port: number } | undefined {
  const m = /^(?:\[([0-9a-fA-F:.]+(?:%[\w.-]+)?)\]|([^:@/\s[\]]+)):(\d{1,5})$/.exec(target);
  if (!m) return undefined;
  const port = Number(m[3]);
  if (port < 1 || port > 65535) return undefined;
  return { host: m[1] ?? m[2]!, port };
}

const err = (status: number, reason: string): RequestError => ({ kind: "error", status, reason });

export function interpretRequest(head: Head): Interpreted {
  const [method, target, version] = head.startLine;
  if (headerValues(head, "proxy-authorization").length > 1) return err(400, "more than one Proxy-Authorization");
  const hosts = headerValues(head, "host");
  if (hosts.length > 1) return err(400, "more than one Host header");
  if (method === "CONNECT") {
    const authority = parseAuthority(target);
    if (!authority) return err(400, "CONNECT target must be host:port");
    return { kind: "connect", ...authority };
  }
  let url: URL;
  try {
    url = new URL(target);
  } catch {
    return err(400, "the proxy needs an absolute URI (http://host/path) or CONNECT");
  }
  if (url.protocol !== "http:") return err(400, `scheme ${url.protocol} not proxied (use CONNECT for https)`);
  // `http://allowed@evil/`: userinfo is how URL confusion attacks start; never forwarded.
  if (url.username || url.password || /^[a-z]+:\/\/[^/?#]*@/i.test(target))
    return err(400, "userinfo in request target");
  const host = urlHost(url);
  const port = url.port ? Number(url.port) : 80;
  if (hosts.length === 0 && version === "1.1") return err(400, "HTTP/1.1 request without Host");
  return relayed(head, { host, port, authority: url.host }, `${url.pathname}${url.search}`, hosts[0] ?? url.host);
}

/**
 * A request inside a terminated tunnel: origin-form (`GET /path`), for the tunnel's own
 * authority. The target goes upstream exactly as written, so the path the request rules check
 * is the path the server reads.
 */
export function interpretOriginRequest(
  head: Head,
  tunnel: { host: string; port: number },
): ForwardRequest | RequestError {
  const [method, target, version] = head.startLine;
  const hosts = headerValues(head, "host");
  if (hosts.length > 1) return err(400, "more than one Host header");
  if (method === "CONNECT") return err(400, "CONNECT inside a tunnel");
  if (!target.startsWith("/")) return err(400, "inside a tunnel a request target is a path (origin-form)");
  // Origin-form has no fragment (RFC 9112 §3.2.1); servers that parse one would read what
  // follows `#` (a query key, a path) differently from the gate.
  if (target.includes("#")) return err(400, "a fragment in the request target");
  if (hosts.length === 0 && version === "1.1") return err(400, "HTTP/1.1 request without Host");
  const authority = authorityFor(tunnel.host, tunnel.port, 443);
  return relayed(head, { host: tunnel.host, port: tunnel.port, authority }, target, hosts[0] ?? authority);
}

function relayed(
  head: Head,
  to: { host: string; port: number; authority: string },
  target: string,
  hostHeader: string,
): ForwardRequest | RequestError {
  const [method, , version] = head.startLine;
  const framing = requestFraming(head);
  if ("error" in framing) return err(framing.status, framing.error);
  if (
    headerValues(head, "upgrade").length > 0 ||
    headerValues(head, "expect").some((v) => v.toLowerCase() !== "100-continue")
  ) {
    return err(501, "Upgrade and Expect other than 100-continue are not proxied");
  }
  const headers = endToEndHeaders(head).filter(([n]) => n.toLowerCase() !== "host");
  return {
    kind: "forward",
    ...to,
    hostHeader: headerValues(head, "host")[0],
    method,
    target,
    headers,
    framing,
    out: requestHead(method, target, hostHeader, headers),
    close: wantsClose(head, version),
  };
}

export function requestHead(method: string, target: string, hostHeader: string, headers: [string, string][]): Buffer {
  return serializeHead(`${method} ${target} HTTP/1.1`, [["Host", hostHeader], ...headers]);
}
