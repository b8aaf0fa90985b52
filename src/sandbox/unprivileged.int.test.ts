// The sandbox as an unprivileged user (nobody, via setpriv): bwrap builds it in a user
// namespace; without a delegated cgroup the run goes on without cgroup figures, and a profile
// that needs cgroup limits fails with the fix instead of running unlimited.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { chownSync, mkdirSync, writeFileSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { fileURLToPath } from "node:url";
import { privilegedSkip } from "../testing/privileged.ts";
import { ESCAPE_PY, hostNs, PROBES_DIR, parseProbes } from "./probes/harness.ts";
import type { RunReport } from "./types.ts";
import { checkUserns } from "./userns.ts";

const skip = privilegedSkip({ commands: ["bwrap", "setpriv", "python3", "cc"] });
const MAIN = fileURLToPath(new URL("../cli/main.ts", import.meta.url));
const NATIVE = fileURLToPath(new URL("../../build/native", import.meta.url));

describe("unprivileged (uid 65534)", { skip }, () => {
  let dir = "";
  const asNobody = (args: string[]) =>
    spawnSync("setpriv", ["--reuid=65534", "--regid=65534", "--clear-groups", process.execPath, MAIN, ...args], {
      cwd: dir,
      encoding: "utf8",
      env: {
        PATH: "/usr/bin:/bin",
        HOME: dir,
        XDG_CACHE_HOME: join(dir, ".cache"),
        CORRAL_NATIVE_DIR: NATIVE,
        LANG: "C.UTF-8",
      },
    });

  before(async () => {
    assert.ok(checkUserns().ok, "host forbids user namespaces");
    dir = await mkdtemp(join(tmpdir(), "corral-nobody-"));
    mkdirSync(join(dir, ".ssh"));
    writeFileSync(join(dir, ".ssh", "id_rsa"), "fake key");
    writeFileSync(
      join(dir, "corral.yaml"),
      `version: 1\nsandbox:\n  profiles:\n    probe: { filesystem: { read: ["${PROBES_DIR}"] } }\n    capped: { limits: { memory: 64Mi, pids: 16 } }\n`,
    );
    for (const p of [dir, join(dir, ".ssh"), join(dir, ".ssh", "id_rsa"), join(dir, "corral.yaml")])
      chownSync(p, 65534, 65534);
  });
  after(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  test("escape probes stay contained; no cgroup is reported as a warning", () => {
    const r = asNobody([
      "run",
      "--profile",
      "probe",
      "--format",
      "json",
      "--",
      "/usr/bin/python3",
      ESCAPE_PY,
      hostNs(),
      `read=${join(dir, ".ssh", "id_rsa")}`,
      "mount",
      "unshare",
      "setuid",
      "ptrace",
      "raw",
      "inet=9",
    ]);
    assert.equal(r.status, 0, r.stderr);
    const report = JSON.parse(r.stderr) as RunReport;
    assert.equal(report.cgroup, null);
    assert.match(report.warnings.join("\n"), /no cgroup/);
    const probes = parseProbes(r.stdout);
    for (const name of ["read", "mount", "unshare", "setuid", "ptrace", "raw", "inet"]) {
      const p = probes.get(name);
      assert.ok(p, `${name} missing: ${r.stdout}`);
      assert.equal(p.contained, true, `${name}: ${p.detail}`);
    }
  });

  test("a profile with cgroup limits fails clearly (exit 2, with the fix)", () => {
    const r = asNobody(["run", "--profile", "capped", "--", "true"]);
    assert.equal(r.status, 2, r.stderr);
    assert.match(r.stderr, /cannot create cgroup/);
    assert.match(r.stderr, /delegate/);
  });
});
