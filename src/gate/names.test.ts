import assert from "node:assert/strict";
import { test } from "node:test";
import { hostForm } from "./names.ts";

const name = (h: string) => {
  const f = hostForm(h);
  return f.kind === "name" ? f.name : f.kind;
};

test("names are lowercased, lose a trailing dot and become IDNA (punycode)", () => {
  assert.equal(name("API.OpenAI.com."), "api.openai.com");
  assert.equal(name("bücher.example"), "xn--bcher-kva.example");
  // A Cyrillic 'а' is a different name, never the ASCII one it imitates.
  assert.equal(name("\u0430pple.com"), "xn--pple-43d.com");
  assert.notEqual(name("\u0430pple.com"), "apple.com");
  // IDNA maps the ideographic full stop to '.', so this IS example.com (not a bypass).
  assert.equal(name("example\u3002com"), "example.com");
});

test("invalid names and literals", () => {
  for (const bad of ["", ".", "a..b", "-a.example", "a b.example", "x".repeat(64) + ".example", "a/b"])
    assert.equal(name(bad), "invalid", bad);
  assert.deepEqual(hostForm("1.2.3.4.5"), { kind: "invalid", literal: true });
  assert.equal(hostForm("0x7f.1").kind, "ip");
  assert.equal(hostForm("[::1]").kind, "ip");
});

test("hosts that node's IDNA would cut short are invalid, not truncated to an allowed name", () => {
  for (const bad of [
    "allowed.test/x",
    "allowed.test?x",
    "allowed.test#x",
    "allowed.test\\x",
    "allow\ted.test",
    "allowed.test\n",
    "a:b",
    "a@b",
  ]) {
    assert.equal(name(bad), "invalid", JSON.stringify(bad));
  }
});

test("memoised answers are the same as fresh ones", () => {
  assert.deepEqual(hostForm("Example.COM"), hostForm("Example.COM"));
  assert.equal(name("Example.COM"), "example.com");
});
