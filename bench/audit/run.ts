// Audit log append cost per durability mode, against the anchor of plain fs.appendFileSync of
// the same JSON lines (no hashing, no fsync, no queue) in the same run.
// usage: node bench/audit/run.ts     → bench/results/audit.json   (bounded: well under 60 s)
import { appendFileSync, mkdirSync, writeFileSync } from "node:fs";
import { cpus } from "node:os";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { loadPublicKey } from "../../src/audit/keys.ts";
import { type FsyncMode, openAuditLog } from "../../src/audit/log.ts";
import { scratch } from "../../src/audit/testkit.ts";
import type { JsonObject } from "../../src/audit/types.ts";
import { verifyLogDir } from "../../src/audit/verify.ts";

const ACTOR = { identity: "agents/celery", ip: "172.18.0.5" };
function data(i: number): JsonObject {
  return { decision: i % 7 === 0 ? "deny" : "allow", host: "api.openai.com", port: 443, rule: "egress[0]", bytes: i };
}

function round(x: number, digits = 1): number {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? 0;
}

const s = scratch("corral-audit-bench-");
const started = performance.now();
try {
  // Anchor: what an unchained, unsynced log costs: JSON line + appendFileSync.
  const anchorN = 50_000;
  const anchorPath = join(s.root, "anchor.jsonl");
  let t0 = performance.now();
  for (let i = 0; i < anchorN; i++) {
    const line = `${JSON.stringify({ seq: i + 1, time: new Date().toISOString(), kind: "gate.decision", actor: ACTOR, data: data(i) })}\n`;
    appendFileSync(anchorPath, line);
  }
  const anchorSec = (performance.now() - t0) / 1000;
  const anchor = {
    name: "fs.appendFileSync of the same JSON lines, no hash, no fsync",
    records: anchorN,
    seconds: round(anchorSec, 3),
    records_per_s: Math.round(anchorN / anchorSec),
    us_per_record: round((anchorSec * 1e6) / anchorN, 2),
  };

  const plan: { mode: FsyncMode; throughputN: number; latencyN: number }[] = [
    { mode: "none", throughputN: 100_000, latencyN: 5_000 },
    { mode: "batch", throughputN: 50_000, latencyN: 1_000 },
    { mode: "record", throughputN: 5_000, latencyN: 2_000 },
  ];
  const CONCURRENCY = 256;
  const results: Record<string, JsonObject> = {};
  for (const { mode, throughputN, latencyN } of plan) {
    const dir = join(s.root, `log-${mode}`);
    const log = await openAuditLog({ dir, keyPath: s.keyPath, fsync: mode, checkpointEvery: 1000 });
    // Throughput: CONCURRENCY appends in flight (a busy gate), each awaited.
    t0 = performance.now();
    for (let i = 0; i < throughputN; i += CONCURRENCY) {
      const batch = [];
      for (let j = i; j < Math.min(throughputN, i + CONCURRENCY); j++)
        batch.push(log.record("gate.decision", ACTOR, data(j)));
      await Promise.all(batch);
    }
    const tSec = (performance.now() - t0) / 1000;
    // Latency: one caller awaiting each append in turn.
    const lat: number[] = [];
    for (let i = 0; i < latencyN; i++) {
      const a = performance.now();
      await log.record("gate.decision", ACTOR, data(i));
      lat.push((performance.now() - a) * 1000);
    }
    await log.close();
    lat.sort((a, b) => a - b);
    results[`fsync=${mode}`] = {
      records: throughputN,
      concurrency: CONCURRENCY,
      seconds: round(tSec, 3),
      records_per_s: Math.round(throughputN / tSec),
      us_per_record: round((tSec * 1e6) / throughputN, 2),
      sequential_latency_us: {
        samples: latencyN,
        p50: round(percentile(lat, 50)),
        p99: round(percentile(lat, 99)),
        max: round(lat.at(-1) ?? 0),
      },
    };
  }

  // Verification speed, over the largest log.
  t0 = performance.now();
  const report = verifyLogDir(join(s.root, "log-none"), loadPublicKey(s.pubPath));
  const vSec = (performance.now() - t0) / 1000;
  if (report.status !== "valid" || report.unverified !== 0)
    throw new Error(`bench log did not verify: ${JSON.stringify(report.problem)}`);
  results.verify = {
    records: report.records,
    seconds: round(vSec, 3),
    records_per_s: Math.round(report.records / vSec),
  };

  const ratios: Record<string, number> = {};
  for (const [name, r] of Object.entries(results))
    if (name.startsWith("fsync="))
      ratios[`${name} / anchor throughput`] = round((r.records_per_s as number) / anchor.records_per_s, 3);

  const out = {
    bench: "audit",
    date: new Date().toISOString(),
    env: { node: process.version, cpus: cpus().length, tmpdir: s.root.replace(/\/[^/]+$/, "") },
    anchor,
    results,
    ratios,
    total_seconds: round((performance.now() - started) / 1000, 1),
  };
  const resultsDir = new URL("../results/", import.meta.url);
  mkdirSync(resultsDir, { recursive: true });
  writeFileSync(new URL("audit.json", resultsDir), `${JSON.stringify(out, null, 2)}\n`);
  process.stdout.write(`${JSON.stringify(out, null, 2)}\n`);
} finally {
  s.cleanup();
}
