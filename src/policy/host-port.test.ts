import assert from "node:assert/strict";
import { test } from "node:test";
import { PolicyError } from "./errors.ts";
import { formatHostPort, hostPortOf, httpUrlOf, parseHostPort } from "./host-port.ts";
import { parsePolicy } from "./load.ts";

test("host:port: IPv4 and bracketed IPv6 literals, ports 0-65535, nothing else", () => {
  assert.deepEqual(parseHostPort("127.0.0.1:3128"), { host: "127.0.0.1", port: 3128 });
  assert.deepEqual(parseHostPort("[::1]:53"), { host: "::1", port: 53 });
  assert.deepEqual(parseHostPort("0.0.0.0:0"), { host: "0.0.0.0", port: 0 });
  for (const bad of ["localhost:53", "1.1.1.1", "::1:53", "1.1.1.1:65536", "1.1.1.1:", "[::1]", "1.1.1.1:53x", ""])
    assert.equal(parseHostPort(bad), undefined, bad);
  assert.throws(() => hostPortOf("gate:3128"), /'gate:3128' is not an IP address and port/);
});

test("a listener's URL: wildcard binds are reached on loopback, IPv6 in brackets", () => {
  assert.equal(httpUrlOf({ host: "127.0.0.1", port: 9099 }), "http://127.0.0.1:9099");
  assert.equal(httpUrlOf({ host: "0.0.0.0", port: 9099 }), "http://127.0.0.1:9099");
  assert.equal(httpUrlOf({ host: "::", port: 9099 }), "http://[::1]:9099");
  assert.equal(httpUrlOf({ host: "::1", port: 9 }), "http://[::1]:9");
  assert.equal(formatHostPort({ host: "fd00::1", port: 53 }), "[fd00::1]:53");
});

test("the policy holds listen and upstream addresses parsed, defaults included", () => {
  const { policy } = parsePolicy("version: 1\ndns:\n  upstreams: ['[2606:4700:4700::1111]:53']\n", "corral.yaml");
  assert.deepEqual(policy.dns.upstreams, [{ host: "2606:4700:4700::1111", port: 53 }]);
  assert.deepEqual(policy.gate.listen.proxy, { host: "127.0.0.1", port: 3128 });
  assert.deepEqual(policy.gate.listen.admin, { host: "127.0.0.1", port: 9099 });
});

test("a bad address in the policy: its position, what was expected, a fix", () => {
  const text = "version: 1\ngate:\n  listen:\n    proxy: gate:3128\n";
  const err = (() => {
    try {
      parsePolicy(text, "corral.yaml");
    } catch (e) {
      return e;
    }
    return undefined;
  })();
  assert.ok(err instanceof PolicyError);
  const p = err.problems[0]!;
  assert.equal(p.line, 4);
  assert.match(p.message, /gate\.listen\.proxy: expected an IP address and port, got string "gate:3128"/);
  assert.match(p.hint ?? "", /127\.0\.0\.1:3128/);
});
