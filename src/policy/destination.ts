// Egress destinations as written in a policy, parsed once into a matchable form. Wildcards:
//   *.example.com   exactly one label before example.com  (a.example.com, not a.b.example.com)
//   **.example.com  one or more labels                    (a.example.com, a.b.example.com)
// Neither matches the apex example.com; list it on its own. This is Cilium's matchPattern
// meaning of `*` and `**.`, so compiled CiliumNetworkPolicies agree with the gate.

import { domainToASCII } from "node:url";
import ipaddr from "ipaddr.js";

export type DestinationHost =
  | { kind: "exact"; name: string }
  | { kind: "wildcard"; suffix: string; depth: "one" | "any" }
  | { kind: "cidr"; cidr: string; addr: ipaddr.IPv4 | ipaddr.IPv6; prefix: number };

export interface Destination {
  raw: string;
  host: DestinationHost;
  /** undefined = any port */
  port?: { from: number; to: number };
}

// ASCII that may not appear in a host name. domainToASCII parses like a URL host: it cuts at
// '/', '?', '#' or '\\' and drops tabs and newlines ("allowed.test/x" → "allowed.test"), so any
// such character is refused before it can be normalised into an allowed name.
const ASCII_OUTSIDE_NAMES = /[\x00-\x2c\x2f\x3a-\x40\x5b-\x5e\x60\x7b-\x7f]/;

/** Lowercase, no trailing dot, IDNA (punycode) form; undefined when not a valid DNS name. */
export function normalizeHostname(name: string): string | undefined {
  const trimmed = name.endsWith(".") ? name.slice(0, -1) : name;
  if (trimmed === "" || trimmed.length > 253 || ASCII_OUTSIDE_NAMES.test(trimmed)) return undefined;
  const ascii = domainToASCII(trimmed);
  if (!ascii) return undefined;
  const labels = ascii.split(".");
  if (labels.some((l) => l.length === 0 || l.length > 63 || !/^[a-z0-9_](?:[a-z0-9_-]*[a-z0-9_])?$/.test(l)))
    return undefined;
  return ascii;
}

function splitPort(raw: string): { host: string; port?: string } {
  if (raw.startsWith("[")) {
    const end = raw.indexOf("]");
    if (end < 0) return { host: raw };
    const rest = raw.slice(end + 1);
    return { host: raw.slice(1, end), port: rest.startsWith(":") ? rest.slice(1) : undefined };
  }
  const slash = raw.indexOf("/");
  const colon = raw.lastIndexOf(":");
  // A bare IPv6 CIDR (`fd00::/8`) has colons but no port.
  if (colon > 0 && (slash < 0 || colon > slash) && raw.indexOf(":") === colon) {
    return { host: raw.slice(0, colon), port: raw.slice(colon + 1) };
  }
  if (slash > 0 && colon > slash) return { host: raw.slice(0, colon), port: raw.slice(colon + 1) };
  return { host: raw };
}

function parsePortPart(port: string | undefined): { from: number; to: number } | undefined | "bad" {
  if (port === undefined || port === "*") return undefined;
  const m = /^(\d{1,5})(?:-(\d{1,5}))?$/.exec(port);
  if (!m) return "bad";
  const from = Number(m[1]);
  const to = m[2] === undefined ? from : Number(m[2]);
  if (from < 1 || to > 65535 || from > to) return "bad";
  return { from, to };
}

/** Parses one `allow`/`deny` entry; returns an error message (for the policy loader) on failure. */
export function parseDestination(raw: string): Destination | { error: string; hint: string } {
  const { host, port } = splitPort(raw.trim());
  const portRange = parsePortPart(port);
  if (portRange === "bad") return { error: `bad port in destination '${raw}'`, hint: "use host:443 or host:8000-8100" };
  if (host.includes("/")) {
    try {
      const [addr, prefix] = ipaddr.parseCIDR(host);
      return { raw, host: { kind: "cidr", cidr: `${addr.toString()}/${prefix}`, addr, prefix }, port: portRange };
    } catch {
      return { error: `'${host}' is not a valid CIDR`, hint: "write it like 10.20.0.0/16 or fd00::/8" };
    }
  }
  if (ipaddr.isValid(host)) {
    const addr = ipaddr.parse(host);
    const prefix = addr.kind() === "ipv4" ? 32 : 128;
    return { raw, host: { kind: "cidr", cidr: `${addr.toString()}/${prefix}`, addr, prefix }, port: portRange };
  }
  const wildcard = /^(\*\*?)\.(.+)$/.exec(host);
  if (wildcard) {
    const suffix = normalizeHostname(wildcard[2]!);
    if (!suffix) return { error: `'${host}' is not a valid wildcard name`, hint: "write it like *.example.com" };
    return { raw, host: { kind: "wildcard", suffix, depth: wildcard[1] === "**" ? "any" : "one" }, port: portRange };
  }
  if (host.includes("*")) {
    return {
      error: `'${host}': '*' may only stand as the whole first label`,
      hint: "use *.example.com (one label) or **.example.com (any depth)",
    };
  }
  const name = normalizeHostname(host);
  if (!name)
    return {
      error: `'${host}' is not a valid host name`,
      hint: "write a DNS name like api.openai.com, a wildcard like *.example.com, or a CIDR",
    };
  return { raw, host: { kind: "exact", name }, port: portRange };
}

/** True when a normalised name matches the destination's host part (names only, not addresses). */
export function nameMatches(host: DestinationHost, name: string): boolean {
  switch (host.kind) {
    case "exact":
      return host.name === name;
    case "wildcard": {
      if (!name.endsWith(`.${host.suffix}`)) return false;
      const head = name.slice(0, -host.suffix.length - 1);
      return host.depth === "any" ? head.length > 0 : head.length > 0 && !head.includes(".");
    }
    case "cidr":
      return false;
  }
}

export function addressMatches(host: DestinationHost, addr: ipaddr.IPv4 | ipaddr.IPv6): boolean {
  if (host.kind !== "cidr") return false;
  let a: ipaddr.IPv4 | ipaddr.IPv6 = addr;
  if (a.kind() === "ipv6" && (a as ipaddr.IPv6).isIPv4MappedAddress()) a = (a as ipaddr.IPv6).toIPv4Address();
  if (a.kind() !== host.addr.kind()) return false;
  return a.match(host.addr, host.prefix);
}

export function portMatches(dest: Destination, port: number): boolean {
  return dest.port === undefined || (port >= dest.port.from && port <= dest.port.to);
}
