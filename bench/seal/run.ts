// Sealed volume I/O against the same directory unsealed, in one run: fio sequential write and
// read (1 MiB blocks) and random 4 KiB writes with fsync, on gocryptfs over the same backing
// filesystem. The anchor is the plain directory. Bounded: 64 MiB per job, 10 s per job at most.
// usage: node bench/seal/run.ts   → bench/results/seal.json   (root, gocryptfs, fio)
import { execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { cpus, tmpdir } from "node:os";
import { join } from "node:path";
import { initCipher, mount, unmount } from "../../src/seal/gocryptfs.ts";

const JOBS = [
  { name: "seq_write_1m", rw: "write", bs: "1M", extra: ["--end_fsync=1"] },
  { name: "seq_read_1m", rw: "read", bs: "1M", extra: [] },
  { name: "rand_write_4k_fsync", rw: "randwrite", bs: "4k", extra: ["--fsync=32"] },
];

function fio(dir: string, job: (typeof JOBS)[number]): { mib_s: number; iops: number; p99_us: number } {
  const out = execFileSync(
    "fio",
    [
      `--name=${job.name}`,
      `--directory=${dir}`,
      `--rw=${job.rw}`,
      `--bs=${job.bs}`,
      "--size=64M",
      "--runtime=10",
      "--ioengine=psync",
      "--numjobs=1",
      "--output-format=json",
      ...job.extra,
    ],
    { encoding: "utf8" },
  );
  const j = JSON.parse(out).jobs[0];
  const side = job.rw.includes("read") ? j.read : j.write;
  const p99 = side.clat_ns?.percentile?.["99.000000"] ?? 0;
  return {
    mib_s: Math.round((side.bw_bytes / 1048576) * 10) / 10,
    iops: Math.round(side.iops),
    p99_us: Math.round(p99 / 100) / 10,
  };
}

const root = mkdtempSync(join(tmpdir(), "corral-seal-bench-"));
const plainDir = join(root, "unsealed");
const cipher = join(root, "cipher");
const sealed = join(root, "sealed");
let mounted = false;
try {
  for (const d of [plainDir, cipher, sealed]) mkdirSync(d);
  const key = randomBytes(32);
  await initCipher(cipher, key);
  await mount(cipher, sealed, key);
  mounted = true;
  const results: Record<string, unknown> = {};
  // Alternating A B B A per job, so page-cache warmth favours neither side.
  for (const job of JOBS) {
    const a1 = fio(plainDir, job);
    const b1 = fio(sealed, job);
    const b2 = fio(sealed, job);
    const a2 = fio(plainDir, job);
    const mean = (x: number, y: number) => Math.round(((x + y) / 2) * 10) / 10;
    results[job.name] = {
      unsealed: { mib_s: mean(a1.mib_s, a2.mib_s), iops: mean(a1.iops, a2.iops), p99_us: mean(a1.p99_us, a2.p99_us) },
      sealed: { mib_s: mean(b1.mib_s, b2.mib_s), iops: mean(b1.iops, b2.iops), p99_us: mean(b1.p99_us, b2.p99_us) },
      ratio_sealed_over_unsealed: Math.round(((b1.iops + b2.iops) / (a1.iops + a2.iops)) * 100) / 100,
    };
  }
  const result = {
    bench: "seal",
    date: new Date().toISOString(),
    machine: { cpus: cpus().length, model: cpus()[0]?.model },
    anchor: "the same backing directory, unsealed",
    layer: execFileSync("gocryptfs", ["-version"], { encoding: "utf8" }).trim(),
    fio: execFileSync("fio", ["--version"], { encoding: "utf8" }).trim(),
    jobs: results,
  };
  mkdirSync(join(import.meta.dirname, "..", "results"), { recursive: true });
  writeFileSync(join(import.meta.dirname, "..", "results", "seal.json"), `${JSON.stringify(result, null, 2)}\n`);
  console.log(JSON.stringify(result, null, 2));
} finally {
  if (mounted) await unmount(sealed).catch(() => {});
  rmSync(root, { recursive: true, force: true });
}
