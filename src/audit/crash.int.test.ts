// kill -9 a writer in the middle of heavy writing: everything it was told is written survives,
// verify passes on what is there, and reopening truncates a torn line and carries on.
import { privilegedSkip } from "../testing/privileged.ts";

const skip = privilegedSkip({ root: false });

import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { statSync, truncateSync } from "node:fs";
import { test } from "node:test";
import { fileURLToPath } from "node:url";
import { loadPublicKey } from "./keys.ts";
import { openAuditLog } from "./log.ts";
import { listSegments } from "./segments.ts";
import { scratch } from "./testkit.ts";
import { verifyLogDir } from "./verify.ts";

const CHILD = fileURLToPath(new URL("./crash-writer.ts", import.meta.url));

/** Runs the writer until it has acknowledged `acks` records, then SIGKILLs it by pid. */
async function writeAndKill(dir: string, key: string, fsync: string, inflight: number, acks: number): Promise<number> {
  const child = spawn(process.execPath, [CHILD, dir, key, fsync, String(inflight)], {
    stdio: ["ignore", "pipe", "pipe"],
  });
  let acked = 0;
  let stderr = "";
  let buffered = "";
  child.stderr.on("data", (d) => {
    stderr += String(d);
  });
  const exited = new Promise<NodeJS.Signals | null>((resolve) => child.on("exit", (_code, signal) => resolve(signal)));
  await new Promise<void>((resolve, reject) => {
    const timeout = setTimeout(() => reject(new Error(`writer too slow: ${acked} acks; ${stderr}`)), 20_000);
    child.stdout.on("data", (d) => {
      buffered += String(d);
      const lines = buffered.split("\n");
      buffered = lines.pop()!;
      for (const l of lines) if (l.startsWith("A ")) acked = Math.max(acked, Number(l.slice(2)));
      if (acked >= acks) {
        clearTimeout(timeout);
        resolve();
      }
    });
    child.on("exit", () => reject(new Error(`writer exited early: ${stderr}`)));
  }).finally(() => {
    if (child.exitCode === null && child.pid) process.kill(child.pid, "SIGKILL");
  });
  assert.equal(await exited, "SIGKILL");
  return acked;
}

for (const [fsync, inflight, acks] of [
  ["record", 1, 300],
  ["batch", 64, 3000],
  ["none", 64, 5000],
] as const) {
  test(`kill -9 during writing (fsync=${fsync}) loses nothing acknowledged; verify passes`, { skip }, async (t) => {
    const s = scratch();
    try {
      const pub = loadPublicKey(s.pubPath);
      let acked = 0;
      for (let round = 0; round < 2; round++) {
        acked = await writeAndKill(s.dir, s.keyPath, fsync, inflight, acked + acks);
        const report = verifyLogDir(s.dir, pub);
        assert.equal(report.status, "valid", JSON.stringify(report.problem));
        assert.ok(report.lastSeq >= acked, `acknowledged ${acked}, on disk ${report.lastSeq}`);
        // Only what was queued but not acknowledged can be lost.
        if (fsync === "record") assert.ok(report.lastSeq <= acked + 1);
        assert.ok(report.checkpoints > 0);
      }
      // A kill rarely lands inside write(2); a power cut can. Emulate that torn write by cutting
      // into the last record, when nothing signed covers it yet.
      const before = verifyLogDir(s.dir, pub);
      if (before.unverified > 0) {
        const last = listSegments(s.dir).at(-1)!;
        truncateSync(last.path, statSync(last.path).size - 700);
        const torn = verifyLogDir(s.dir, pub);
        assert.equal(torn.status, "valid");
        assert.match(torn.notes.join("\n"), /torn final line/);
      }
      const log = await openAuditLog({ dir: s.dir, keyPath: s.keyPath });
      if (before.unverified > 0) assert.ok(log.recovery);
      t.diagnostic(
        `acknowledged ${acked}; torn line on last reopen: ${log.recovery ? `${log.recovery.bytes} bytes` : "none"}`,
      );
      await log.record("policy.load", "corral", { after: "crash" });
      await log.close();
      const final = verifyLogDir(s.dir, pub);
      assert.equal(final.status, "valid");
      assert.equal(final.unverified, 0);
      assert.deepEqual(final.notes, []);
    } finally {
      s.cleanup();
    }
  });
}
