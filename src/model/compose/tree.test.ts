import assert from "node:assert/strict";
import { test } from "node:test";
import { InputError } from "../errors.ts";
import { get, parseYamlTree, plain } from "./tree.ts";

test("keeps 1-based line/col of keys and values", () => {
  const t = parseYamlTree("services:\n  web:\n    image: nginx\n", "c.yaml")!;
  const web = get(get(t, "services"), "web")!;
  assert.equal(web.kind, "map");
  if (web.kind !== "map") return;
  assert.deepEqual(web.entries.get("image")?.keyPos, { file: "c.yaml", line: 3, col: 5 });
  assert.deepEqual(web.entries.get("image")?.value.pos, { file: "c.yaml", line: 3, col: 12 });
});

test("aliases and merge keys resolve; explicit keys win; positions point at the anchor", () => {
  const text =
    "x: &base\n  image: a\n  user: root\ny: &more\n  privileged: true\ns:\n  <<: [*base, *more]\n  image: b\n";
  const t = parseYamlTree(text, "f")!;
  const s = get(t, "s")!;
  assert.deepEqual(plain(s), { image: "b", user: "root", privileged: true });
  if (s.kind !== "map") return;
  assert.equal(s.entries.get("user")?.keyPos.line, 3);
  assert.equal(s.entries.get("image")?.keyPos.line, 8);
});

test("syntax errors throw InputError with line:col", () => {
  assert.throws(
    () => parseYamlTree("a: [1\nb: 2\n", "bad.yaml"),
    (e: unknown) =>
      e instanceof InputError && e.pos?.line === 2 && /^bad\.yaml:2:1: invalid YAML/.test(e.message) && !!e.hint,
  );
  assert.throws(() => parseYamlTree("a: 1\na: 2\n", "dup.yaml"), InputError);
});

test("!reset and !override tags are kept for the merge step", () => {
  const t = parseYamlTree("a: !reset []\nb: !override {x: 1}\n", "f")!;
  assert.equal(get(t, "a")?.tag, "!reset");
  assert.equal(get(t, "b")?.tag, "!override");
});

test("an empty document reads as undefined", () => {
  assert.equal(parseYamlTree("# only a comment\n", "f"), undefined);
});
