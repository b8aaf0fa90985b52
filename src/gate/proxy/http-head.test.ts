import assert from "node:assert/strict";
import { test } from "node:test";
import { BodyReader } from "./body.ts";
import {
  endToEndHeaders,
  type Head,
  parseRequestHead,
  parseResponseHead,
  requestFraming,
  responseFraming,
} from "./http-head.ts";

const req = (s: string) => parseRequestHead(Buffer.from(s, "latin1"), 100);

test("a well-formed absolute-URI request", () => {
  const h = req("GET http://a.example/x?y=1 HTTP/1.1\r\nHost: a.example\r\nX-A:  b \r\n") as Head;
  assert.deepEqual(h.startLine, ["GET", "http://a.example/x?y=1", "1.1"]);
  assert.deepEqual(h.headers[1], ["X-A", "b"]);
});

test("smuggling shapes are rejected", () => {
  const bad = [
    "GET http://a/ HTTP/1.1\nHost: a",
    "GET http://a/ HTTP/1.1\r\nHost: a\nX: y",
    "GET http://a/ HTTP/1.1\r\nHost: a\r\n folded",
    "GET http://a/ HTTP/1.1\r\nHost : a",
    "GET http://a/ HTTP/1.1\r\nX: a\rb",
    "GET http://a/ HTTP/1.1\r\nX: a\x00b",
    "GET http://a/ HTTP/2.0",
    "GET  http://a/ HTTP/1.1",
    "GET http://a/\x7f HTTP/1.1",
  ];
  for (const b of bad) assert.ok("error" in req(b), JSON.stringify(b));
});

test("framing: CL+TE, duplicate CL, unknown TE are errors", () => {
  const f = (headers: string) => requestFraming(req(`POST http://a/ HTTP/1.1\r\nHost: a\r\n${headers}`) as Head);
  assert.ok("error" in f("Content-Length: 5\r\nTransfer-Encoding: chunked"));
  assert.ok("error" in f("Content-Length: 5\r\nContent-Length: 5"));
  assert.ok("error" in f("Transfer-Encoding: gzip, chunked"));
  assert.ok("error" in f("Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked"));
  assert.ok("error" in f("Content-Length: +5"));
  assert.deepEqual(f("Content-Length: 5"), { kind: "length", length: 5 });
  assert.deepEqual(f("Transfer-Encoding: Chunked"), { kind: "chunked" });
  assert.deepEqual(f("X: y"), { kind: "none" });
});

test("response framing and hop-by-hop removal", () => {
  const r = parseResponseHead(
    Buffer.from("HTTP/1.1 200 OK\r\nConnection: close, X-Secret\r\nX-Secret: 1\r\nKeep-Alive: 5\r\nContent-Length: 3"),
    100,
  ) as Head;
  assert.deepEqual(responseFraming(r, "GET"), { kind: "length", length: 3 });
  assert.deepEqual(responseFraming(r, "HEAD"), { kind: "none" });
  assert.deepEqual(endToEndHeaders(r), [["Content-Length", "3"]]);
});

test("chunked bodies end exactly at the last chunk; what follows is kept", () => {
  const b = new BodyReader({ kind: "chunked" });
  const data = Buffer.from("5\r\nhello\r\n0\r\nX-T: 1\r\n\r\nGET next");
  const f = b.feed(data);
  assert.equal(f.done, true);
  assert.equal(data.subarray(f.consumed).toString(), "GET next");
  for (const bad of ["zz\r\n", "5\r\nhello\n", "5\nhello", "5\r\nhelloXX\r\n", "5;\x01\r\n"]) {
    const r = new BodyReader({ kind: "chunked" }).feed(Buffer.from(bad));
    assert.ok(r.error, JSON.stringify(bad));
  }
  const split = new BodyReader({ kind: "chunked" });
  let consumed = 0;
  for (const ch of "3\r\nabc\r\n0\r\n\r\n") consumed += split.feed(Buffer.from(ch)).consumed;
  assert.equal(split.done, true);
  assert.equal(consumed, 13);
});

test("content-length bodies", () => {
  const b = new BodyReader({ kind: "length", length: 4 });
  assert.deepEqual(b.feed(Buffer.from("ab")), { consumed: 2, done: false });
  assert.deepEqual(b.feed(Buffer.from("cdEF")), { consumed: 2, done: true });
});

test("interpretRequest + decideHostHeader: Host agreement, fast path and slow path", async () => {
  const { interpretRequest } = await import("./request.ts");
  const { decideHostHeader } = await import("../decide-request.ts");
  const r = (s: string) => {
    const req = interpretRequest(parseRequestHead(Buffer.from(s), 100) as Head);
    if (req.kind !== "forward") return req;
    const mismatch = decideHostHeader(req.hostHeader, req);
    return mismatch ? { kind: "denied", code: mismatch.code } : req;
  };
  assert.equal(r("GET http://a.example:8080/x HTTP/1.1\r\nHost: a.example:8080").kind, "forward");
  assert.equal(r("GET http://a.example/x HTTP/1.1\r\nHost: A.Example:80").kind, "forward");
  assert.equal(r("GET http://a.example/x HTTP/1.0").kind, "forward");
  assert.deepEqual(r("GET http://a.example/x HTTP/1.1"), {
    kind: "error",
    status: 400,
    reason: "HTTP/1.1 request without Host",
  });
  for (const host of ["b.example", "a.example:81", "a.example/evil", "u@a.example"])
    assert.deepEqual(
      r(`GET http://a.example/x HTTP/1.1\r\nHost: ${host}`),
      { kind: "denied", code: "host-mismatch" },
      host,
    );
});
