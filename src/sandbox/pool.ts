// Warm start for callers that run many sandboxes (an agent platform, the gate). Joining a
// cgroup costs the kernel an RCU grace period (10-20 ms here), paid by the process that joins;
// a pool pays it ahead of time: it keeps one launcher per stdio mode already inside a fresh
// cgroup, blocked until a run is handed to it (native/launch --request-fd), and prepares the
// next one as soon as one is taken.
import { type ChildProcess, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { join } from "node:path";
import type { Writable } from "node:stream";
import { CgroupUnavailableError, createCgroup, type RunCgroup } from "./cgroup.ts";
import { nativeDir } from "./native.ts";
import { run } from "./run.ts";
import type { RunOptions, RunReport } from "./types.ts";

export type StdioMode = "inherit" | "pipe" | "ignore";

/** fds of a warm launcher: 3 becomes the seccomp program, 4 the events pipe, 5 the request. */
export const WARM_EVENTS_FD = 4;
export const WARM_REQUEST_FD = 5;

export interface Warm {
  id: string;
  child: ChildProcess;
  cgroup: RunCgroup;
  request: Writable;
}

interface Unreffable {
  unref?: () => void;
  ref?: () => void;
}

export class SandboxPool {
  readonly #cgroupParent: string | undefined;
  readonly #nativeDir: string | undefined;
  readonly #ready = new Map<StdioMode, Promise<Warm | null>>();
  readonly #cleanups = new Set<Promise<void>>();
  #unavailable = false;
  #closed = false;

  constructor(opts: { cgroupParent?: string; nativeDir?: string } = {}) {
    this.#cgroupParent = opts.cgroupParent;
    this.#nativeDir = opts.nativeDir;
  }

  /** Parent of the pool's cgroups; cold runs of this pool use it too. */
  get cgroupParent(): string | undefined {
    return this.#cgroupParent;
  }

  /** Like `run()`, starting from a warm launcher when one is ready. */
  run(options: RunOptions): Promise<RunReport> {
    return run(options, this);
  }

  /** A ready launcher for this stdio mode, or null: start cold. */
  async take(mode: StdioMode): Promise<Warm | null> {
    if (this.#closed || this.#unavailable) return null;
    const pending = this.#ready.get(mode);
    this.#ready.delete(mode);
    const warm = pending ? await pending : null;
    if (!warm || warm.child.exitCode !== null || warm.child.signalCode !== null) {
      if (warm) await this.#discard(warm);
      return null;
    }
    for (const s of [warm.child, ...warm.child.stdio]) (s as Unreffable | null)?.ref?.();
    return warm;
  }

  /**
   * Prepares the next launcher for this mode. Called when a run has finished, not when it
   * starts: spawning forks this process, and doing that mid-run would delay the run itself.
   */
  refill(mode: StdioMode): void {
    if (this.#closed || this.#unavailable || this.#ready.has(mode)) return;
    this.#ready.set(mode, this.#prepare(mode));
  }

  /** Tracks a run's cgroup removal so close() can wait for it. */
  defer(cleanup: Promise<void>): void {
    const p = cleanup.finally(() => this.#cleanups.delete(p));
    this.#cleanups.add(p);
  }

  async #prepare(mode: StdioMode): Promise<Warm | null> {
    const id = randomBytes(6).toString("hex");
    let cgroup: RunCgroup;
    try {
      cgroup = await createCgroup(id, {}, this.#cgroupParent);
    } catch (err) {
      if (err instanceof CgroupUnavailableError) this.#unavailable = true;
      return null;
    }
    const launch = join(nativeDir(this.#nativeDir), "launch");
    const args = [...cgroup.procsFiles.flatMap((f) => ["--procs", f]), "--request-fd", String(WARM_REQUEST_FD)];
    const child = spawn(launch, args, { stdio: [mode, mode, mode, "ignore", "pipe", "pipe"], env: {}, cwd: "/" });
    child.on("error", () => {});
    // Waiting launchers must not keep the caller's process alive.
    for (const s of [child, ...child.stdio]) (s as Unreffable | null)?.unref?.();
    const request = (child.stdio as unknown as (Writable | null)[])[WARM_REQUEST_FD];
    if (!request) {
      child.kill("SIGKILL");
      return null;
    }
    request.on("error", () => {});
    return { id, child, cgroup, request };
  }

  async #discard(w: Warm): Promise<void> {
    w.child.kill("SIGKILL");
    await w.cgroup.kill().catch(() => {});
    await w.cgroup.remove().catch(() => {});
  }

  /** Kills the waiting launchers and removes their cgroups. */
  async close(): Promise<void> {
    this.#closed = true;
    const pending = [...this.#ready.values()];
    this.#ready.clear();
    for (const p of pending) {
      const w = await p;
      if (w) await this.#discard(w);
    }
    await Promise.all([...this.#cleanups]);
  }
}
