// Child processes for the gate's bench and soak: the corral gate CLI, loopback servers, and
// /proc readings (RSS, open fds) of a process tree. Every child is stopped by its own pid.
import { type ChildProcess, spawn } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { type DnsUpstream, freePort, startDnsUpstream } from "../../src/gate/testkit.ts";

export { freePort };

export const ROOT = fileURLToPath(new URL("../../", import.meta.url));

/** Spawns and resolves once stdout/stderr matches `ready` (null: at once). */
export function spawnReady(
  cmd: string,
  args: string[],
  ready: RegExp | null,
  opts: { cwd?: string; timeoutMs?: number } = {},
): Promise<{ child: ChildProcess; match: RegExpMatchArray }> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { cwd: opts.cwd ?? ROOT, stdio: ["ignore", "pipe", "pipe"] });
    if (ready === null) {
      child.stdout?.resume();
      child.stderr?.resume();
      child.once("spawn", () => resolve({ child, match: [""] as unknown as RegExpMatchArray }));
      child.once("error", reject);
      return;
    }
    let out = "";
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`${cmd} not ready in time:\n${out}`));
    }, opts.timeoutMs ?? 15_000);
    const onData = (d: Buffer) => {
      out += d.toString();
      const m = ready.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve({ child, match: m });
      }
    };
    child.stdout?.on("data", onData);
    child.stderr?.on("data", onData);
    child.on("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`${cmd} exited ${code}:\n${out}`));
    });
  });
}

export function stop(child: ChildProcess | undefined, signal: NodeJS.Signals = "SIGTERM"): Promise<void> {
  if (!child || child.exitCode !== null || child.pid === undefined) return Promise.resolve();
  return new Promise((resolve) => {
    const t = setTimeout(() => child.kill("SIGKILL"), 5000);
    child.once("exit", () => {
      clearTimeout(t);
      resolve();
    });
    child.kill(signal);
  });
}

export function childPids(pid: number): number[] {
  try {
    return readFileSync(`/proc/${pid}/task/${pid}/children`, "utf8").trim().split(/\s+/).filter(Boolean).map(Number);
  } catch {
    return [];
  }
}

export function procStats(pid: number): { rssKb: number; fds: number } {
  try {
    const status = readFileSync(`/proc/${pid}/status`, "utf8");
    const rssKb = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0);
    return { rssKb, fds: readdirSync(`/proc/${pid}/fd`).length };
  } catch {
    return { rssKb: 0, fds: 0 };
  }
}

/** RSS and fds of a process and its children, summed. */
export function treeStats(pid: number): { rssKb: number; fds: number; pids: number[] } {
  const pids = [pid, ...childPids(pid)];
  let rssKb = 0;
  let fds = 0;
  for (const p of pids) {
    const s = procStats(p);
    rssKb += s.rssKb;
    fds += s.fds;
  }
  return { rssKb, fds, pids };
}

/** dnsmasq as the DNS anchor: every name NXDOMAIN except allowed.test, forwarded to `upstreamPort`. */
export function dnsmasqArgs(port: number, upstreamPort: number, dir: string): string[] {
  return [
    "-k",
    "--conf-file=/dev/null",
    `--port=${port}`,
    "--listen-address=127.0.0.1",
    "--bind-interfaces",
    "--no-resolv",
    "--no-hosts",
    "--cache-size=10000",
    `--pid-file=${dir}/dnsmasq.pid`,
    "--address=/#/",
    `--server=/allowed.test/127.0.0.1#${upstreamPort}`,
  ];
}

/**
 * What every gate bench starts first: the HTTP origin on 127.0.0.2 (its port) and a DNS
 * upstream answering allowed.test and its subdomains with 127.0.0.2, NXDOMAIN otherwise.
 * Both are pushed onto `cleanup`.
 */
export async function startBenchTargets(
  cleanup: (() => Promise<void>)[],
): Promise<{ originPort: number; upstream: DnsUpstream }> {
  const origin = await spawnReady(
    process.execPath,
    [join(ROOT, "bench/gate/origin-server.ts"), "127.0.0.2", "0"],
    /ready (\d+)/,
  );
  cleanup.push(() => stop(origin.child));
  const upstream = await startDnsUpstream((name, type) =>
    type === "A" && name.endsWith("allowed.test") ? { A: ["127.0.0.2"], ttl: 3600 } : "nxdomain",
  );
  cleanup.push(() => upstream.close());
  return { originPort: Number(origin.match[1]), upstream };
}
