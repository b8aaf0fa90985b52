// The SSRF floor: which addresses the gate never dials, whatever a rule or mode says, and the
// canonical form of every way an attacker can spell an address.
//
// IP literals are parsed by ipaddr.js, which already accepts the legacy inet_aton(3) forms that
// curl, browsers and libc resolvers still honour and that attackers use to dodge string checks:
//   2130706433          one 32-bit decimal number         → 127.0.0.1
//   0x7f000001          one 32-bit hex number             → 127.0.0.1
//   017700000001        one 32-bit octal number           → 127.0.0.1
//   127.1  127.0.1      2- and 3-part forms (last part fills the remaining bytes)
//   0177.0.0.1 0x7f.1   octal / hex parts, mixed freely
// We add: trailing dot ("127.0.0.1."), brackets ("[::1]"), IPv6 zone ids ("fe80::1%eth0", the
// zone is dropped because the floor looks at the address), and the WHATWG rule that a host
// whose last label is numeric is an IPv4 literal or invalid — never a DNS name ("08.1.1.1",
// "1.2.3.4.5" are rejected instead of being resolved).
// IPv6 forms that carry an IPv4 address are checked by that address as well: IPv4-mapped
// ::ffff:0:0/96, IPv4-compatible ::/96, NAT64 64:ff9b::/96, 6to4 2002::/16 and Teredo 2001::/32
// (server in bits 32–63, client in the inverted last 32 bits).
import ipaddr from "ipaddr.js";

export type Addr = ipaddr.IPv4 | ipaddr.IPv6;

export interface Cidr {
  addr: Addr;
  prefix: number;
  label: string;
}

function cidr(text: string, label: string): Cidr {
  const [addr, prefix] = ipaddr.parseCIDR(text);
  return { addr, prefix, label };
}

/** Ranges the gate refuses to dial (RFC 6890 special-purpose registries, and then some). */
export const DENY_RANGES: readonly Cidr[] = [
  cidr("0.0.0.0/8", "unspecified"),
  cidr("10.0.0.0/8", "private"),
  cidr("100.64.0.0/10", "cgnat"),
  cidr("127.0.0.0/8", "loopback"),
  cidr("169.254.0.0/16", "link-local"),
  cidr("172.16.0.0/12", "private"),
  cidr("192.0.0.0/24", "reserved"),
  cidr("192.0.2.0/24", "documentation"),
  cidr("192.88.99.0/24", "reserved"),
  cidr("192.168.0.0/16", "private"),
  cidr("198.18.0.0/15", "benchmark"),
  cidr("198.51.100.0/24", "documentation"),
  cidr("203.0.113.0/24", "documentation"),
  cidr("224.0.0.0/4", "multicast"),
  cidr("255.255.255.255/32", "broadcast"),
  cidr("240.0.0.0/4", "reserved"),
  cidr("::/128", "unspecified"),
  cidr("::1/128", "loopback"),
  cidr("64:ff9b:1::/48", "reserved"),
  cidr("100::/64", "reserved"),
  cidr("2001:2::/48", "benchmark"),
  cidr("2001:10::/28", "reserved"),
  cidr("2001:20::/28", "reserved"),
  cidr("2001:db8::/32", "documentation"),
  cidr("3fff::/20", "documentation"),
  cidr("fc00::/7", "ula"),
  cidr("fe80::/10", "link-local"),
  cidr("fec0::/10", "reserved"),
  cidr("ff00::/8", "multicast"),
];

const GLOBAL_UNICAST_V6 = ipaddr.parseCIDR("2000::/3");
const NAT64 = ipaddr.parseCIDR("64:ff9b::/96");

/**
 * Parses an IP literal in any notation; undefined when `host` is not an IP literal at all
 * (a DNS name), "invalid" when it looks numeric but is not a valid address.
 */
export function parseIpLiteral(host: string): Addr | "invalid" | undefined {
  let h = host.trim();
  if (h.startsWith("[") && h.endsWith("]")) h = h.slice(1, -1);
  const percent = h.indexOf("%");
  if (h.includes(":")) {
    if (percent >= 0) h = h.slice(0, percent);
    return ipaddr.IPv6.isValid(h) ? ipaddr.IPv6.parse(h) : "invalid";
  }
  if (percent >= 0) return "invalid";
  if (h.endsWith(".")) h = h.slice(0, -1);
  const labels = h.split(".");
  const last = labels[labels.length - 1] ?? "";
  // WHATWG URL host parsing: a numeric last label means "this is IPv4", never a name.
  const numericLast = /^(0x[0-9a-f]*|[0-9]+)$/i.test(last);
  if (!numericLast) return undefined;
  if (labels.length > 4 || !ipaddr.IPv4.isValid(h)) return "invalid";
  return ipaddr.IPv4.parse(h);
}

/** The address as the kernel would dial it: IPv4-mapped IPv6 becomes plain IPv4. */
export function canonical(addr: Addr): Addr {
  if (addr.kind() === "ipv6") {
    const v6 = addr as ipaddr.IPv6;
    if (v6.isIPv4MappedAddress()) return v6.toIPv4Address();
  }
  return addr;
}

function v4FromBytes(b: number[], at: number, invert = false): ipaddr.IPv4 {
  const x = (n: number) => (invert ? ~n & 0xff : n);
  return new ipaddr.IPv4([x(b[at]!), x(b[at + 1]!), x(b[at + 2]!), x(b[at + 3]!)]);
}

/** IPv4 addresses carried inside an IPv6 address (compat, NAT64, 6to4, Teredo). */
export function embeddedV4(addr: Addr): ipaddr.IPv4[] {
  if (addr.kind() !== "ipv6") return [];
  const v6 = addr as ipaddr.IPv6;
  const b = v6.toByteArray();
  const p = v6.parts;
  const out: ipaddr.IPv4[] = [];
  if (v6.isIPv4MappedAddress()) out.push(v6.toIPv4Address());
  // IPv4-compatible ::a.b.c.d (deprecated, but some stacks still route it as IPv4).
  if (p.slice(0, 6).every((x) => x === 0) && !(p[6] === 0 && (p[7] ?? 0) <= 1)) out.push(v4FromBytes(b, 12));
  if (v6.match(NAT64)) out.push(v4FromBytes(b, 12));
  if (p[0] === 0x2002) out.push(v4FromBytes(b, 2));
  if (p[0] === 0x2001 && p[1] === 0) {
    out.push(v4FromBytes(b, 4));
    out.push(v4FromBytes(b, 12, true));
  }
  return out;
}

export interface Floor {
  allow: readonly Cidr[];
  /** The gate's own listening addresses: dialling them would loop through the gate. */
  self: readonly { addr: Addr; port?: number }[];
}

export function parseFloor(allowRanges: readonly string[], self: Floor["self"] = []): Floor {
  const allow = allowRanges.map((r) => {
    const text = r.includes("/") ? r : `${r}/${r.includes(":") ? 128 : 32}`;
    return cidr(text, "allowed");
  });
  return { allow, self };
}

function inRange(addr: Addr, r: Cidr): boolean {
  return addr.kind() === r.addr.kind() && addr.match(r.addr, r.prefix);
}

function floorAllows(floor: Floor, addr: Addr): boolean {
  return floor.allow.some((r) => inRange(addr, r));
}

function rangeOf(addr: Addr): string | undefined {
  for (const r of DENY_RANGES) if (inRange(addr, r)) return r.label;
  if (addr.kind() === "ipv6" && !addr.match(GLOBAL_UNICAST_V6)) {
    const v6 = addr as ipaddr.IPv6;
    // ::/96 and NAT64 forms are judged by the IPv4 they carry (checked by the caller).
    if (!(v6.parts.slice(0, 6).every((x) => x === 0) || v6.isIPv4MappedAddress() || v6.match(NAT64))) return "reserved";
  }
  return undefined;
}

/**
 * Why the floor forbids dialling `addr` (e.g. "loopback", "self"), or undefined when it may be
 * dialled. Applies in every mode: report and learn never lower the floor.
 */
export function floorVerdict(floor: Floor, rawAddr: Addr, port?: number): string | undefined {
  const addr = canonical(rawAddr);
  for (const s of floor.self) {
    const selfAddr = canonical(s.addr);
    if (selfAddr.kind() === addr.kind() && selfAddr.toString() === addr.toString()) {
      // The gate's own listener is never a destination; other ports on that host only if allowed.
      if (s.port === undefined || port === undefined || s.port === port) return "self";
    }
  }
  if (floorAllows(floor, addr)) return undefined;
  const own = rangeOf(addr);
  if (own) return own;
  for (const inner of embeddedV4(addr)) {
    if (floorAllows(floor, inner)) continue;
    const r = rangeOf(inner);
    if (r) return `${r} (embedded ${inner.toString()})`;
  }
  return undefined;
}

export function formatAddr(addr: Addr): string {
  return canonical(addr).toString();
}
