// Requests inside a terminated tunnel: origin-form only, the target kept exactly as written
// (the path the rules check is the path the server reads), the Host checked against the tunnel.
import assert from "node:assert/strict";
import { test } from "node:test";
import { decideHostHeader } from "../decide-request.ts";
import { parseRequestHead } from "./http-head.ts";
import { interpretOriginRequest } from "./request.ts";

const head = (text: string) => {
  const h = parseRequestHead(Buffer.from(text, "latin1"), 100);
  if ("error" in h) throw new Error(h.error);
  return h;
};
const tunnel = { host: "api.openai.com", port: 443 };

test("origin-form requests keep their target as written", () => {
  const r = interpretOriginRequest(
    head("POST /v1/a/../b?x=1 HTTP/1.1\r\nHost: api.openai.com\r\nContent-Length: 2"),
    tunnel,
  );
  assert.equal(r.kind, "forward");
  if (r.kind !== "forward") return;
  assert.equal(r.target, "/v1/a/../b?x=1", "no normalisation: decide-http refuses the dot segment");
  assert.equal(r.authority, "api.openai.com");
  assert.deepEqual(r.framing, { kind: "length", length: 2 });
  assert.match(r.out.toString("latin1"), /^POST \/v1\/a\/\.\.\/b\?x=1 HTTP\/1\.1\r\nHost: api\.openai\.com\r\n/);
});

test("absolute-form, CONNECT, a missing or doubled Host are refused inside a tunnel", () => {
  for (const bad of [
    "GET http://api.openai.com/ HTTP/1.1\r\nHost: api.openai.com",
    "CONNECT api.openai.com:443 HTTP/1.1\r\nHost: api.openai.com",
    "GET / HTTP/1.1",
    "GET / HTTP/1.1\r\nHost: a\r\nHost: b",
    "GET / HTTP/1.1\r\nHost: api.openai.com\r\nUpgrade: websocket",
    "GET /v1?a=1#&key=x HTTP/1.1\r\nHost: api.openai.com",
  ])
    assert.equal(interpretOriginRequest(head(bad), tunnel).kind, "error", bad);
});

test("the Host of a request inside the tunnel must name the tunnel; no port means 443", () => {
  const check = (host: string) => {
    const r = interpretOriginRequest(head(`GET / HTTP/1.1\r\nHost: ${host}`), tunnel);
    if (r.kind !== "forward") throw new Error("not a forward");
    return decideHostHeader(r.hostHeader, r, 443);
  };
  assert.equal(check("api.openai.com"), undefined);
  assert.equal(check("API.openai.com:443"), undefined);
  assert.equal(check("api.openai.com:8443")?.code, "host-mismatch");
  assert.equal(check("api.openai.com:80")?.code, "host-mismatch", "http's default port is not 443");
  assert.equal(check("evil.example")?.code, "host-mismatch");
  const other = interpretOriginRequest(head("GET / HTTP/1.1\r\nHost: h:8443"), { host: "h", port: 8443 });
  assert.equal(other.kind === "forward" && other.authority, "h:8443");
});
