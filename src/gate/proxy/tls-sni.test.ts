import assert from "node:assert/strict";
import { test } from "node:test";
import { captureClientHello } from "../testkit.ts";
import { parseClientHello } from "./tls-sni.ts";

const clientHello = captureClientHello;

test("SNI from a real ClientHello, and incomplete prefixes", async () => {
  const hello = await clientHello("api.example.com");
  assert.deepEqual(parseClientHello(hello), { kind: "sni", name: "api.example.com" });
  for (const cut of [1, 5, 40, hello.length - 1])
    assert.deepEqual(parseClientHello(hello.subarray(0, cut)), { kind: "incomplete" });
  const none = await clientHello(undefined);
  assert.deepEqual(parseClientHello(none), { kind: "sni", name: undefined });
});

test("garbage and non-handshake records are invalid", () => {
  assert.equal(parseClientHello(Buffer.from("GET / HTTP/1.1\r\n\r\n")).kind, "invalid");
  assert.equal(parseClientHello(Buffer.from([0x16, 0x03, 0x01, 0x00, 0x04, 0x02, 0, 0, 0])).kind, "invalid");
  assert.equal(parseClientHello(Buffer.from([0x16, 0x03, 0x01, 0x00, 0x05, 0x01, 0, 0, 1, 0])).kind, "invalid");
});

test("a ClientHello split over two TLS records still yields its SNI", async () => {
  const hello = await clientHello("split.example");
  const body = hello.subarray(5);
  const rec = (b: Buffer) => Buffer.concat([Buffer.from([0x16, 0x03, 0x01, b.length >> 8, b.length & 0xff]), b]);
  const two = Buffer.concat([rec(body.subarray(0, 20)), rec(body.subarray(20))]);
  assert.deepEqual(parseClientHello(two), { kind: "sni", name: "split.example" });
});
