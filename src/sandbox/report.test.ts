import assert from "node:assert/strict";
import { test } from "node:test";
import { formatBytes, formatReport } from "./report.ts";
import type { RunReport } from "./types.ts";

const r: RunReport = {
  id: "abc",
  profile: "plugin",
  command: ["x"],
  exitCode: 137,
  signal: "SIGKILL",
  durationMs: 12.5,
  peakMemoryBytes: 64 * 1024 * 1024,
  cpuTimeMs: 3.2,
  limitHits: ["oom"],
  oomKills: 1,
  deniedEgress: [
    { kind: "dns", name: "evil.example" },
    { kind: "dns", name: "evil.example" },
  ],
  gateRequests: [
    { method: "GET", target: "http://a/", status: 200 },
    { method: "CONNECT", target: "b:443", status: 403 },
  ],
  cgroup: { version: 1, path: "corral/abc" },
  warnings: [],
};

test("text report names status, figures, limit hits and refused egress", () => {
  assert.equal(
    formatReport(r),
    [
      "corral run abc [plugin]: exit 137 (SIGKILL), 12.5 ms, peak 64.0 MiB, cpu 3.2 ms",
      "  limits hit: memory limit (OOM-killed)",
      "  direct egress refused (DNS lookups bypassing the gate): evil.example",
      "  via gate: 2 requests, 1 refused: CONNECT b:443 → 403",
      "",
    ].join("\n"),
  );
  assert.equal(formatBytes(512), "512 B");
});
