import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { runCli } from "../testing/cli.ts";
import { PROJECT_ROOT } from "../testing/shared.ts";
import { COMMANDS } from "./registry.ts";

test("every command answers --help with its usage and exit 0", async () => {
  for (const entry of COMMANDS) {
    const r = await runCli([entry.name, "--help"]);
    assert.equal(r.code, 0, `${entry.name} --help: ${r.err}`);
    assert.match(r.out, /usage: corral /, `${entry.name} --help prints a usage line`);
  }
});

test("--version prints the package version", async () => {
  const pkg = JSON.parse(readFileSync(join(PROJECT_ROOT, "package.json"), "utf8")) as { version: string };
  const r = await runCli(["--version"]);
  assert.deepEqual([r.code, r.out], [0, `${pkg.version}\n`]);
});

test("no command: usage and exit 2; --help: exit 0; unknown command: exit 2", async () => {
  const none = await runCli([]);
  assert.equal(none.code, 2);
  assert.match(none.out, /usage: corral <command>/);
  assert.match(none.out, /exit codes: 0 ok, 1 policy or findings failure, 2 usage or input error, 70 internal error/);
  assert.equal((await runCli(["--help"])).code, 0);
  const unknown = await runCli(["sacn"]);
  assert.equal(unknown.code, 2);
  assert.match(unknown.err, /unknown command 'sacn'/);
});

test("a bad flag is a usage error naming the command's help", async () => {
  const r = await runCli(["check", "--polcy", "x"]);
  assert.equal(r.code, 2);
  assert.match(r.err, /^corral: Unknown option '--polcy'.*\n {2}hint: run 'corral check --help'/);
});

test("an invalid policy exits 2 with file:line:col, the problem and a hint; colour only when allowed", async () => {
  const cwd = join(PROJECT_ROOT, "examples", "superagi");
  const ok = await runCli(["check", "--policy", "corral.yaml"], { cwd });
  assert.equal(ok.code, 0, ok.err);
  assert.match(ok.out, /^ok corral\.yaml: 4 zones, 3 flows/);
  const missing = await runCli(["check", "--policy", "nope.yaml"], { cwd });
  assert.equal(missing.code, 2);
  assert.match(missing.err, /\/nope\.yaml:1:1: error: policy file not found\n {2}hint: create one/);
  assert.doesNotMatch(missing.err, /\u001b\[/);
  const coloured = await runCli(["check", "--policy", "nope.yaml"], { cwd, color: true });
  assert.match(coloured.err, /\u001b\[31m/);
});

test("reach shows the flat network: celery reaches super__postgres on every port", async () => {
  const r = await runCli(["reach", "-f", "examples/superagi/docker-compose.yml"], { cwd: PROJECT_ROOT });
  assert.equal(r.code, 0, r.err);
  assert.match(r.out, /celery → super__postgres {2}every port {2}\(shared network super_network\)/);
  const json = JSON.parse(
    (await runCli(["reach", "-f", "examples/superagi/docker-compose.yml", "--format", "json"], { cwd: PROJECT_ROOT }))
      .out,
  );
  assert.ok(
    json.edges.some(
      (e: { from: string; to: string; ports: unknown }) =>
        e.from === "celery" && e.to === "super__postgres" && e.ports === "all",
    ),
  );
});

test("--help after `--` belongs to the wrapped command, not to corral", async () => {
  const r = await runCli(["run", "--profile", "nope", "--", "python3", "--help"]);
  assert.doesNotMatch(r.out, /usage: corral run/);
  assert.equal(r.code, 2);
});
