// Shaping DNS responses: refusals, denials, aged TTLs and UDP truncation. Pure. (Which answers a
// client may see is decided in decide-answers.ts.)
import * as dns from "dns-packet";

export const RCODE = { NOERROR: 0, FORMERR: 1, SERVFAIL: 2, NXDOMAIN: 3, NOTIMP: 4, REFUSED: 5 } as const;

const OUR_EDNS_SIZE = 1232;

/** The client's usable UDP response size: 512 without EDNS, else its advertised size (≥ 512). */
export function clientUdpSize(query: dns.Packet): number {
  const opt = query.additionals?.find((a) => a.type === "OPT") as dns.OptAnswer | undefined;
  if (!opt) return 512;
  return Math.max(512, Math.min(opt.udpPayloadSize ?? 512, 65535));
}

export function hasEdns(query: dns.Packet): boolean {
  return query.additionals?.some((a) => a.type === "OPT") ?? false;
}

function ednsRecord(): dns.OptAnswer {
  return {
    type: "OPT",
    name: ".",
    udpPayloadSize: OUR_EDNS_SIZE,
    extendedRcode: 0,
    ednsVersion: 0,
    flags: 0,
    flag_do: false,
    options: [],
  };
}

/** A bare response echoing the question (when decodable) with the given rcode. */
export function reply(
  query: dns.Packet,
  rcode: number,
  answers: dns.Answer[] = [],
  authorities: dns.Answer[] = [],
): dns.Packet {
  const rd = (query.flags ?? 0) & dns.RECURSION_DESIRED;
  return {
    type: "response",
    id: query.id ?? 0,
    flags: rd | dns.RECURSION_AVAILABLE | (rcode & 0xf),
    questions: query.questions ?? [],
    answers,
    authorities,
    additionals: hasEdns(query) ? [ednsRecord()] : [],
  };
}

/** FORMERR for a query whose header we can read but whose body we cannot; undefined for garbage. */
export function formErr(raw: Buffer): Buffer | undefined {
  if (raw.length < 12) return undefined;
  // Never answer a response (QR set): that is how reflection loops start.
  if (raw[2]! & 0x80) return undefined;
  const out = Buffer.alloc(12);
  raw.copy(out, 0, 0, 2);
  out.writeUInt16BE(0x8000 | (raw.readUInt16BE(2) & 0x7800) | RCODE.FORMERR, 2);
  return out;
}

/** Rewrites TTLs to what remains of them after `ageSeconds` in the cache. */
export function agedAnswers(answers: readonly dns.Answer[], ageSeconds: number): dns.Answer[] {
  if (ageSeconds <= 0) return answers as dns.Answer[];
  return answers.map((a) =>
    "ttl" in a && typeof a.ttl === "number" ? { ...a, ttl: Math.max(0, a.ttl - ageSeconds) } : a,
  ) as dns.Answer[];
}

/** Encodes for UDP; when it would exceed what the client accepts, a TC=1 response without records. */
export function encodeForUdp(packet: dns.Packet, maxSize: number): Buffer {
  const full = dns.encode(packet);
  if (full.length <= maxSize) return full;
  return dns.encode({ ...packet, flags: (packet.flags ?? 0) | dns.TRUNCATED_RESPONSE, answers: [], authorities: [] });
}
