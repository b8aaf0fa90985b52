// biome-ignore-all lint/suspicious/noTemplateCurlyInString: compose's ${VAR} syntax is the subject here
import assert from "node:assert/strict";
import { test } from "node:test";
import { parseDotenv } from "./dotenv.ts";

test("KEY=VALUE lines, comments, quotes, export, bare keys", () => {
  const text = [
    "# comment",
    "",
    "A=1",
    "export B = two words  # trailing",
    "C='single ${A} kept'",
    'D="double ${A}\\n"',
    "E=${A}-${NOPE:-d}",
    "F",
    "G=",
    'H="multi',
    'line"',
    "I=a#b",
  ].join("\n");
  const got = Object.fromEntries(parseDotenv(text, ".env").map((e) => [e.name, e.value]));
  assert.deepEqual(got, {
    A: "1",
    B: "two words",
    C: "single ${A} kept",
    D: "double 1\n",
    E: "1-d",
    F: undefined,
    G: "",
    H: "multi\nline",
    I: "a#b",
  });
});

test("positions are the key's line and column", () => {
  const [a, b] = parseDotenv("A=1\n  B=2\n", "/p/.env");
  assert.deepEqual(a?.pos, { file: "/p/.env", line: 1, col: 1 });
  assert.deepEqual(b?.pos, { file: "/p/.env", line: 2, col: 3 });
});

test("values see the outer lookup", () => {
  const [x] = parseDotenv("X=${HOME}/x", "e", (n) => (n === "HOME" ? "/root" : undefined));
  assert.equal(x?.value, "/root/x");
});

test("the outer environment wins over the file's own earlier keys, as compose-go reads .env and env_file", () => {
  const got = parseDotenv("A=file\nB=${A}-b\nC=${C0}\n", "e", (n) => ({ A: "shell" })[n]);
  assert.deepEqual(
    got.map((e) => [e.name, e.value]),
    [
      ["A", "file"],
      ["B", "shell-b"],
      ["C", ""],
    ],
  );
  // without an outer value the earlier key is used
  assert.equal(parseDotenv("A=file\nB=${A}-b\n", "e")[1]?.value, "file-b");
});
