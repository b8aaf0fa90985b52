import assert from "node:assert/strict";
import { test } from "node:test";
import ipaddr from "ipaddr.js";
import {
  addressMatches,
  type Destination,
  nameMatches,
  normalizeHostname,
  parseDestination,
  portMatches,
} from "./destination.ts";

function dest(raw: string): Destination {
  const d = parseDestination(raw);
  if ("error" in d) throw new Error(d.error);
  return d;
}

test("*.example.com matches exactly one label, never the apex or deeper names", () => {
  const d = dest("*.example.com:443");
  assert.equal(nameMatches(d.host, "api.example.com"), true);
  assert.equal(nameMatches(d.host, "a.b.example.com"), false);
  assert.equal(nameMatches(d.host, "example.com"), false);
  assert.equal(nameMatches(d.host, "evilexample.com"), false);
  assert.equal(nameMatches(d.host, "api.example.com.evil.net"), false);
});

test("**.example.com matches one or more labels, never the apex", () => {
  const d = dest("**.example.com");
  assert.equal(nameMatches(d.host, "api.example.com"), true);
  assert.equal(nameMatches(d.host, "a.b.c.example.com"), true);
  assert.equal(nameMatches(d.host, "example.com"), false);
  assert.equal(nameMatches(d.host, "notexample.com"), false);
});

test("exact names are normalised: case, trailing dot, IDNA", () => {
  const d = dest("API.OpenAI.com.");
  assert.equal(nameMatches(d.host, "api.openai.com"), true);
  assert.equal(normalizeHostname("BÜCHER.example."), "xn--bcher-kva.example");
  assert.equal(normalizeHostname("a..b"), undefined);
  assert.equal(normalizeHostname("-bad.example"), undefined);
});

test("ports: none means any; single; range", () => {
  assert.equal(portMatches(dest("pypi.org"), 8443), true);
  assert.equal(portMatches(dest("pypi.org:443"), 443), true);
  assert.equal(portMatches(dest("pypi.org:443"), 80), false);
  assert.equal(portMatches(dest("10.0.0.0/8:8000-8100"), 8050), true);
  assert.equal(portMatches(dest("10.0.0.0/8:8000-8100"), 8101), false);
});

test("CIDRs and addresses, v4 and v6, match addresses (IPv4-mapped too)", () => {
  const v4 = dest("10.20.0.0/16:443");
  assert.equal(addressMatches(v4.host, ipaddr.parse("10.20.3.4")), true);
  assert.equal(addressMatches(v4.host, ipaddr.parse("::ffff:10.20.3.4")), true);
  assert.equal(addressMatches(v4.host, ipaddr.parse("10.21.0.1")), false);
  const v6 = dest("[fd00::/8]:443");
  assert.equal(addressMatches(v6.host, ipaddr.parse("fd12::1")), true);
  assert.equal(dest("fd00::/8").host.kind, "cidr");
  assert.equal(dest("[2001:db8::1]:443").port?.from, 443);
  assert.equal(nameMatches(v4.host, "10.20.3.4"), false, "a CIDR never matches by name");
});

test("malformed destinations are errors with a hint", () => {
  for (const raw of ["a*.b.com", "bad_host!", "host:0", "10.0.0.0/40", "x:1-0"]) {
    const d = parseDestination(raw);
    assert.ok("error" in d, raw);
    assert.ok(d.hint.length > 0);
  }
});

test("URL-ish characters never normalise into a name (domainToASCII would cut at them)", () => {
  for (const raw of [
    "allowed.test/x",
    "allowed.test?x",
    "allowed.test#x",
    "allowed.test\\x",
    "allowed.te\tst",
    "allowed.test\n",
    "a b.test",
    "allowed.test:443",
    "user@allowed.test",
  ]) {
    assert.equal(normalizeHostname(raw), undefined, JSON.stringify(raw));
  }
  assert.equal(normalizeHostname("Allowed.Test."), "allowed.test");
  assert.equal(normalizeHostname("bücher.test"), "xn--bcher-kva.test");
});
