// biome-ignore-all lint/suspicious/noTemplateCurlyInString: compose's ${VAR} syntax is the subject here
import assert from "node:assert/strict";
import { test } from "node:test";
import { InputError } from "../errors.ts";
import { interpolate } from "./interpolate.ts";

const pos = { file: "c.yaml", line: 7, col: 3 };
const env: Record<string, string> = { SET: "v", EMPTY: "", USER: "letta" };
const run = (s: string) => interpolate(s, (n) => env[n], pos);

test("plain forms", () => {
  assert.equal(run("$SET-${SET}").value, "v-v");
  assert.equal(run("a$SET.b").value, "av.b");
  assert.equal(run("$$SET and $${SET}").value, "$SET and ${SET}");
});

test("defaults distinguish unset from empty", () => {
  assert.equal(run("${UNSET:-d}").value, "d");
  assert.equal(run("${EMPTY:-d}").value, "d");
  assert.equal(run("${UNSET-d}").value, "d");
  assert.equal(run("${EMPTY-d}").value, "");
  assert.equal(run("${SET:-d}").value, "v");
});

test("alternatives", () => {
  assert.equal(run("${SET:+alt}").value, "alt");
  assert.equal(run("${EMPTY:+alt}").value, "");
  assert.equal(run("${EMPTY+alt}").value, "alt");
  assert.equal(run("${UNSET+alt}").value, "");
});

test("nested defaults", () => {
  assert.equal(
    run("${URI:-postgresql://${USER:-x}:${PW:-letta}@${HOST:-db}:5432}").value,
    "postgresql://letta:letta@db:5432",
  );
  assert.equal(run("${A:-${B:-${SET}}}").value, "v");
});

test("unset without default is empty and reported", () => {
  const r = run("x${UNSET}y$ALSO");
  assert.equal(r.value, "xy");
  assert.deepEqual(r.unset, ["UNSET", "ALSO"]);
});

test("required variables throw with the position", () => {
  assert.throws(
    () => run("${UNSET:?set it please}"),
    (e: unknown) =>
      e instanceof InputError &&
      e.pos === pos &&
      /c\.yaml:7:3: required variable UNSET is missing a value: set it please/.test(e.message),
  );
  assert.throws(() => run("${EMPTY:?x}"), InputError);
  assert.equal(run("${EMPTY?x}").value, "");
  assert.throws(() => run("${UNSET?x}"), InputError);
});

test("a lone $ stays; bad braces are errors", () => {
  assert.equal(run("pid=$! $(date) $4").value, "pid=$! $(date) $4");
  assert.throws(() => run("${"), InputError);
  assert.throws(() => run("${1abc}"), InputError);
});
