// Shell: the run's cgroup — detect v1 / v2 / hybrid, create `<own cgroup>/corral/<runid>`, write
// limits, read statistics, kill everything in it and remove it.
import { existsSync, readFileSync } from "node:fs";
import { mkdir, readFile, rmdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { UserError } from "../policy/user-error.ts";
import { type CgroupStats, type Limits, limitWrites, parseKeyValues } from "./cgroup-plan.ts";

const ROOT = "/sys/fs/cgroup";

export class CgroupUnavailableError extends UserError {
  constructor(message: string, hint?: string) {
    super(message, { hint });
  }
}

export const DELEGATION_HINT =
  "run as root, or delegate a cgroup subtree to this user: on cgroup v2 with systemd, " +
  "`systemd-run --user --scope -p Delegate=yes corral run …` (needs a user session); otherwise as root " +
  "`mkdir -p /sys/fs/cgroup/<ctrl>/corral && chown -R <user> /sys/fs/cgroup/<ctrl>/corral` for each of memory, pids, cpu. " +
  "Or drop memory/pids/cpu from the profile's limits to run without a cgroup.";

interface Layout {
  mode: "v1" | "v2" | "hybrid";
  /** v1 controller → directory of our own cgroup in that hierarchy. */
  v1: Record<string, string>;
  /** unified hierarchy: directory the run cgroup is created under (null when absent). */
  unified: string | null;
  unifiedControllers: string[];
}

function ownPaths(): Map<string, string> {
  const out = new Map<string, string>();
  for (const line of readFileSync("/proc/self/cgroup", "utf8").split("\n")) {
    const m = /^\d+:([^:]*):(.*)$/.exec(line);
    if (!m) continue;
    for (const c of m[1]!.split(",")) out.set(c, m[2]!);
  }
  return out;
}

let cached: Layout | null | undefined;

/** What this host offers; null when no cgroup filesystem is mounted at all. */
export function detectCgroups(): Layout | null {
  if (cached !== undefined) return cached;
  const own = ownPaths();
  if (existsSync(join(ROOT, "cgroup.controllers"))) {
    const controllers = readFileSync(join(ROOT, "cgroup.controllers"), "utf8").trim().split(/\s+/).filter(Boolean);
    // The root of our cgroup namespace: nesting below our own cgroup would break v2's
    // "no processes in inner nodes" rule for the cgroup we are running in.
    cached = { mode: "v2", v1: {}, unified: ROOT, unifiedControllers: controllers };
    return cached;
  }
  const v1: Record<string, string> = {};
  for (const c of ["memory", "pids", "cpu", "cpuacct"]) {
    const dir = join(ROOT, c);
    if (existsSync(join(dir, "cgroup.procs"))) v1[c] = join(dir, own.get(c) ?? "/");
  }
  const unifiedRoot = join(ROOT, "unified");
  const unified = existsSync(join(unifiedRoot, "cgroup.procs")) ? join(unifiedRoot, own.get("") ?? "/") : null;
  if (Object.keys(v1).length === 0 && !unified) {
    cached = null;
    return cached;
  }
  cached = { mode: unified ? "hybrid" : "v1", v1, unified, unifiedControllers: [] };
  return cached;
}

export interface RunCgroup {
  mode: "v1" | "v2" | "hybrid";
  /** Display path, relative to the hierarchy roots. */
  path: string;
  /** Files the launcher writes its pid into. */
  procsFiles: string[];
  /** Writes the limits (a warm cgroup gets them when its run is known). */
  applyLimits(limits: Limits): Promise<void>;
  stats(): Promise<CgroupStats>;
  /** SIGKILL to every process in the cgroup; resolves when it is empty (or at once, wait=false). */
  kill(opts?: { wait?: boolean }): Promise<void>;
  remove(): Promise<void>;
}

async function readNum(file: string): Promise<number | null> {
  try {
    const n = Number((await readFile(file, "utf8")).trim());
    return Number.isFinite(n) ? n : null;
  } catch {
    return null;
  }
}

async function readKv(file: string): Promise<Record<string, number>> {
  try {
    return parseKeyValues(await readFile(file, "utf8"));
  } catch {
    return {};
  }
}

async function procs(dir: string): Promise<number[]> {
  try {
    return (await readFile(join(dir, "cgroup.procs"), "utf8")).split("\n").filter(Boolean).map(Number);
  } catch {
    return [];
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function makeDir(dir: string): Promise<void> {
  try {
    await mkdir(dir, { recursive: true });
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    if (e.code === "EACCES" || e.code === "EPERM" || e.code === "EROFS") {
      throw new CgroupUnavailableError(
        `cannot create cgroup ${dir}: ${e.code} (not writable by uid ${process.getuid?.()})`,
        DELEGATION_HINT,
      );
    }
    throw err;
  }
}

/** Creates the run's cgroup with its limits. Throws CgroupUnavailableError with the fix. */
export async function createCgroup(id: string, limits: Limits, parentName = "corral"): Promise<RunCgroup> {
  const layout = detectCgroups();
  if (!layout)
    throw new CgroupUnavailableError(
      `no cgroup filesystem at ${ROOT}`,
      "mount cgroup2 at /sys/fs/cgroup (or run with cgroup: off)",
    );
  const rel = join(parentName, id);
  const created: string[] = [];
  const cleanup = async () => {
    for (const d of created.reverse()) await rmdir(d).catch(() => {});
  };
  try {
    if (layout.mode === "v2") {
      const parent = join(layout.unified!, parentName);
      const wanted = ["memory", "pids", "cpu"].filter((c) => layout.unifiedControllers.includes(c));
      await makeDir(parent);
      // Delegate the controllers down to the run cgroup; the root must already offer them.
      const enable = wanted.map((c) => `+${c}`).join(" ");
      if (enable) {
        await writeFile(join(layout.unified!, "cgroup.subtree_control"), enable).catch(() => {});
        await writeFile(join(parent, "cgroup.subtree_control"), enable);
      }
      const dir = join(parent, id);
      await makeDir(dir);
      created.push(dir);
      const cg = v2Cgroup(dir, rel, wanted);
      await cg.applyLimits(limits);
      return cg;
    }
    const dirs: Record<string, string> = {};
    for (const [c, own] of Object.entries(layout.v1)) dirs[c] = join(own, rel);
    const unifiedDir = layout.unified ? join(layout.unified, rel) : null;
    const all = [...Object.values(dirs), ...(unifiedDir ? [unifiedDir] : [])];
    const made = await Promise.allSettled(
      all.map(async (d) => {
        await makeDir(d);
        created.push(d);
      }),
    );
    for (const m of made) if (m.status === "rejected") throw m.reason;
    const cg = v1Cgroup(dirs, unifiedDir, rel, layout.mode);
    await cg.applyLimits(limits);
    return cg;
  } catch (err) {
    await cleanup();
    throw err;
  }
}

function v2Cgroup(dir: string, rel: string, controllers: string[]): RunCgroup {
  return {
    mode: "v2",
    path: rel,
    procsFiles: [join(dir, "cgroup.procs")],
    async applyLimits(limits) {
      for (const w of limitWrites("v2", limits)) {
        const controller = w.file.split(".")[0] ?? "";
        if (!controllers.includes(controller)) {
          throw new CgroupUnavailableError(
            `cgroup v2 controller '${controller}' is not available for ${w.file}`,
            `enable it: echo +${controller} > ${ROOT}/cgroup.subtree_control`,
          );
        }
        await writeFile(join(dir, w.file), w.value);
      }
    },
    async stats() {
      const mem = await readKv(join(dir, "memory.events"));
      const pids = await readKv(join(dir, "pids.events"));
      const cpu = await readKv(join(dir, "cpu.stat"));
      return {
        peakMemoryBytes: await readNum(join(dir, "memory.peak")),
        cpuTimeMs: cpu.usage_usec === undefined ? null : cpu.usage_usec / 1000,
        oomKills: mem.oom_kill ?? 0,
        pidsLimitHits: pids.max ?? 0,
      };
    },
    kill: (opts) => killV2(dir, opts?.wait ?? true),
    remove: () => removeDirs([dir]),
  };
}

async function killV2(dir: string, wait: boolean): Promise<void> {
  if ((await procs(dir)).length === 0) return;
  await writeFile(join(dir, "cgroup.kill"), "1").catch(() => {});
  if (!wait) return;
  for (let i = 0; i < 200 && (await procs(dir)).length > 0; i++) await sleep(5);
}

function v1Cgroup(
  dirs: Record<string, string>,
  unifiedDir: string | null,
  rel: string,
  mode: "v1" | "hybrid",
): RunCgroup {
  const all = [...Object.values(dirs), ...(unifiedDir ? [unifiedDir] : [])];
  return {
    mode,
    path: rel,
    procsFiles: all.map((d) => join(d, "cgroup.procs")),
    async applyLimits(limits) {
      const memsw = dirs.memory !== undefined && existsSync(join(dirs.memory, "memory.memsw.limit_in_bytes"));
      for (const w of limitWrites("v1", limits, { memsw })) {
        const dir = dirs[w.controller];
        if (!dir)
          throw new CgroupUnavailableError(
            `cgroup v1 controller '${w.controller}' is not mounted`,
            `mount it: mount -t cgroup -o ${w.controller} none ${ROOT}/${w.controller}`,
          );
        await writeFile(join(dir, w.file), w.value);
      }
    },
    async stats() {
      const mem = dirs.memory;
      const [oom, pids, peak, cpu] = await Promise.all([
        mem ? readKv(join(mem, "memory.oom_control")) : ({} as Record<string, number>),
        dirs.pids ? readKv(join(dirs.pids, "pids.events")) : ({} as Record<string, number>),
        mem ? readNum(join(mem, "memory.max_usage_in_bytes")) : null,
        dirs.cpuacct
          ? readNum(join(dirs.cpuacct, "cpuacct.usage")).then((ns) => (ns === null ? null : ns / 1e6))
          : unifiedDir
            ? readKv(join(unifiedDir, "cpu.stat")).then((c) =>
                c.usage_usec === undefined ? null : c.usage_usec / 1000,
              )
            : null,
      ]);
      return { peakMemoryBytes: peak, cpuTimeMs: cpu, oomKills: oom.oom_kill ?? 0, pidsLimitHits: pids.max ?? 0 };
    },
    async kill(opts) {
      const probe = dirs.pids ?? dirs.memory ?? unifiedDir;
      if (!probe) return;
      // The common case: the command left nothing behind.
      if ((await procs(probe)).length === 0) return;
      // Hybrid hosts have cgroup.kill on the unified side even without controllers: atomic.
      if (unifiedDir) await writeFile(join(unifiedDir, "cgroup.kill"), "1").catch(() => {});
      for (let i = 0; i < 200; i++) {
        if (i > 0 && opts?.wait === false) return;
        const left = await procs(probe);
        if (left.length === 0) return;
        for (const pid of left) {
          try {
            process.kill(pid, "SIGKILL");
          } catch {}
        }
        await sleep(5);
      }
    },
    remove: () => removeDirs(all),
  };
}

async function removeDir(d: string): Promise<void> {
  for (let i = 0; ; i++) {
    try {
      await rmdir(d);
      return;
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === "ENOENT") return;
      if (code !== "EBUSY" || i >= 99) throw err;
      await sleep(10);
    }
  }
}

async function removeDirs(dirs: string[]): Promise<void> {
  const results = await Promise.allSettled(dirs.map(removeDir));
  for (const r of results) if (r.status === "rejected") throw r.reason;
}

/** Removes an (empty) parent such as `corral` from every hierarchy; tests use their own. */
export async function removeCgroupParent(parentName: string): Promise<void> {
  const layout = detectCgroups();
  if (!layout) return;
  const dirs = [...Object.values(layout.v1), ...(layout.unified ? [layout.unified] : [])].map((d) =>
    join(d, parentName),
  );
  await Promise.all(dirs.map((d) => rmdir(d).catch(() => {})));
}
