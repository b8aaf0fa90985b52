// What a request head asks the proxy to do, before any decision: a CONNECT authority or an
// absolute-URI forward with its rewritten head. Pure, so the fuzzer can drive it directly.
// Everything ambiguous (userinfo, duplicate Host, framing) is an error; whether the Host header
// names the target is a decision (decide-request.ts).
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
      framing: Framing;
      out: Buffer;
      close: boolean;
    };

/** `host:port` of a CONNECT target (port required), IPv6 in brackets. */
export function parseAuthority(target: string): { host: string; port: number } | undefined {
  const m = /^(?:\[([0-9a-fA-F:.]+(?:%[\w.-]+)?)\]|([^:@/\s[\]]+)):(\d{1,5})$/.exec(target);
  if (!m) return undefined;
  const port = Number(m[3]);
  if (port < 1 || port > 65535) return undefined;
  return { host: m[1] ?? m[2]!, port };
}

const err = (status: number, reason: string): Interpreted => ({ kind: "error", status, reason });

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
  const framing = requestFraming(head);
  if ("error" in framing) return err(framing.status, framing.error);
  if (
    headerValues(head, "upgrade").length > 0 ||
    headerValues(head, "expect").some((v) => v.toLowerCase() !== "100-continue")
  ) {
    return err(501, "Upgrade and Expect other than 100-continue are not proxied");
  }
  const hostHeader = hosts[0] ?? url.host;
  const headers = endToEndHeaders(head).filter(([n]) => n.toLowerCase() !== "host");
  const out = serializeHead(`${method} ${url.pathname}${url.search} HTTP/1.1`, [["Host", hostHeader], ...headers]);
  return {
    kind: "forward",
    host,
    port,
    authority: url.host,
    hostHeader: hosts[0],
    method,
    framing,
    out,
    close: wantsClose(head, version),
  };
}
