import assert from "node:assert/strict";
import { test } from "node:test";
import { parse } from "yaml";
import { suggestEntries, suggestYaml } from "./suggest.ts";

test("three or more siblings on one port fold into a wildcard, with counts", () => {
  const e = suggestEntries({
    "a.cdn.example:443": 2,
    "b.cdn.example:443": 3,
    "c.cdn.example:443": 1,
    "api.other.example:443": 7,
    "x.two.example:80": 1,
    "y.two.example:80": 1,
  });
  assert.deepEqual(
    e.map((x) => [x.destination, x.count]),
    [
      ["*.cdn.example:443", 6],
      ["api.other.example:443", 7],
      ["x.two.example:80", 1],
      ["y.two.example:80", 1],
    ],
  );
});

test("names seen only by DNS stay (without port); those also seen by the proxy are folded into it", () => {
  const e = suggestEntries({ "pypi.org": 5, "pypi.org:443": 2, "db.internal.example": 1 });
  assert.deepEqual(
    e.map((x) => x.destination),
    ["db.internal.example", "pypi.org:443"],
  );
});

test("the YAML loads and keeps comments", () => {
  const text = suggestYaml({
    backend: { "a.cdn.example:443": 2, "b.cdn.example:443": 3, "c.cdn.example:443": 1, "pypi.org:443": 4 },
  });
  assert.match(text, /# 6 requests \(3 names: a\.cdn\.example:443/);
  const doc = parse(text) as { egress: { from: string; allow: string[] }[] };
  assert.deepEqual(doc.egress[0], { from: "backend", mode: "enforce", allow: ["*.cdn.example:443", "pypi.org:443"] });
});
