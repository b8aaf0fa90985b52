// Records/s with witnessing on against off (same run, same machine, same fsync mode), and how
// long a checkpoint takes from being signed to being cosigned by a witness on loopback. The
// anchor is the same log with no witness configured. The witness runs in this process (it shares
// the CPU with the writer), so the witnessed figures are a lower bound.
// usage: node bench/audit-anchor/run.ts   → bench/results/audit-anchor.json  (bounded: < 60 s)
import { mkdirSync, writeFileSync } from "node:fs";
import { cpus } from "node:os";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { loadWitnessKey } from "../../src/audit/anchor-config.ts";
import { WitnessTarget } from "../../src/audit/anchor-targets.ts";
import { noteKeyOf } from "../../src/audit/checkpoint.ts";
import { loadPublicKey } from "../../src/audit/keys.ts";
import { openAuditLog } from "../../src/audit/log.ts";
import { openAuditSink } from "../../src/audit/open.ts";
import { scratch } from "../../src/audit/testkit.ts";
import type { Checkpoint } from "../../src/audit/types.ts";
import { startWitness } from "../../src/audit/witness-server.ts";

const N = 100_000;
const EVERY = 1000;
const ORIGIN = "bench.example/audit";
const round = (x: number, d = 1) => Math.round(x * 10 ** d) / 10 ** d;
const pct = (s: number[], p: number) => s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] ?? 0;

async function rate(dir: string, key: string, witness?: { url: string; pub: string }): Promise<number> {
  const sink = await openAuditSink({
    dir,
    keyPath: key,
    fsync: "batch",
    checkpointEvery: EVERY,
    origin: ORIGIN,
    ...(witness ? { witnesses: [{ url: witness.url, key: witness.pub }] } : {}),
  });
  const t0 = performance.now();
  const inflight: Promise<unknown>[] = [];
  for (let i = 0; i < N; i++) {
    inflight.push(
      sink.record(
        "gate.decision",
        { identity: "agents/a", ip: "10.203.0.5" },
        { decision: "allow", host: "api.example", port: 443, n: i },
      ),
    );
    if (inflight.length >= 256) await Promise.all(inflight.splice(0));
  }
  await Promise.all(inflight);
  const sec = (performance.now() - t0) / 1000;
  await sink.close();
  return N / sec;
}

const s = scratch("corral-anchor-bench-");
const started = performance.now();
const witnessDir = join(s.root, "witness");
const logs = new Map([[ORIGIN, noteKeyOf(ORIGIN, loadPublicKey(s.pubPath))]]);
const witness = await startWitness({
  listen: { host: "127.0.0.1", port: 0 },
  stateDir: witnessDir,
  logs,
  name: "bench-witness",
});
const target = { url: witness.url, pub: join(witnessDir, "witness.pub") };
try {
  // Alternating A B B A so drift (page cache, CPU clock) does not favour either side.
  const off: number[] = [];
  const on: number[] = [];
  for (const [i, w] of [false, true, true, false].entries()) {
    const dir = join(s.root, `log-${i}`);
    logs.set(ORIGIN, noteKeyOf(ORIGIN, loadPublicKey(s.pubPath)));
    // A fresh witness state per witnessed run: each log starts its own history.
    (w ? on : off).push(await rate(dir, s.keyPath, w ? target : undefined));
    if (w) writeFileSync(join(witnessDir, "state.json"), JSON.stringify({ version: 1, logs: {} }));
  }
  await witness.close();
  const fresh = await startWitness({
    listen: { host: "127.0.0.1", port: 0 },
    stateDir: join(s.root, "witness2"),
    logs,
    name: "bench-witness",
  });
  // Push latency: checkpoints of a growing log, each EVERY records after the last, pushed alone.
  const dir = join(s.root, "latency");
  const latencies: number[] = [];
  const log = await openAuditLog({
    dir,
    keyPath: s.keyPath,
    fsync: "none",
    checkpointEvery: 1e9,
    checkpointIntervalMs: 0,
    origin: ORIGIN,
  });
  const target2 = new WitnessTarget(fresh.url, loadWitnessKey(join(s.root, "witness2", "witness.pub")), dir);
  for (let round_ = 0; round_ < 50; round_++) {
    for (let i = 0; i < EVERY; i++) void log.record("gate.decision", "agents/a", { decision: "allow", n: i });
    const cp = (await log.checkpoint()) as Checkpoint;
    const t0 = performance.now();
    await target2.deliver(cp, AbortSignal.timeout(5000));
    latencies.push(performance.now() - t0);
  }
  await log.close();
  await fresh.close();
  latencies.sort((a, b) => a - b);
  const median = (x: number[]) => [...x].sort((a, b) => a - b)[Math.floor(x.length / 2)]!;
  const result = {
    bench: "audit-anchor",
    date: new Date().toISOString(),
    machine: { cpus: cpus().length, model: cpus()[0]?.model },
    records: N,
    checkpoint_every: EVERY,
    fsync: "batch",
    anchor: { name: "same log, no witness", records_per_s: off.map((x) => round(x, 0)) },
    witnessed: { records_per_s: on.map((x) => round(x, 0)) },
    ratio_on_over_off: round(median(on) / median(off), 3),
    push_latency_ms: {
      checkpoints: latencies.length,
      records_between: EVERY,
      p50: round(pct(latencies, 50), 2),
      p99: round(pct(latencies, 99), 2),
      max: round(latencies.at(-1) ?? 0, 2),
      note: "from a signed checkpoint to a verified cosignature: proof from the witness's size (reading the records since), HTTP on loopback, the witness's fsync'd state",
    },
    seconds: round((performance.now() - started) / 1000),
  };
  mkdirSync(join(import.meta.dirname, "..", "results"), { recursive: true });
  writeFileSync(
    join(import.meta.dirname, "..", "results", "audit-anchor.json"),
    `${JSON.stringify(result, null, 2)}\n`,
  );
  console.log(JSON.stringify(result, null, 2));
} finally {
  s.cleanup();
}
