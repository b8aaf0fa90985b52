// Soak: 10,000 concurrent tunnels through `corral gate --workers 2` (bench/gate/soak.ts), and a
// forced-GC heap check over repeated rounds in one process (bench/gate/leak.ts). Bounded: the
// whole file takes well under a minute on this 2-core machine.
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { test } from "node:test";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { privilegedSkip } from "../testing/privileged.ts";

const skip = privilegedSkip({ root: false, commands: ["bash"] });
const root = fileURLToPath(new URL("../../", import.meta.url));
const run = promisify(execFile);

test("10,000 concurrent tunnels: all carry bytes, every fd is returned", { skip, timeout: 120_000 }, async () => {
  const { stdout } = await run(
    "bash",
    ["-c", `ulimit -n 20000 2>/dev/null; exec "${process.execPath}" bench/gate/soak.ts 10000`],
    { cwd: root, timeout: 110_000 },
  );
  const r = JSON.parse(stdout.trim().split("\n").pop()!) as {
    allOpenAndEchoing: number;
    gateFds: { baseline: number; peak: number; after: number };
    setupMs: number;
  };
  assert.equal(r.allOpenAndEchoing, 10_000);
  assert.ok(r.gateFds.peak >= r.gateFds.baseline + 20_000, `peak fds ${r.gateFds.peak}`);
  assert.ok(
    r.gateFds.after <= r.gateFds.baseline + 5,
    `fds after ${r.gateFds.after} vs baseline ${r.gateFds.baseline}`,
  );
  assert.ok(r.setupMs < 60_000);
});

test("heap returns to baseline after repeated rounds of tunnels (forced GC)", { skip, timeout: 120_000 }, async () => {
  const { stdout } = await run(process.execPath, ["--expose-gc", "bench/gate/leak.ts", "4000", "3"], {
    cwd: root,
    timeout: 110_000,
  });
  const r = JSON.parse(stdout.trim().split("\n").pop()!) as { growthKb: number };
  assert.ok(r.growthKb < 3 * 1024, `heap grew ${r.growthKb} KiB over 12,000 tunnels`);
});
