// Pure core: profile limits → the cgroup files to write (v1 or v2), the wrapper shell that joins
// the cgroup and sets rlimits before exec'ing bwrap, and parsers for the statistics files.

export type CgroupMode = "v1" | "v2";

export interface Limits {
  memoryBytes?: number;
  swapBytes?: number;
  pids?: number;
  cpu?: number;
  wallMs?: number;
  nofile?: number;
  fsizeBytes?: number;
}

/** Limits only a cgroup can enforce (rlimits and the wall clock need none). */
export function needsCgroup(l: Limits): boolean {
  return l.memoryBytes !== undefined || l.pids !== undefined || l.cpu !== undefined;
}

export interface CgroupWrite {
  /** v1: controller directory name (memory, pids, cpu); v2: "" (one unified directory). */
  controller: string;
  file: string;
  value: string;
}

const CPU_PERIOD_US = 100_000;

/**
 * Files to write, in order. Swap defaults to none (memory+swap = memory), so a hog is
 * OOM-killed instead of slowly swapping.
 */
export function limitWrites(mode: CgroupMode, l: Limits, opts: { memsw: boolean } = { memsw: true }): CgroupWrite[] {
  const w: CgroupWrite[] = [];
  if (mode === "v1") {
    if (l.memoryBytes !== undefined) {
      w.push({ controller: "memory", file: "memory.limit_in_bytes", value: String(l.memoryBytes) });
      if (opts.memsw)
        w.push({
          controller: "memory",
          file: "memory.memsw.limit_in_bytes",
          value: String(l.memoryBytes + (l.swapBytes ?? 0)),
        });
    }
    if (l.pids !== undefined) w.push({ controller: "pids", file: "pids.max", value: String(l.pids) });
    if (l.cpu !== undefined) {
      w.push({ controller: "cpu", file: "cpu.cfs_period_us", value: String(CPU_PERIOD_US) });
      w.push({
        controller: "cpu",
        file: "cpu.cfs_quota_us",
        value: String(Math.max(1000, Math.round(l.cpu * CPU_PERIOD_US))),
      });
    }
  } else {
    if (l.memoryBytes !== undefined) {
      w.push({ controller: "", file: "memory.max", value: String(l.memoryBytes) });
      w.push({ controller: "", file: "memory.swap.max", value: String(l.swapBytes ?? 0) });
    }
    if (l.pids !== undefined) w.push({ controller: "", file: "pids.max", value: String(l.pids) });
    if (l.cpu !== undefined)
      w.push({
        controller: "",
        file: "cpu.max",
        value: `${Math.max(1000, Math.round(l.cpu * CPU_PERIOD_US))} ${CPU_PERIOD_US}`,
      });
  }
  return w;
}

/** rlimits for native/launch: core dumps off always, then the profile's. */
export function rlimitSpecs(l: Limits): string[] {
  const out = ["core=0"];
  if (l.nofile !== undefined) out.push(`nofile=${l.nofile}`);
  if (l.fsizeBytes !== undefined) out.push(`fsize=${l.fsizeBytes}`);
  return out;
}

/**
 * argv for native/launch (cold start): join every cgroup — so bwrap and all it forks are
 * counted from the first instruction, no window — set rlimits, exec bwrap.
 */
export function launchArgs(procsFiles: string[], l: Limits, program: string[]): string[] {
  return [
    ...procsFiles.flatMap((f) => ["--procs", f]),
    ...rlimitSpecs(l).flatMap((r) => ["--rlimit", r]),
    "--",
    ...program,
  ];
}

/** The request a warm launcher (`--request-fd`) reads: NUL-separated tokens, see native/launch.c. */
export function launchRequest(req: {
  limits: Limits;
  env: Record<string, string>;
  openFds: { path: string; fd: number }[];
  closeFds: number[];
  program: string[];
}): Buffer {
  const t: string[] = [];
  for (const r of rlimitSpecs(req.limits)) t.push("R", r);
  for (const [k, v] of Object.entries(req.env)) t.push("E", `${k}=${v}`);
  for (const o of req.openFds) t.push("S", o.path, String(o.fd));
  for (const fd of req.closeFds) t.push("C", String(fd));
  t.push("X", ...req.program);
  for (const x of t) if (x.includes("\0")) throw new Error("NUL byte in a launch argument");
  return Buffer.from(`${t.join("\0")}\0`);
}

/** `key value` lines (memory.events, pids.events, cpu.stat, memory.oom_control) → record. */
export function parseKeyValues(text: string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const line of text.split("\n")) {
    const [k, v] = line.trim().split(/\s+/);
    if (k && v !== undefined && /^\d+$/.test(v)) out[k] = Number(v);
  }
  return out;
}

export interface CgroupStats {
  peakMemoryBytes: number | null;
  cpuTimeMs: number | null;
  oomKills: number;
  pidsLimitHits: number;
}
