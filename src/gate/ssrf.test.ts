import assert from "node:assert/strict";
import { test } from "node:test";
import ipaddr from "ipaddr.js";
import { canonical, embeddedV4, floorVerdict, parseFloor, parseIpLiteral } from "./ssrf.ts";

const floor = parseFloor([]);

function verdict(text: string, f = floor): string | undefined {
  const a = parseIpLiteral(text);
  assert.ok(a && a !== "invalid", `${text} should parse`);
  return floorVerdict(f, a);
}

test("every legacy IPv4 notation of 127.0.0.1 canonicalises to it", () => {
  for (const s of [
    "127.0.0.1",
    "2130706433",
    "0x7f000001",
    "017700000001",
    "0177.0.0.1",
    "0x7f.1",
    "127.1",
    "127.0.1",
    "0x7F.0.0.0x1",
    "127.0.0.1.",
    "0177.0.0.01",
  ]) {
    const a = parseIpLiteral(s);
    assert.ok(a && a !== "invalid", s);
    assert.equal(canonical(a).toString(), "127.0.0.1", s);
  }
});

test("numeric-looking hosts that are not addresses are invalid, never names", () => {
  for (const s of ["1.2.3.4.5", "08.1.1.1", "256.1.1.1", "0x100000000", "4294967296", "1.2.3.0x"])
    assert.equal(parseIpLiteral(s), "invalid", s);
  for (const s of ["example.com", "a1.b2", "1.2.3.x", "xn--e1afmkfd.test"])
    assert.equal(parseIpLiteral(s), undefined, s);
});

test("IPv6: brackets, zone ids, mapped and compatible forms", () => {
  assert.equal(parseIpLiteral("[::1]")?.toString(), "::1");
  const zoned = parseIpLiteral("fe80::1%eth0");
  assert.ok(zoned && zoned !== "invalid");
  assert.equal(floorVerdict(floor, zoned), "link-local");
  assert.equal(parseIpLiteral("fe80::1%25eth0") !== undefined, true);
  assert.equal(verdict("::ffff:127.0.0.1"), "loopback");
  assert.equal(verdict("::ffff:7f00:1"), "loopback");
  assert.equal(verdict("[::ffff:169.254.169.254]"), "link-local");
  assert.equal(parseIpLiteral("[::1"), "invalid");
  assert.equal(parseIpLiteral("1.2.3.4%eth0"), "invalid");
});

test("the deny ranges", () => {
  const cases: [string, string][] = [
    ["10.1.2.3", "private"],
    ["172.16.0.1", "private"],
    ["172.31.255.255", "private"],
    ["192.168.1.1", "private"],
    ["169.254.169.254", "link-local"],
    ["100.64.0.1", "cgnat"],
    ["100.127.255.255", "cgnat"],
    ["0.0.0.0", "unspecified"],
    ["0", "unspecified"],
    ["224.0.0.1", "multicast"],
    ["255.255.255.255", "broadcast"],
    ["240.0.0.1", "reserved"],
    ["198.18.0.1", "benchmark"],
    ["192.0.2.1", "documentation"],
    ["203.0.113.9", "documentation"],
    ["::", "unspecified"],
    ["::1", "loopback"],
    ["fc00::1", "ula"],
    ["fd12:3456::1", "ula"],
    ["fe80::1", "link-local"],
    ["ff02::1", "multicast"],
    ["2001:db8::1", "documentation"],
    ["100::1", "reserved"],
    ["4000::1", "reserved"],
  ];
  for (const [addr, label] of cases) assert.equal(verdict(addr), label, addr);
  for (const ok of ["8.8.8.8", "1.1.1.1", "172.32.0.1", "100.128.0.1", "2606:4700::1111", "2a00:1450::1"])
    assert.equal(verdict(ok), undefined, ok);
});

test("IPv4 embedded in NAT64, 6to4, Teredo and compatible addresses is checked", () => {
  assert.match(verdict("64:ff9b::7f00:1") ?? "", /loopback/);
  assert.match(verdict("64:ff9b::a9fe:a9fe") ?? "", /link-local/);
  assert.match(verdict("2002:7f00:1::1") ?? "", /loopback/);
  assert.match(verdict("2002:a00:1::") ?? "", /private/);
  // Teredo: client 127.0.0.1 is stored inverted in the last 32 bits.
  assert.match(verdict("2001:0:4136:e378:8000:63bf:80ff:fffe") ?? "", /loopback/);
  assert.match(verdict("::10.0.0.1") ?? "", /private/);
  assert.equal(verdict("64:ff9b::808:808"), undefined);
  assert.deepEqual(
    embeddedV4(ipaddr.parse("2002:0808:0808::1")).map((a) => a.toString()),
    ["8.8.8.8"],
  );
});

test("floor.allow_ranges opens exactly the listed ranges, in every spelling", () => {
  const f = parseFloor(["127.0.0.2/32", "10.20.0.0/16"]);
  assert.equal(verdict("127.0.0.2", f), undefined);
  assert.equal(verdict("2130706434", f), undefined);
  assert.equal(verdict("::ffff:127.0.0.2", f), undefined);
  assert.equal(verdict("127.0.0.1", f), "loopback");
  assert.equal(verdict("10.20.5.5", f), undefined);
  assert.equal(verdict("10.21.0.1", f), "private");
});

test("the gate's own listen address is never a destination", () => {
  const f = parseFloor(["127.0.0.0/8"], [{ addr: ipaddr.parse("127.0.0.1"), port: 3128 }]);
  assert.equal(floorVerdict(f, ipaddr.parse("127.0.0.1"), 3128), "self");
  assert.equal(floorVerdict(f, ipaddr.parse("::ffff:127.0.0.1"), 3128), "self");
  assert.equal(floorVerdict(f, ipaddr.parse("127.0.0.1"), 80), undefined);
});
