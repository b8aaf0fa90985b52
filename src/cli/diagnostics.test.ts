import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PassThrough } from "node:stream";
import { after, test } from "node:test";
import { runCli } from "../testing/cli.ts";
import { createWarner, SILENCE_HINT } from "./diagnostics.ts";

const tmp = mkdtempSync(join(tmpdir(), "corral-warnings-"));
after(() => rmSync(tmp, { recursive: true, force: true }));

// Three services share one missing .env and an unset variable: as many stacks ship.
const compose = join(tmp, "docker-compose.yml");
writeFileSync(
  compose,
  `services:
  web:
    image: nginx:\${WEB_TAG}
    env_file: [.env]
  api:
    image: example/api:\${WEB_TAG}
    env_file: [.env]
  worker:
    image: example/worker
    env_file: [.env]
`,
);

function count(text: string, pattern: RegExp): number {
  return text.match(new RegExp(pattern.source, "g"))?.length ?? 0;
}

test("each distinct warning prints once per run, with how to silence it", async () => {
  const r = await runCli(["scan", "-f", compose], { cwd: tmp });
  assert.equal(r.code, 0, r.err);
  assert.equal(count(r.err, /env_file \S+\.env not found/), 1, r.err);
  assert.match(r.err, /env_file \S+\/\.env not found \(needed by services "web", "api", "worker"\)/);
  assert.equal(count(r.err, /variable WEB_TAG is not set/), 1, r.err);
  assert.equal(count(r.err, /no \.env file in/), 1, r.err);
  assert.equal(count(r.err, /--quiet hides warnings/), 1, r.err);
  assert.ok(r.err.endsWith(SILENCE_HINT), "the hint closes the warnings");
});

test("--quiet drops warnings, before the command or among its flags; errors still print", async () => {
  for (const argv of [
    ["--quiet", "scan", "-f", compose],
    ["scan", "-f", compose, "--quiet"],
    ["-q", "reach", "-f", compose],
  ]) {
    const r = await runCli(argv, { cwd: tmp });
    assert.equal(r.code, 0, `${argv.join(" ")}: ${r.err}`);
    assert.equal(r.err, "", argv.join(" "));
  }
  const bad = join(tmp, "bad.yml");
  writeFileSync(bad, `services:\n  db:\n    image: postgres\n    environment:\n      PW: \${PW:?set PW}\n`);
  const r = await runCli(["scan", "-f", bad, "--quiet"], { cwd: tmp });
  assert.equal(r.code, 2);
  assert.match(r.err, /error: required variable PW is missing a value/);
});

test("a warning met again later in the run is not repeated", () => {
  const stderr = new PassThrough();
  let out = "";
  stderr.on("data", (d) => {
    out += d;
  });
  const warn = createWarner(stderr, false);
  warn("warning: a", "warning: b");
  warn("warning: a");
  warn("warning: c");
  assert.equal(out, `warning: a\nwarning: b\n${SILENCE_HINT}warning: c\n`);
  const quiet = createWarner(stderr, true);
  out = "";
  quiet("warning: a");
  assert.equal(out, "");
});
