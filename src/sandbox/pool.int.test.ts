// Warm starts: a pool's launcher already sits in its cgroup; the run it is handed still gets
// the profile's limits, seccomp program and report, and close() leaves nothing behind.
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { privilegedSkip } from "../testing/privileged.ts";
import { detectCgroups, removeCgroupParent } from "./cgroup.ts";
import { SandboxPool } from "./pool.ts";
import { ESCAPE_PY, hostNs, PROBES_DIR, parseProbes } from "./probes/harness.ts";
import { BUILTIN_MINIMAL } from "./profile.ts";

const skip = privilegedSkip({ commands: ["bwrap", "cc", "python3"] });

test("pool runs: warm start keeps limits, seccomp and cgroup figures; close() cleans up", { skip }, async () => {
  const parent = `corral-pool-test-${process.pid}`;
  const pool = new SandboxPool({ cgroupParent: parent });
  const profile = {
    ...BUILTIN_MINIMAL,
    filesystem: { read: [PROBES_DIR], write: [], deny: [] },
    limits: { memory: "64Mi", wall: "20s" },
  };
  const ids: string[] = [];
  try {
    for (let i = 0; i < 3; i++) {
      const r = await pool.run({
        command: ["/usr/bin/python3", ESCAPE_PY, hostNs(), "mount", "unshare"],
        profileValue: profile,
        cwd: tmpdir(),
        env: { HOME: tmpdir() },
        stdio: "pipe",
      });
      assert.equal(r.exitCode, 0, r.stderr);
      assert.ok(r.cgroup && (r.peakMemoryBytes ?? 0) > 0);
      for (const p of parseProbes(r.stdout ?? "").values()) assert.equal(p.contained, true, `${p.probe}: ${p.detail}`);
      ids.push(r.id);
    }
    const hog = await pool.run({
      command: ["/usr/bin/python3", ESCAPE_PY, hostNs(), "memhog=512"],
      profileValue: profile,
      cwd: tmpdir(),
      env: { HOME: tmpdir() },
      stdio: "pipe",
    });
    assert.ok(hog.limitHits.includes("oom"), JSON.stringify(hog));
  } finally {
    await pool.close();
  }
  const layout = detectCgroups();
  const parentDir = layout?.v1.memory ?? layout?.unified;
  if (parentDir)
    for (const id of ids) assert.equal(existsSync(join(parentDir, parent, id)), false, `cgroup ${id} left behind`);
  await removeCgroupParent(parent);
  if (parentDir) assert.equal(existsSync(join(parentDir, parent)), false);
});
