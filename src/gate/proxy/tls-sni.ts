// Reads the server name a TLS client asks for from its ClientHello, without terminating TLS,
// so a CONNECT for an allowed host cannot carry a handshake for another one.
export type SniResult =
  | { kind: "sni"; name: string | undefined }
  | { kind: "incomplete" }
  | { kind: "invalid"; reason: string };

const MAX_HELLO = 65536;

/** Concatenated handshake bytes from consecutive TLS handshake records. */
function handshakeBytes(buf: Buffer): Buffer | "incomplete" | string {
  const parts: Buffer[] = [];
  let total = 0;
  let off = 0;
  let need = -1;
  while (true) {
    if (buf.length < off + 5) return "incomplete";
    if (buf[off] !== 0x16) return "not a TLS handshake record";
    if (buf[off + 1] !== 0x03) return "unknown TLS record version";
    const len = buf.readUInt16BE(off + 3);
    if (len === 0 || len > 16384 + 2048) return "bad TLS record length";
    if (buf.length < off + 5 + len) return "incomplete";
    const frag = buf.subarray(off + 5, off + 5 + len);
    parts.push(frag);
    total += frag.length;
    off += 5 + len;
    if (need < 0 && total >= 4) {
      const hs = Buffer.concat(parts);
      if (hs[0] !== 0x01) return "first handshake message is not a ClientHello";
      need = 4 + hs.readUIntBE(1, 3);
      if (need > MAX_HELLO) return "ClientHello too large";
    }
    if (need >= 0 && total >= need) return Buffer.concat(parts).subarray(0, need);
  }
}

export function parseClientHello(buf: Buffer): SniResult {
  const hs = handshakeBytes(buf);
  if (hs === "incomplete") return { kind: "incomplete" };
  if (typeof hs === "string") return { kind: "invalid", reason: hs };
  try {
    let p = 4 + 2 + 32; // header, client_version, random
    const sidLen = hs[p]!;
    p += 1 + sidLen;
    const csLen = hs.readUInt16BE(p);
    p += 2 + csLen;
    const compLen = hs[p]!;
    p += 1 + compLen;
    if (p === hs.length) return { kind: "sni", name: undefined };
    const extEnd = p + 2 + hs.readUInt16BE(p);
    p += 2;
    if (extEnd > hs.length) return { kind: "invalid", reason: "extensions overrun the ClientHello" };
    let name: string | undefined;
    let seen = false;
    while (p + 4 <= extEnd) {
      const type = hs.readUInt16BE(p);
      const len = hs.readUInt16BE(p + 2);
      const body = hs.subarray(p + 4, p + 4 + len);
      if (body.length !== len) return { kind: "invalid", reason: "extension overruns the ClientHello" };
      p += 4 + len;
      if (type !== 0) continue;
      if (seen) return { kind: "invalid", reason: "two server_name extensions" };
      seen = true;
      const listLen = body.readUInt16BE(0);
      if (listLen + 2 !== body.length) return { kind: "invalid", reason: "bad server_name list" };
      let q = 2;
      while (q < body.length) {
        const nameType = body[q]!;
        const nameLen = body.readUInt16BE(q + 1);
        const value = body.subarray(q + 3, q + 3 + nameLen);
        if (value.length !== nameLen) return { kind: "invalid", reason: "bad server_name entry" };
        q += 3 + nameLen;
        if (nameType !== 0) continue;
        if (name !== undefined) return { kind: "invalid", reason: "more than one host_name" };
        // RFC 6066: ASCII only, no trailing dot, no NUL.
        if (!/^[\x21-\x7e]+$/.test(value.toString("latin1")))
          return { kind: "invalid", reason: "non-ASCII server name" };
        name = value.toString("latin1");
      }
    }
    if (p !== extEnd) return { kind: "invalid", reason: "trailing bytes in extensions" };
    return { kind: "sni", name };
  } catch {
    return { kind: "invalid", reason: "truncated ClientHello" };
  }
}
