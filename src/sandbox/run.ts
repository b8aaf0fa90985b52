// Shell: one sandboxed run. Resolves the profile, prepares seccomp / cgroup / gate bridge,
// spawns `sh -c '<join cgroup; rlimits>; exec bwrap …'`, enforces the wall clock, collects the
// report and cleans up everything it created — also when anything fails half-way.
import { type ChildProcess, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { closeSync, lstatSync, openSync, readdirSync, readlinkSync, statSync } from "node:fs";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { delimiter, join, resolve } from "node:path";
import type { Readable } from "node:stream";
import type { SandboxProfile } from "../policy/schema.ts";
import { CgroupUnavailableError, createCgroup, type RunCgroup } from "./cgroup.ts";
import { type Limits, launchArgs, launchRequest, needsCgroup } from "./cgroup-plan.ts";
import type { GateBridge } from "./gate-bridge.ts";
import { defaultCacheDir, nativeDir, seccompProgram } from "./native.ts";
import type { SandboxPool, Warm } from "./pool.ts";
import {
  type HostFacts,
  type PathKind,
  pathsToStat,
  plan,
  resolveProfile,
  SandboxConfigError,
  SYSTEM_RO,
} from "./profile.ts";
import { hostArch, seccompSpec } from "./seccomp.ts";
import type { LimitHit, RunOptions, RunReport } from "./types.ts";
import { checkUserns } from "./userns.ts";

const SECCOMP_FD = 3;
const EVENTS_FD = 4;
/** Matches pool.ts: a warm launcher reads its run from fd 5 (closed before bwrap starts). */
const WARM_REQUEST_FD = 5;
const PROXY_PORT = 3128;

function kindOf(p: string): PathKind {
  try {
    const st = statSync(p);
    return st.isDirectory() ? "dir" : "file";
  } catch {
    return "missing";
  }
}

export function hostFacts(paths: string[], home: string | undefined): HostFacts {
  const kinds: Record<string, PathKind> = {};
  for (const p of paths) kinds[p] = kindOf(p);
  const symlinks: Record<string, string> = {};
  for (const p of SYSTEM_RO) {
    try {
      if (lstatSync(p).isSymbolicLink()) symlinks[p] = readlinkSync(p);
    } catch {}
  }
  const otherHomes: string[] = [];
  try {
    for (const d of readdirSync("/home")) otherHomes.push(join("/home", d));
  } catch {}
  if (home !== "/root") otherHomes.push("/root");
  for (const h of otherHomes) kinds[h] = kindOf(h);
  return { kinds, symlinks, otherHomes };
}

let bwrapPath: string | undefined;
function findBwrap(env: NodeJS.ProcessEnv): string {
  if (bwrapPath) return bwrapPath;
  for (const dir of [...(env.PATH ?? "").split(delimiter), "/usr/bin", "/usr/local/bin"]) {
    if (!dir) continue;
    const p = join(dir, "bwrap");
    if (kindOf(p) === "file") {
      bwrapPath = p;
      return p;
    }
  }
  throw new SandboxConfigError(
    "bubblewrap (bwrap) is not installed",
    "apt-get install bubblewrap  (or dnf install bubblewrap)",
  );
}

function emptyLimits(p: SandboxProfile): boolean {
  return Object.values(p.limits).every((v) => v === undefined);
}

const SIGNALS: Record<number, string> = {
  1: "SIGHUP",
  2: "SIGINT",
  6: "SIGABRT",
  9: "SIGKILL",
  11: "SIGSEGV",
  13: "SIGPIPE",
  15: "SIGTERM",
  24: "SIGXCPU",
  25: "SIGXFSZ",
  31: "SIGSYS",
};

/**
 * Runs one command in a fresh sandbox and reports how it went. With a pool (SandboxPool.run),
 * the run starts from a launcher that already joined its cgroup.
 */
export async function run(options: RunOptions, pool?: SandboxPool): Promise<RunReport> {
  const started = performance.now();
  const env = options.env ?? process.env;
  const profileName = options.profile ?? "minimal";
  const profile = options.profileValue ?? resolveProfile(options.policy, profileName);
  const id = randomBytes(6).toString("hex");
  const cwd = resolve(options.cwd ?? process.cwd());
  const warnings: string[] = [];

  if (process.getuid?.() !== 0) {
    const userns = checkUserns();
    if (!userns.ok)
      throw new SandboxConfigError(`user namespaces are unavailable: ${userns.reason}`, `as root:\n${userns.fix}`);
  }
  const limits: Limits = emptyLimits(profile) ? {} : (await import("./limits.ts")).limitsOf(profile);
  if (profile.network === "gate" && !options.gate) {
    throw new SandboxConfigError(
      "profile network is 'gate' but no gate address was given",
      "pass gate: { proxy: { host, port }, token } (CLI: the policy's gate.listen.proxy)",
    );
  }
  const bwrap = findBwrap(env);
  const native = nativeDir(options.nativeDir);
  const bpfFile = await seccompProgram(
    seccompSpec(profile, hostArch()),
    native,
    options.cacheDir ?? defaultCacheDir(env),
  );

  const stringEnv = Object.fromEntries(Object.entries(env).filter((e): e is [string, string] => e[1] !== undefined));
  const facts = hostFacts(pathsToStat(profile, cwd, stringEnv), env.HOME);

  // Everything below is created state: undo it in `finally`, in reverse.
  let runDir: string | null = null;
  let bridge: GateBridge | null = null;
  let cgroup: RunCgroup | null = null;
  let seccompFd = -1;
  let timer: NodeJS.Timeout | undefined;
  let onAbort: (() => void) | undefined;
  let releaseToken: (() => Promise<void>) | undefined;
  try {
    let gateMounts: Parameters<typeof plan>[0]["gate"];
    if (profile.network === "gate" && options.gate) {
      runDir = await mkdtemp(join(tmpdir(), "corral-run-"));
      const socket = join(runDir, "gate.sock");
      const resolvConf = join(runDir, "resolv.conf");
      await writeFile(resolvConf, "nameserver 127.0.0.1\noptions attempts:1 timeout:1\n");
      // node:http only for runs that use the gate: keeps `corral run` start-up lean.
      const { startGateBridge } = await import("./gate-bridge.ts");
      let token = options.gate.token;
      if (options.gate.mintToken) {
        const minted = await options.gate.mintToken(id);
        token = minted.token;
        releaseToken = minted.release;
      }
      bridge = await startGateBridge(socket, options.gate.proxy, token, id);
      gateMounts = { socket, netstub: join(native, "netstub"), resolvConf, eventsFd: EVENTS_FD, port: PROXY_PORT };
    }
    const p = plan({
      profile,
      command: options.command,
      cwd,
      env: stringEnv,
      facts,
      seccompFd: SECCOMP_FD,
      gate: gateMounts,
    });

    const mode = options.cgroup ?? "auto";
    const io = options.stdio ?? "inherit";
    const pipeIo = io === "pipe";
    const launch = join(native, "launch");
    const program = [
      bwrap,
      ...p.args.slice(0, p.args.indexOf("--")),
      ...(options.extraBwrapArgs ?? []),
      ...p.args.slice(p.args.indexOf("--")),
    ];
    let warm: Warm | null = null;
    if (mode !== "off" && pool) {
      warm = await pool.take(io);
      if (warm) {
        try {
          await warm.cgroup.applyLimits(limits);
        } catch (err) {
          warm.child.kill("SIGKILL");
          cgroup = warm.cgroup;
          throw err;
        }
        cgroup = warm.cgroup;
      }
    }
    if (mode !== "off" && !warm) {
      try {
        cgroup = await createCgroup(id, limits, options.cgroupParent ?? pool?.cgroupParent ?? env.CORRAL_CGROUP_PARENT);
      } catch (err) {
        if (!(err instanceof CgroupUnavailableError) || mode === "required" || needsCgroup(limits)) throw err;
        warnings.push(`no cgroup (${err.message}): peak memory and cpu time not measured`);
      }
    }

    let child: ChildProcess;
    if (warm) {
      child = warm.child;
      warm.request.end(
        launchRequest({
          limits,
          env: p.env,
          openFds: [{ path: bpfFile, fd: SECCOMP_FD }],
          closeFds: gateMounts ? [WARM_REQUEST_FD] : [EVENTS_FD, WARM_REQUEST_FD],
          program,
        }),
      );
    } else {
      seccompFd = openSync(bpfFile, "r");
      const stdio: ("inherit" | "pipe" | "ignore" | number)[] = [io, io, io, seccompFd];
      if (gateMounts) stdio.push("pipe");
      child = spawn(launch, launchArgs(cgroup?.procsFiles ?? [], limits, program), { env: p.env, stdio, cwd: "/" });
      closeSync(seccompFd);
      seccompFd = -1;
    }
    const actor = options.actor ?? `run:${id}`;
    await options.audit?.record("sandbox.start", actor, {
      run: id,
      profile: profileName,
      command: options.command,
      cgroup: cgroup?.path ?? null,
    });

    const out: Buffer[] = [];
    const err: Buffer[] = [];
    if (pipeIo) {
      child.stdout?.on("data", (b: Buffer) => out.push(b));
      child.stderr?.on("data", (b: Buffer) => err.push(b));
      child.stdin?.on("error", () => {});
      child.stdin?.end(options.input ?? "");
    }
    const dnsNames: string[] = [];
    const events = gateMounts ? (child.stdio[EVENTS_FD] as Readable | null) : null;
    let eventBuf = "";
    events?.on("data", (b: Buffer) => {
      eventBuf += b.toString("utf8");
      let nl = eventBuf.indexOf("\n");
      while (nl >= 0) {
        const m = /^dns (\S+)$/.exec(eventBuf.slice(0, nl));
        if (m && dnsNames.length < 1000 && !dnsNames.includes(m[1]!)) dnsNames.push(m[1]!);
        eventBuf = eventBuf.slice(nl + 1);
        nl = eventBuf.indexOf("\n");
      }
    });

    let timedOut = false;
    let aborted = false;
    const killAll = async () => {
      if (cgroup) await cgroup.kill();
      // Without a cgroup, bwrap's death takes its pid namespace with it (--die-with-parent).
      child.kill("SIGKILL");
    };
    // A warm launcher may already have exited (its cgroup vanished, say): do not wait forever.
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((r) => {
      if (child.exitCode !== null || child.signalCode !== null) r({ code: child.exitCode, signal: child.signalCode });
      else child.once("exit", (code, signal) => r({ code, signal }));
    });
    const spawnError = new Promise<never>((_, reject) => child.once("error", reject));
    if (limits.wallMs !== undefined) {
      timer = setTimeout(() => {
        timedOut = true;
        void killAll();
      }, limits.wallMs);
    }
    if (options.signal) {
      onAbort = () => {
        aborted = true;
        void killAll();
      };
      if (options.signal.aborted) onAbort();
      else options.signal.addEventListener("abort", onAbort, { once: true });
    }
    const exit = await Promise.race([exited, spawnError]);
    clearTimeout(timer);
    // Stragglers (daemons the command left behind) die with the run; they may hold the pipes.
    if (cgroup) await cgroup.kill({ wait: false });
    if (events)
      await new Promise<void>((r) =>
        events.readableEnded ? r() : events.once("end", () => r()).once("close", () => r()),
      );
    if (pipeIo)
      await Promise.all(
        [child.stdout, child.stderr].map(
          (s) => new Promise<void>((r) => (s && !s.readableEnded ? s.once("close", () => r()) : r())),
        ),
      );

    const stats = cgroup ? await cgroup.stats() : null;
    const hits: LimitHit[] = [];
    if (stats && stats.oomKills > 0) hits.push("oom");
    if (stats && stats.pidsLimitHits > 0) hits.push("pids");
    if (timedOut) hits.push("timeout");
    const code = exit.code;
    if (code === 128 + 25) hits.push("fsize");
    if (aborted) warnings.push("aborted by the caller");
    const report: RunReport = {
      id,
      profile: profileName,
      command: options.command,
      exitCode: code,
      signal: exit.signal ?? (code !== null && code > 128 ? (SIGNALS[code - 128] ?? `signal ${code - 128}`) : null),
      durationMs: Math.round((performance.now() - started) * 10) / 10,
      peakMemoryBytes: stats?.peakMemoryBytes ?? null,
      cpuTimeMs:
        stats?.cpuTimeMs === null || stats?.cpuTimeMs === undefined ? null : Math.round(stats.cpuTimeMs * 10) / 10,
      limitHits: hits,
      oomKills: stats?.oomKills ?? 0,
      deniedEgress: dnsNames.map((name) => ({ kind: "dns" as const, name })),
      gateRequests: bridge ? [...bridge.requests] : [],
      cgroup: cgroup
        ? { version: cgroup.mode === "v2" ? 2 : cgroup.mode === "v1" ? 1 : "hybrid", path: cgroup.path }
        : null,
      warnings,
    };
    if (pipeIo) {
      report.stdout = Buffer.concat(out).toString("utf8");
      report.stderr = Buffer.concat(err).toString("utf8");
    }
    await options.audit?.record("sandbox.run", actor, {
      run: id,
      profile: profileName,
      command: options.command,
      exitCode: report.exitCode,
      signal: report.signal,
      limitHits: report.limitHits,
      peakMemoryBytes: report.peakMemoryBytes,
      cpuTimeMs: report.cpuTimeMs,
      // Names the resolver refused, and requests the gate refused (403, or 407 without a credential).
      deniedEgress: [
        ...report.deniedEgress,
        ...report.gateRequests
          .filter((r) => r.status === 403 || r.status === 407)
          .map((r) => ({ kind: "http" as const, name: r.target, method: r.method, status: r.status })),
      ],
      gateRequests: report.gateRequests.length,
      durationMs: report.durationMs,
    });
    return report;
  } finally {
    clearTimeout(timer);
    if (onAbort) options.signal?.removeEventListener("abort", onAbort);
    if (seccompFd >= 0) closeSync(seccompFd);
    if (cgroup) {
      const cg = cgroup;
      const cleanup = async () => {
        await cg.kill().catch(() => {});
        await cg.remove().catch((e: Error) => warnings.push(`cgroup not removed: ${e.message}`));
      };
      // A pool finishes the cgroup's removal off the caller's path (close() awaits it).
      if (pool) pool.defer(cleanup());
      else await cleanup();
    }
    pool?.refill(options.stdio ?? "inherit");
    await bridge?.close();
    await releaseToken?.().catch((e: Error) => warnings.push(`run token not released: ${e.message}`));
    if (runDir) await rm(runDir, { recursive: true, force: true });
  }
}
