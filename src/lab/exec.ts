// Running `ip`, `nft` and friends: argv arrays only (never a shell), errors carry stderr.
import { execFile, spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { UserError } from "../policy/user-error.ts";

export class LabError extends UserError {}

export function run(argv: string[], input?: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const [cmd, ...args] = argv;
    const child = execFile(cmd ?? "true", args, { maxBuffer: 64 * 1024 * 1024 }, (err, stdout, stderr) => {
      if (err) reject(new LabError(`${argv.join(" ")}: ${String(stderr).trim() || err.message}`));
      else resolve(String(stdout));
    });
    if (input !== undefined) child.stdin?.end(input);
  });
}

export function runSync(argv: string[]): { ok: boolean; stdout: string; stderr: string } {
  const [cmd, ...args] = argv;
  const r = spawnSync(cmd ?? "true", args, { encoding: "utf8" });
  return { ok: r.status === 0, stdout: r.stdout ?? "", stderr: r.stderr ?? "" };
}

function hasCommand(cmd: string): boolean {
  return spawnSync("sh", ["-c", `command -v ${cmd}`], { stdio: "ignore" }).status === 0;
}

/** Why the lab cannot run here, or undefined: it needs root, `ip` and `nft`. */
export function labUnavailable(): string | undefined {
  const missing: string[] = [];
  if (process.getuid?.() !== 0) missing.push("root (network namespaces need CAP_SYS_ADMIN and CAP_NET_ADMIN)");
  for (const cmd of ["ip", "nft"]) if (!hasCommand(cmd)) missing.push(`the '${cmd}' command`);
  // Same-bridge traffic reaches the inet hooks only through br_netfilter, as on a Docker host.
  if (missing.length === 0 && !existsSync("/proc/sys/net/bridge/bridge-nf-call-iptables"))
    missing.push("the br_netfilter kernel module (modprobe br_netfilter)");
  return missing.length ? `the lab needs ${missing.join(" and ")}` : undefined;
}
