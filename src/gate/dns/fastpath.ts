// The common query, read without the full decoder: one question, a plain name, class IN, no
// records but at most one option-less OPT. Anything else returns undefined and goes through
// dns-packet, so this parser only has to be right about the shapes it accepts. Pure.

// The types whose names dns-packet uses; any other type code goes the full way.
const TYPES = new Map<number, string>([
  [1, "A"],
  [2, "NS"],
  [5, "CNAME"],
  [6, "SOA"],
  [12, "PTR"],
  [15, "MX"],
  [16, "TXT"],
  [28, "AAAA"],
  [33, "SRV"],
  [257, "CAA"],
]);

export interface FastQuery {
  id: number;
  /** recursion desired (the only request flag a response echoes) */
  rd: boolean;
  /** the question name exactly as dns-packet decodes it (case kept) */
  name: string;
  type: string;
  /** an OPT record was present */
  edns: boolean;
  /** what clientUdpSize() would say */
  udpSize: number;
  /** the memo key of this question shape (name, type, RD, EDNS) */
  key: string;
}

/** Label bytes we take as they are: letters, digits, '-' and '_' (dns-packet keeps them verbatim). */
function plainByte(b: number): boolean {
  return (b >= 0x61 && b <= 0x7a) || (b >= 0x41 && b <= 0x5a) || (b >= 0x30 && b <= 0x39) || b === 0x2d || b === 0x5f;
}

export function parseFastQuery(raw: Buffer): FastQuery | undefined {
  const len = raw.length;
  if (len < 17 || len > 512) return undefined;
  const flags = raw.readUInt16BE(2);
  // QR=0, opcode 0, no AA/TC; Z/AD/CD and RCODE bits are left to the full decoder.
  if ((flags & 0xfe7f) !== 0) return undefined;
  if (raw.readUInt16BE(4) !== 1 || raw.readUInt16BE(6) !== 0 || raw.readUInt16BE(8) !== 0) return undefined;
  const arcount = raw.readUInt16BE(10);
  if (arcount > 1) return undefined;
  let o = 12;
  let name = "";
  for (;;) {
    if (o >= len) return undefined;
    const l = raw[o]!;
    if (l === 0) break;
    // Compression pointers and extended label types: full decoder.
    if (l > 63) return undefined;
    if (o + 1 + l > len) return undefined;
    for (let i = o + 1; i <= o + l; i++) if (!plainByte(raw[i]!)) return undefined;
    name += (name ? "." : "") + raw.toString("latin1", o + 1, o + 1 + l);
    o += 1 + l;
    if (o - 12 > 254) return undefined;
  }
  if (name === "") return undefined;
  o++;
  if (o + 4 > len) return undefined;
  const typeCode = raw.readUInt16BE(o);
  if (raw.readUInt16BE(o + 2) !== 1) return undefined;
  o += 4;
  const type = TYPES.get(typeCode);
  if (type === undefined) return undefined;
  let edns = false;
  let udpSize = 512;
  if (arcount === 1) {
    // root name, type OPT, class = payload size, TTL = ext-rcode/version/flags, RDLENGTH 0
    if (o + 11 !== len || raw[o] !== 0 || raw.readUInt16BE(o + 1) !== 41 || raw.readUInt16BE(o + 9) !== 0)
      return undefined;
    edns = true;
    udpSize = Math.max(512, raw.readUInt16BE(o + 3));
  } else if (o !== len) return undefined;
  const rd = (flags & 0x0100) !== 0;
  return {
    id: raw.readUInt16BE(0),
    rd,
    name,
    type,
    edns,
    udpSize,
    key: `${name}|${type}|${rd ? 256 : 0}|${edns ? 1 : 0}`,
  };
}
