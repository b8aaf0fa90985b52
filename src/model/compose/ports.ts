// Published ports as the engine reads them (moby's nat.ParsePortSpec for the short syntax,
// compose's long syntax), and `expose` entries.
import ipaddr from "ipaddr.js";
import type { Protocol } from "../types.ts";

export interface ParsedPort {
  hostIp?: string;
  hostPort?: { from: number; to: number };
  target: { from: number; to: number };
  protocol: Protocol;
}

export type PortParse = { ok: true; port: ParsedPort } | { ok: false; error: string };

const PROTOCOLS = new Set(["tcp", "udp", "sctp"]);

/** As Go's net.ParseIP: dotted quad or IPv6 (ipaddr.isValid also takes legacy forms like "1.2.3"). */
function isIp(s: string): boolean {
  return ipaddr.IPv4.isValidFourPartDecimal(s) || ipaddr.IPv6.isValid(s);
}

export function parseRange(s: string): { from: number; to: number } | undefined {
  const m = /^(\d+)(?:-(\d+))?$/.exec(s.trim());
  if (!m) return undefined;
  const from = Number(m[1]);
  const to = m[2] === undefined ? from : Number(m[2]);
  if (from < 0 || to > 65535 || to < from) return undefined;
  return { from, to };
}

function splitProto(s: string): { rest: string; protocol: string } {
  const slash = s.lastIndexOf("/");
  if (slash < 0) return { rest: s, protocol: "tcp" };
  return { rest: s.slice(0, slash), protocol: s.slice(slash + 1).toLowerCase() || "tcp" };
}

/** `"3000"`, `"8080:80"`, `"127.0.0.1:8080:80"`, `"[::1]:8080:80"`, `"::1:8080:80"`, ranges, `/udp`. */
export function parseShortPort(spec: string): PortParse {
  const { rest, protocol } = splitProto(spec.trim());
  if (!PROTOCOLS.has(protocol)) return { ok: false, error: `unknown protocol "${protocol}"` };
  const parts = rest.split(":");
  const n = parts.length;
  const container = parts[n - 1] ?? "";
  let hostPort = "";
  let ip = "";
  if (n === 2) hostPort = parts[0] ?? "";
  else if (n >= 3) {
    hostPort = parts[n - 2] ?? "";
    ip = parts.slice(0, n - 2).join(":");
  }
  if (ip.startsWith("[")) {
    if (!ip.endsWith("]")) return { ok: false, error: `invalid IP address "${ip}"` };
    ip = ip.slice(1, -1);
  }
  if (ip !== "" && !isIp(ip)) return { ok: false, error: `invalid IP address "${ip}"` };
  if (container === "") return { ok: false, error: "no container port given" };
  const target = parseRange(container);
  if (!target) return { ok: false, error: `invalid container port "${container}"` };
  let host: { from: number; to: number } | undefined;
  if (hostPort !== "") {
    host = parseRange(hostPort);
    if (!host) return { ok: false, error: `invalid host port "${hostPort}"` };
    // a host range with a single container port lets the engine pick one host port
    if (host.to - host.from !== target.to - target.from && target.from !== target.to) {
      return { ok: false, error: `host range ${hostPort} and container range ${container} differ in size` };
    }
  }
  const port: ParsedPort = { target, protocol: protocol as Protocol };
  if (ip !== "") port.hostIp = ip;
  if (host) port.hostPort = host;
  return { ok: true, port };
}

/** Long syntax: target, published (number or "a-b"), host_ip, protocol. */
export function parseLongPort(p: {
  target?: string | number | null;
  published?: string | number | null;
  host_ip?: string | null;
  protocol?: string | null;
}): PortParse {
  if (p.target === undefined || p.target === null || p.target === "")
    return { ok: false, error: "`target` is required" };
  const target = parseRange(String(p.target));
  if (!target) return { ok: false, error: `invalid target "${p.target}"` };
  const protocol = (p.protocol ?? "tcp").toLowerCase();
  if (!PROTOCOLS.has(protocol)) return { ok: false, error: `unknown protocol "${protocol}"` };
  const port: ParsedPort = { target, protocol: protocol as Protocol };
  if (p.published !== undefined && p.published !== null && String(p.published) !== "") {
    const host = parseRange(String(p.published));
    if (!host) return { ok: false, error: `invalid published port "${p.published}"` };
    port.hostPort = host;
  }
  if (p.host_ip) {
    const ip = p.host_ip.startsWith("[") && p.host_ip.endsWith("]") ? p.host_ip.slice(1, -1) : p.host_ip;
    if (!isIp(ip)) return { ok: false, error: `invalid host_ip "${p.host_ip}"` };
    port.hostIp = ip;
  }
  return { ok: true, port };
}

/** `expose` entry: "3000", "3000-3005", "53/udp". */
export function parseExpose(spec: string): { from: number; to: number; protocol: Protocol } | undefined {
  const { rest, protocol } = splitProto(spec.trim());
  if (!PROTOCOLS.has(protocol)) return undefined;
  const r = parseRange(rest);
  return r ? { ...r, protocol: protocol as Protocol } : undefined;
}
