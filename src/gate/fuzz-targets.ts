// Fuzz targets for the gate's entry points, shared by the test suite (≈100k inputs) and
// fuzz/run.ts (1M). Inputs mix grammar-aware pieces (address notations, smuggling headers,
// look-alike hosts) with raw bytes, so both deep and shallow paths are reached.
// Properties: never throw, never allow a destination the policy does not name, never let a
// forwarded head differ in meaning from what was decided.
import * as dns from "dns-packet";
import fc from "fast-check";
import { normalizeHostname } from "../policy/destination.ts";
import { parsePolicy } from "../policy/load.ts";
import type { GateContext } from "./context.ts";
import { decide } from "./decide.ts";
import { decideHostHeader } from "./decide-request.ts";
import { handleQuery } from "./dns/server.ts";
import { buildIndex, type PolicyIndex } from "./policy-index.ts";
import { BodyReader } from "./proxy/body.ts";
import { headEnd, parseRequestHead, requestFraming } from "./proxy/http-head.ts";
import { interpretRequest } from "./proxy/request.ts";
import { parseClientHello } from "./proxy/tls-sni.ts";
import { reasonText } from "./reason.ts";
import { floorVerdict, parseIpLiteral } from "./ssrf.ts";

export const FUZZ_POLICY = `version: 1
identities:
  agent: { source: [127.0.0.1/32] }
egress:
  - from: agent
    allow: ["allowed.test:8080", "*.wild.test:8080", "**.deep.test:443"]
floor:
  allow_ranges: [127.0.0.2/32]
`;

export function fuzzIndex(): PolicyIndex {
  return buildIndex(parsePolicy(FUZZ_POLICY, "fuzz.yaml").policy);
}

const HOSTS = [
  "allowed.test",
  "allowed.test",
  "allowed.test",
  "ALLOWED.TEST",
  "allowed.test.",
  "a.wild.test",
  "a.b.wild.test",
  "x.y.deep.test",
  "wild.test",
  "allowed.test.evil",
  "evilallowed.test",
  "\u0430llowed.test",
  "allowed\uff0etest",
  "xn--llowed-2nf.test",
  "127.0.0.1",
  "2130706433",
  "0x7f.1",
  "0177.0.0.1",
  "127.1",
  "[::1]",
  "[::ffff:127.0.0.1]",
  "[64:ff9b::7f00:1]",
  "169.254.169.254",
  "[fe80::1%25eth0]",
  "0",
  "127.0.0.2",
  "localhost",
  "%61llowed.test",
  "allowed.test@127.0.0.1",
  "allowed.test\\@127.0.0.1",
  "user:pw@allowed.test",
  "",
];
const PORTS = ["", ":8080", ":8080", ":8080", ":80", ":443", ":0", ":65536", ":8080:80", ":+8080", ": 8080", ":0x1f90"];
const PATHS = ["/", "/x?y=1", "#@127.0.0.1/", "/%0d%0aHost:%20evil", "?@evil/", "\\@evil/", ""];
const GOOD_HEADERS = [
  "Host: allowed.test:8080",
  "Host: allowed.test:8080",
  "Accept: */*",
  "Content-Length: 0",
  "Connection: keep-alive",
];
const HEADERS = [
  "Host: allowed.test:8080",
  "Host: 127.0.0.1",
  "Host: allowed.test",
  "host: allowed.test:8080",
  "Host : allowed.test:8080",
  " Host: allowed.test:8080",
  "Host: allowed.test:8080\rX: y",
  "Content-Length: 5",
  "Content-Length: 5, 5",
  "Content-Length: -1",
  "Transfer-Encoding: chunked",
  "Transfer-Encoding: chunked, identity",
  "Transfer-Encoding:\tchunked",
  "Proxy-Authorization: Bearer x",
  "Connection: close, Host",
  "Connection: Transfer-Encoding",
  "Upgrade: h2c",
  "Expect: 100-continue",
  "X-Forwarded-For: 127.0.0.1",
  "X: \u0000",
];

/** Valid pieces nine times in ten, so most inputs get past the parser to the decision. */
function mostly<T>(good: fc.Arbitrary<T>, bad: fc.Arbitrary<T>): fc.Arbitrary<T> {
  return fc.oneof({ weight: 9, arbitrary: good }, { weight: 1, arbitrary: bad });
}

/** A request head: grammar pieces joined with CRLF, or raw bytes. */
export const httpHeadArb: fc.Arbitrary<Buffer> = fc.oneof(
  {
    weight: 10,
    arbitrary: fc
      .record({
        method: mostly(
          fc.constantFrom("GET", "POST", "CONNECT", "HEAD", "PUT"),
          fc.constantFrom("G ET", "get", "", "CONNECT "),
        ),
        scheme: fc.constantFrom(
          "http://",
          "http://",
          "http://",
          "https://",
          "HTTP://",
          "http:/",
          "http:\\\\",
          "",
          "ftp://",
        ),
        host: fc.constantFrom(...HOSTS),
        port: fc.constantFrom(...PORTS),
        path: fc.constantFrom(...PATHS),
        version: mostly(
          fc.constantFrom("HTTP/1.1", "HTTP/1.0"),
          fc.constantFrom("HTTP/2", "HTTP/1.1 ", "", "http/1.1"),
        ),
        headers: fc.array(
          fc.oneof({ weight: 3, arbitrary: fc.constantFrom(...GOOD_HEADERS) }, fc.constantFrom(...HEADERS)),
          { maxLength: 5 },
        ),
        sep: mostly(fc.constant("\r\n"), fc.constantFrom("\n", "\r", "\r\r\n")),
        matchingHost: fc.boolean(),
      })
      .map(({ method, scheme, host, port, path, version, headers, sep, matchingHost }) => {
        const target = method === "CONNECT" ? `${host}${port}` : `${scheme}${host}${port}${path}`;
        // Half the time the Host header agrees with the target, so the decision path is reached.
        if (matchingHost) headers = [`Host: ${host}${port}`, ...headers.filter((h) => !/^host:/i.test(h))];
        return Buffer.from([`${method} ${target} ${version}`, ...headers].join(sep), "utf8");
      }),
  },
  { weight: 1, arbitrary: fc.uint8Array({ maxLength: 300 }).map((a) => Buffer.from(a)) },
  {
    weight: 1,
    arbitrary: fc
      .string({ maxLength: 200 })
      .map((s) => Buffer.from(`GET http://${s} HTTP/1.1\r\nHost: ${s}`, "latin1")),
  },
);

const ALLOWED = new Set(["allowed.test"]);
function nameAllowed(name: string, port: number): boolean {
  if (ALLOWED.has(name) && port === 8080) return true;
  if (/^[^.]+\.wild\.test$/.test(name) && port === 8080) return true;
  return name.endsWith(".deep.test") && port === 443;
}

/** The HTTP property: parse → interpret → decide never throws and never allows what the policy does not name. */
export function checkHttpHead(index: PolicyIndex, raw: Buffer): void {
  const head = parseRequestHead(raw, 100);
  if ("error" in head) return;
  const req = interpretRequest(head);
  if (req.kind === "error") return;
  if (req.kind === "forward" && decideHostHeader(req.hostHeader, req)) return;
  const d = decide(index, "agent", { name: req.host, port: req.port });
  if (d.verdict !== "allow") return;
  const literal = parseIpLiteral(req.host);
  if (literal && literal !== "invalid") {
    if (floorVerdict(index.floor, literal, req.port)) throw new Error(`allowed a floor address: ${req.host}`);
    throw new Error(`allowed an address no rule names: ${req.host}`);
  }
  const name = normalizeHostname(req.host);
  if (!name || !nameAllowed(name, req.port)) throw new Error(`allowed ${req.host}:${req.port} (${reasonText(d)})`);
  if (req.kind === "forward") {
    // What goes upstream must read back as exactly one request for the same host.
    const end = headEnd(Buffer.concat([req.out]));
    if (end !== req.out.length) throw new Error("forwarded head has bytes after its end");
    const again = parseRequestHead(req.out.subarray(0, end - 4), 200);
    if ("error" in again) throw new Error(`forwarded head does not parse: ${again.error}`);
    const hosts = again.headers.filter(([n]) => n.toLowerCase() === "host");
    if (hosts.length !== 1) throw new Error("forwarded head has not exactly one Host");
    if ("error" in requestFraming(again)) throw new Error("forwarded head has ambiguous framing");
  }
}

export const chunkedArb: fc.Arbitrary<Buffer[]> = fc.array(
  fc
    .oneof(
      fc.constantFrom(
        "5\r\nhello\r\n",
        "0\r\n\r\n",
        "0\r\nX: y\r\n\r\n",
        "ff;ext=1\r\n",
        "\r\n",
        "5\n",
        "-1\r\n",
        "0x5\r\n",
        "10000000000000\r\n",
      ),
      fc.uint8Array({ maxLength: 40 }).map((a) => Buffer.from(a).toString("latin1")),
    )
    .map((s) => Buffer.from(s, "latin1")),
  { maxLength: 8 },
);

export function checkChunked(parts: Buffer[]): void {
  const r = new BodyReader({ kind: "chunked" });
  for (const p of parts) {
    const f = r.feed(p);
    if (f.consumed < 0 || f.consumed > p.length) throw new Error("consumed out of range");
    if (f.error || f.done) return;
  }
}

export const tlsArb: fc.Arbitrary<Buffer> = fc.oneof(
  fc
    .uint8Array({ maxLength: 200 })
    .map((a) => Buffer.concat([Buffer.from([0x16, 0x03, 0x01, a.length >> 8, a.length & 0xff, 0x01]), Buffer.from(a)])),
  fc.uint8Array({ maxLength: 120 }).map((a) => Buffer.from(a)),
);

export function checkTls(raw: Buffer): void {
  const r = parseClientHello(raw);
  if (r.kind === "sni" && r.name !== undefined && !/^[\x21-\x7e]+$/.test(r.name))
    throw new Error("non-ASCII SNI accepted");
}

const QNAMES = [
  "allowed.test",
  "ALLOWED.test",
  "a.wild.test",
  "evil.test",
  "allowed.test.evil",
  "\u0430llowed.test",
  "127.0.0.1",
  "localhost",
  "x.y.deep.test",
  "",
];

/** A query packet, with an OPT record advertising `edns` bytes when it is not null. */
export function encodeQuery(q: { id: number; flags: number; name: string; type: string; edns: number | null }): Buffer {
  const opt = {
    type: "OPT",
    name: ".",
    udpPayloadSize: q.edns,
    extendedRcode: 0,
    ednsVersion: 0,
    flags: 0,
    flag_do: false,
    options: [],
  };
  return dns.encode({
    type: "query",
    id: q.id,
    flags: q.flags,
    questions: [{ name: q.name, type: q.type as dns.RecordType, class: "IN" }],
    additionals: q.edns === null ? [] : [opt as unknown as dns.Answer],
  });
}

/** A DNS query: valid packets with interesting names/types/flags, mutated valid packets, or raw bytes. */
export const dnsArb: fc.Arbitrary<Buffer> = fc.oneof(
  {
    weight: 3,
    arbitrary: fc
      .record({
        id: fc.integer({ min: 0, max: 65535 }),
        flags: fc.integer({ min: 0, max: 0x7fff }),
        name: fc.oneof(fc.constantFrom(...QNAMES), fc.domain()),
        type: fc.constantFrom("A", "AAAA", "TXT", "ANY", "AXFR", "MX", "CNAME", "PTR", "HTTPS"),
        edns: fc.option(fc.integer({ min: 0, max: 65535 })),
      })
      .map(({ id, flags, name, type, edns }) => encodeQuery({ id, flags: flags & ~0x8000, name, type, edns })),
  },
  {
    weight: 1,
    arbitrary: fc
      .tuple(
        fc.constantFrom(...QNAMES.filter(Boolean)),
        fc.array(fc.tuple(fc.nat(60), fc.integer({ min: 0, max: 255 })), { maxLength: 4 }),
      )
      .map(([name, muts]) => {
        const b = Buffer.from(
          dns.encode({
            type: "query",
            id: 1,
            flags: dns.RECURSION_DESIRED,
            questions: [{ name, type: "A", class: "IN" }],
          }),
        );
        for (const [at, v] of muts) if (at < b.length) b[at] = v;
        return b;
      }),
  },
  { weight: 1, arbitrary: fc.uint8Array({ maxLength: 120 }).map((a) => Buffer.from(a)) },
);

/** The DNS property: handleQuery never throws; address answers only for allowed names, never inside the floor. */
export async function checkDns(ctx: GateContext, raw: Buffer): Promise<void> {
  const res = await handleQuery(ctx, raw, "127.0.0.1");
  if (!res) return;
  dns.encode(res);
  const q = res.questions?.[0];
  for (const a of res.answers ?? []) {
    if (a.type !== "A" && a.type !== "AAAA") continue;
    const name = q ? normalizeHostname(q.name) : undefined;
    if (!name || !(ALLOWED.has(name) || /^[^.]+\.wild\.test$/.test(name) || name.endsWith(".deep.test"))) {
      throw new Error(`answered ${a.data} for disallowed ${q?.name}`);
    }
    const literal = parseIpLiteral(String(a.data));
    if (literal && literal !== "invalid" && floorVerdict(ctx.snapshot().index.floor, literal))
      throw new Error(`answer inside the floor: ${a.data}`);
  }
}
