// A strict HTTP/1.x message-head parser for the proxy. Node exposes no standalone parser for
// a raw net server, and the proxy must be stricter than a server: anything two parsers could
// read differently (bare LF, obs-fold, CL with TE, duplicate lengths, control bytes) is an
// error here, because the gate and the upstream must agree on where each message ends.
export interface Head {
  startLine: [string, string, string];
  headers: [string, string][];
}

export interface HeadError {
  error: string;
  status: number;
}

const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
// Field values: visible ASCII, space, tab, and obs-text; never CR, LF, NUL or other controls.
const VALUE = /^[\t\x20-\x7e\x80-\xff]*$/;
const TARGET = /^[\x21-\x7e]+$/;

/** Index just past the blank line ending the head, or -1 when not yet complete. */
export function headEnd(buf: Buffer): number {
  const i = buf.indexOf("\r\n\r\n");
  return i < 0 ? -1 : i + 4;
}

function splitHead(text: string, maxHeaders: number): { lines: string[] } | HeadError {
  // Bare CR or LF anywhere is a smuggling vector: split only on CRLF and reject leftovers.
  const lines = text.split("\r\n");
  for (const l of lines)
    if (l.includes("\r") || l.includes("\n")) return { error: "bare CR or LF in message head", status: 400 };
  if (lines.length - 1 > maxHeaders) return { error: `more than ${maxHeaders} header fields`, status: 431 };
  return { lines };
}

function parseFields(lines: string[]): [string, string][] | HeadError {
  const headers: [string, string][] = [];
  for (const line of lines) {
    if (line === "") continue;
    if (line[0] === " " || line[0] === "\t") return { error: "obsolete line folding", status: 400 };
    const colon = line.indexOf(":");
    if (colon <= 0) return { error: "header field without a name", status: 400 };
    const name = line.slice(0, colon);
    if (!TOKEN.test(name)) return { error: `invalid header name '${name.slice(0, 40)}'`, status: 400 };
    const value = line.slice(colon + 1).replace(/^[ \t]+|[ \t]+$/g, "");
    if (!VALUE.test(value)) return { error: `control character in header '${name}'`, status: 400 };
    headers.push([name, value]);
  }
  return headers;
}

/** Parses a request head (without its final CRLFCRLF), as latin1 bytes. */
export function parseRequestHead(raw: Buffer, maxHeaders: number): Head | HeadError {
  const split = splitHead(raw.toString("latin1"), maxHeaders);
  if ("error" in split) return split;
  const [first, ...rest] = split.lines;
  const m = /^([^ ]+) ([^ ]+) HTTP\/(1\.[01])$/.exec(first ?? "");
  if (!m || !TOKEN.test(m[1]!)) return { error: "malformed request line", status: 400 };
  if (!TARGET.test(m[2]!)) return { error: "invalid request target", status: 400 };
  const headers = parseFields(rest);
  if ("error" in headers) return headers;
  return { startLine: [m[1]!, m[2]!, m[3]!], headers };
}

export function parseResponseHead(raw: Buffer, maxHeaders: number): Head | HeadError {
  const split = splitHead(raw.toString("latin1"), maxHeaders);
  if ("error" in split) return split;
  const [first, ...rest] = split.lines;
  const m = /^HTTP\/(1\.[01]) (\d{3})(?: (.*))?$/.exec(first ?? "");
  if (!m) return { error: "malformed status line", status: 502 };
  const headers = parseFields(rest);
  if ("error" in headers) return { error: headers.error, status: 502 };
  return { startLine: [m[1]!, m[2]!, m[3] ?? ""], headers };
}

export function headerValues(head: Head, name: string): string[] {
  const lower = name.toLowerCase();
  return head.headers.filter(([n]) => n.toLowerCase() === lower).map(([, v]) => v);
}

export type Framing = { kind: "none" } | { kind: "length"; length: number } | { kind: "chunked" } | { kind: "close" };

/** How a request's body is delimited; errors on anything ambiguous (RFC 9112 §6.3, strictly). */
export function requestFraming(head: Head): Framing | HeadError {
  const te = headerValues(head, "transfer-encoding");
  const cl = headerValues(head, "content-length");
  if (te.length > 0 && cl.length > 0) return { error: "both Content-Length and Transfer-Encoding", status: 400 };
  if (te.length > 0) {
    if (head.startLine[2] === "1.0") return { error: "Transfer-Encoding in HTTP/1.0", status: 400 };
    if (te.length !== 1 || te[0]!.toLowerCase() !== "chunked")
      return { error: "unsupported Transfer-Encoding", status: 501 };
    return { kind: "chunked" };
  }
  if (cl.length > 1) return { error: "more than one Content-Length", status: 400 };
  if (cl.length === 1) {
    if (!/^\d{1,15}$/.test(cl[0]!)) return { error: "invalid Content-Length", status: 400 };
    const n = Number(cl[0]);
    return n === 0 ? { kind: "none" } : { kind: "length", length: n };
  }
  return { kind: "none" };
}

export function responseFraming(head: Head, requestMethod: string): Framing | HeadError {
  const status = Number(head.startLine[1]);
  if (requestMethod === "HEAD" || status === 204 || status === 304 || (status >= 100 && status < 200))
    return { kind: "none" };
  const te = headerValues(head, "transfer-encoding");
  const cl = headerValues(head, "content-length");
  if (te.length > 0) {
    if (cl.length > 0) return { error: "upstream sent both Content-Length and Transfer-Encoding", status: 502 };
    const codings = te
      .join(",")
      .split(",")
      .map((s) => s.trim().toLowerCase());
    return codings[codings.length - 1] === "chunked" ? { kind: "chunked" } : { kind: "close" };
  }
  if (cl.length > 0) {
    const distinct = new Set(cl.flatMap((v) => v.split(",").map((s) => s.trim())));
    const only = [...distinct][0]!;
    if (distinct.size !== 1 || !/^\d{1,15}$/.test(only))
      return { error: "upstream sent an invalid Content-Length", status: 502 };
    return { kind: "length", length: Number(only) };
  }
  return { kind: "close" };
}

const HOP_BY_HOP = new Set([
  "connection",
  "keep-alive",
  "proxy-authorization",
  // the sandbox bridge's run label: meant for the gate, never for the destination
  "x-corral-run",
  "proxy-authenticate",
  "proxy-connection",
  "te",
  "trailer",
  "upgrade",
]);

/** Header fields to pass on: hop-by-hop ones and those the Connection header names removed. */
export function endToEndHeaders(head: Head): [string, string][] {
  const named = new Set(
    headerValues(head, "connection")
      .flatMap((v) => v.split(","))
      .map((s) => s.trim().toLowerCase())
      .filter(
        (s) =>
          s &&
          s !== "close" &&
          s !== "keep-alive" &&
          s !== "transfer-encoding" &&
          s !== "content-length" &&
          s !== "host",
      ),
  );
  return head.headers.filter(([n]) => {
    const l = n.toLowerCase();
    return !HOP_BY_HOP.has(l) && !named.has(l);
  });
}

/** Whether the peer asked to close after this message. */
export function wantsClose(head: Head, version: string): boolean {
  const tokens = headerValues(head, "connection").flatMap((v) => v.split(",").map((s) => s.trim().toLowerCase()));
  if (tokens.includes("close")) return true;
  return version === "1.0" && !tokens.includes("keep-alive");
}

export function serializeHead(startLine: string, headers: [string, string][]): Buffer {
  let s = `${startLine}\r\n`;
  for (const [n, v] of headers) s += `${n}: ${v}\r\n`;
  return Buffer.from(`${s}\r\n`, "latin1");
}
