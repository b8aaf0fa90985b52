// `corral run` argument handling; sandboxes themselves are tested in src/sandbox/*.int.test.ts.
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PassThrough } from "node:stream";
import { test } from "node:test";
import { main } from "./main.ts";

async function cli(args: string[], cwd = tmpdir(), env: NodeJS.ProcessEnv = {}) {
  const out = new PassThrough();
  const err = new PassThrough();
  let stdout = "";
  let stderr = "";
  out.on("data", (b: Buffer) => {
    stdout += b.toString();
  });
  err.on("data", (b: Buffer) => {
    stderr += b.toString();
  });
  const code = await main(["run", ...args], { stdout: out, stderr: err, cwd, env, color: false });
  return { code, stdout, stderr };
}

test("no command: usage error with the form to use", async () => {
  const r = await cli(["--profile", "minimal"]);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /no command given/);
  assert.match(r.stderr, /corral run --profile minimal -- COMMAND/);
});

test("unknown profile and bad --format are input errors, not crashes", async () => {
  const p = await cli(["--profile", "nope", "--", "true"]);
  assert.equal(p.code, 2);
  assert.match(p.stderr, /no sandbox profile 'nope'/);
  assert.match(p.stderr, /hint: .*minimal/);
  const f = await cli(["--format", "xml", "--", "true"]);
  assert.equal(f.code, 2);
});

test("a gate profile needs a gate address and a known identity", async () => {
  const dir = mkdtempSync(join(tmpdir(), "corral-cli-run-"));
  try {
    writeFileSync(
      join(dir, "corral.yaml"),
      "version: 1\nidentities:\n  plugin-runs: { token_env: PLUGIN_TOKEN }\nsandbox:\n  profiles:\n    plugin: { network: gate }\n",
    );
    const noToken = await cli(["--profile", "plugin", "--identity", "plugin-runs", "--", "true"], dir, {});
    assert.equal(noToken.code, 2);
    assert.match(noToken.stderr, /\$PLUGIN_TOKEN is empty/);
    const unknown = await cli(["--profile", "plugin", "--identity", "ghost", "--", "true"], dir, {});
    assert.equal(unknown.code, 2);
    assert.match(unknown.stderr, /no identity 'ghost'/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("--help describes the sandbox", async () => {
  const r = await cli(["--help"]);
  assert.equal(r.code, 0);
  assert.match(r.stdout, /usage: corral run/);
});
