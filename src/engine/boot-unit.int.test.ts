// The systemd unit we ship (docker/systemd/corral-enforce.service), run as systemd would run its
// boot step: ExecStartPre, with the unit's EnvironmentFile, before any engine exists. This machine
// has no systemd as pid 1, so the commands are taken from the unit file and run through the same
// shell line; `systemd-analyze verify` checks the unit's syntax where it is installed.
import assert from "node:assert/strict";
import { execFile, execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { promisify } from "node:util";
import { hasCommand, privilegedSkip } from "../testing/privileged.ts";
import { PROJECT_ROOT } from "../testing/shared.ts";

const run = promisify(execFile);
const skip = privilegedSkip({ commands: ["ip", "nft", "sh"] });
const UNIT = join(PROJECT_ROOT, "docker/systemd/corral-enforce.service");

function directive(unit: string, key: string): string {
  const line = unit.split("\n").find((l) => l.startsWith(`${key}=`));
  assert.ok(line, `${key}= in the unit`);
  return line.slice(key.length + 1);
}

/** `/bin/sh -c '…'` as systemd passes it: the quoted script is one argument. */
function shellScript(command: string): string {
  const m = /^\/bin\/sh -c '(.*)'$/.exec(command);
  assert.ok(m, `a /bin/sh -c '…' line: ${command}`);
  return m[1]!;
}

test("the unit is valid for systemd and orders itself before the engine", () => {
  const unit = readFileSync(UNIT, "utf8");
  assert.equal(directive(unit, "Before"), "docker.service");
  assert.equal(directive(unit, "Restart"), "always");
  assert.equal(directive(unit, "EnvironmentFile"), "/etc/corral/enforce.env");
  assert.match(shellScript(directive(unit, "ExecStartPre")), /enforce --once \$CORRAL_ARGS/);
  assert.doesNotMatch(shellScript(directive(unit, "ExecStart")), /--once/);
  if (!hasCommand("systemd-analyze")) {
    console.log("# systemd-analyze not installed: unit syntax not checked");
    return;
  }
  const out = execFileSync("systemd-analyze", ["verify", UNIT], {
    encoding: "utf8",
    stdio: ["ignore", "pipe", "pipe"],
  });
  assert.equal(out.trim(), "");
});

test("boot: ExecStartPre with no engine loads the sealed ruleset and exits 0", { skip }, async () => {
  const unit = readFileSync(UNIT, "utf8");
  const dir = mkdtempSync(join(tmpdir(), "corral-boot-"));
  const ns = `crl${process.pid.toString(36)}${Date.now().toString(36).slice(-4)}-boot`;
  execFileSync("ip", ["netns", "add", ns]);
  try {
    const example = join(PROJECT_ROOT, "examples/superagi");
    // The env file as docs/enforce.md tells users to write it, plus the test's namespace and an
    // engine socket that does not exist yet (the engine starts after this unit).
    writeFileSync(
      join(dir, "enforce.env"),
      [
        `CORRAL=${join(PROJECT_ROOT, "corral")}`,
        `CORRAL_ARGS=--policy ${example}/corral.yaml -f ${example}/docker-compose.yml --netns ${ns}`,
        `DOCKER_HOST=unix://${dir}/docker.sock`,
      ].join("\n"),
    );
    const env: Record<string, string> = { PATH: process.env.PATH ?? "/usr/bin:/bin" };
    for (const line of readFileSync(join(dir, "enforce.env"), "utf8").split("\n")) {
      const i = line.indexOf("=");
      if (i > 0) env[line.slice(0, i)] = line.slice(i + 1);
    }
    const r = await run("/bin/sh", ["-c", shellScript(directive(unit, "ExecStartPre"))], { env });
    assert.match(r.stderr, /sealed ruleset/);
    const { stdout } = await run("ip", ["netns", "exec", ns, "nft", "list", "table", "inet", "corral"]);
    assert.match(stdout, /chain forward/);
    assert.match(stdout, /set flows \{[^}]*flags interval\s*\}/, "no member address in the flows");
    assert.match(stdout, /set zone_any \{[^}]*flags interval\s*\}/, "nor in the zones");
  } finally {
    execFileSync("ip", ["netns", "del", ns]);
    rmSync(dir, { recursive: true, force: true });
  }
});
