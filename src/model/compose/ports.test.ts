import assert from "node:assert/strict";
import { test } from "node:test";
import { parseExpose, parseLongPort, parseShortPort } from "./ports.ts";

const ok = (s: string) => {
  const r = parseShortPort(s);
  assert.ok(r.ok, `${s}: ${r.ok ? "" : r.error}`);
  return r.port;
};

test("short syntax forms", () => {
  assert.deepEqual(ok("3000"), { target: { from: 3000, to: 3000 }, protocol: "tcp" });
  assert.deepEqual(ok("8080:80"), {
    hostPort: { from: 8080, to: 8080 },
    target: { from: 80, to: 80 },
    protocol: "tcp",
  });
  assert.deepEqual(ok("127.0.0.1:8080:80"), {
    hostIp: "127.0.0.1",
    hostPort: { from: 8080, to: 8080 },
    target: { from: 80, to: 80 },
    protocol: "tcp",
  });
  assert.deepEqual(ok("127.0.0.1::80"), { hostIp: "127.0.0.1", target: { from: 80, to: 80 }, protocol: "tcp" });
  assert.deepEqual(ok(":80"), { target: { from: 80, to: 80 }, protocol: "tcp" });
  assert.equal(ok("53:53/udp").protocol, "udp");
  assert.equal(ok("53/UDP").protocol, "udp");
  assert.equal(ok("1234:1234/sctp").protocol, "sctp");
});

test("IPv6 host addresses, bracketed or not, as moby splits them", () => {
  assert.equal(ok("[::1]:8080:80").hostIp, "::1");
  assert.equal(ok("::1:8080:80").hostIp, "::1");
  assert.equal(ok("[::]:8080:80").hostIp, "::");
  assert.deepEqual(ok("[fe80::1]:9000:9000/udp").hostPort, { from: 9000, to: 9000 });
});

test("ranges", () => {
  const p = ok("9090-9091:8080-8081");
  assert.deepEqual(p.hostPort, { from: 9090, to: 9091 });
  assert.deepEqual(p.target, { from: 8080, to: 8081 });
  // a host range for one container port: the engine picks one
  assert.deepEqual(ok("8000-8010:80").hostPort, { from: 8000, to: 8010 });
  assert.equal(parseShortPort("9090-9092:8080-8081").ok, false);
});

test("invalid specs are rejected with a reason", () => {
  for (const s of [":", "", "abc", "1.2.3:80:80", "80/xyz", "70000"]) assert.equal(parseShortPort(s).ok, false, s);
});

test("long syntax", () => {
  const r = parseLongPort({ target: 80, published: "8080-8081", host_ip: "127.0.0.1", protocol: "udp" });
  assert.ok(r.ok);
  assert.deepEqual(r.port, {
    target: { from: 80, to: 80 },
    hostPort: { from: 8080, to: 8081 },
    hostIp: "127.0.0.1",
    protocol: "udp",
  });
  const n = parseLongPort({ target: 80, published: 8080 });
  assert.ok(n.ok && n.port.hostPort?.from === 8080 && n.port.hostIp === undefined);
  assert.equal(parseLongPort({ published: 80 }).ok, false);
});

test("expose", () => {
  assert.deepEqual(parseExpose("3000"), { from: 3000, to: 3000, protocol: "tcp" });
  assert.deepEqual(parseExpose("5000-5002/udp"), { from: 5000, to: 5002, protocol: "udp" });
  assert.equal(parseExpose("x"), undefined);
});
