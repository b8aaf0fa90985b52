// Pure core: a sandbox profile plus facts about the host → bubblewrap's argv and the scrubbed
// environment. No I/O: the shell (run.ts) stats paths and passes what it found in `HostFacts`.
import { isAbsolute, join, normalize, resolve } from "node:path";
import type { Policy, SandboxProfile } from "../policy/schema.ts";
import { UserError } from "../policy/user-error.ts";

export const BUILTIN_MINIMAL: SandboxProfile = {
  network: "none",
  filesystem: { read: [], write: [], deny: [] },
  limits: {},
  syscalls: { allow: [], deny: [] },
  env: [],
};

export class SandboxConfigError extends UserError {
  constructor(message: string, hint?: string) {
    super(message, { hint });
  }
}

export function resolveProfile(policy: Policy | undefined, name: string): SandboxProfile {
  const found = policy?.sandbox.profiles[name];
  if (found) return found;
  if (name === "minimal") return BUILTIN_MINIMAL;
  const known = Object.keys(policy?.sandbox.profiles ?? {});
  if (!known.includes("minimal")) known.push("minimal");
  throw new SandboxConfigError(
    `no sandbox profile '${name}'`,
    `define it under sandbox.profiles in the policy, or use one of: ${known.sort().join(", ")}`,
  );
}

/** Secrets in a home directory that no sandbox sees, whatever it binds. */
export const DEFAULT_DENY_IN_HOME = [
  ".ssh",
  ".aws",
  ".azure",
  ".config/gcloud",
  ".docker",
  ".kube",
  ".gnupg",
  ".netrc",
  ".git-credentials",
  ".pypirc",
  ".npmrc",
];
export const DEFAULT_DENY_ABSOLUTE = ["/var/run/docker.sock", "/run/docker.sock", "/run", "/var/run"];

/** Host directories mounted read-only for every run (when present). */
export const SYSTEM_RO = ["/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32"];
/** The /etc subset programs need to start, resolve users and verify TLS; not the whole of /etc. */
export const ETC_RO = [
  "/etc/ld.so.cache",
  "/etc/ld.so.conf",
  "/etc/ld.so.conf.d",
  "/etc/alternatives",
  "/etc/ssl",
  "/etc/ca-certificates",
  "/etc/pki",
  "/etc/localtime",
  "/etc/nsswitch.conf",
  "/etc/passwd",
  "/etc/group",
  "/etc/mime.types",
  "/etc/protocols",
  "/etc/services",
  "/etc/os-release",
  "/etc/python3",
  "/etc/python3.11",
];

const PROC_COVER = ["/proc/sys", "/proc/sysrq-trigger", "/proc/irq", "/proc/bus"];

export type PathKind = "dir" | "file" | "missing";

export interface HostFacts {
  /** lstat results for every path the plan may mount or mask (absolute). */
  kinds: Record<string, PathKind>;
  /** Top-level system entries that are symlinks (e.g. /bin → usr/bin on merged-/usr hosts). */
  symlinks: Record<string, string>;
  /** Home directories of other users (e.g. /home/*), hidden when a bound path contains them. */
  otherHomes: string[];
}

export interface GateMounts {
  /** Host path of the run's unix socket (bridged to the gate). */
  socket: string;
  /** Host path of the netstub helper. */
  netstub: string;
  /** Host path of a resolv.conf pointing at the stub (nameserver 127.0.0.1). */
  resolvConf: string;
  /** fd (inherited by bwrap) the stub reports refused DNS lookups on. */
  eventsFd: number;
  port: number;
}

export interface PlanInput {
  profile: SandboxProfile;
  command: string[];
  /** Absolute working directory of the caller (resolves `.` and relative profile paths). */
  cwd: string;
  env: Record<string, string | undefined>;
  facts: HostFacts;
  seccompFd: number;
  gate?: GateMounts;
}

export interface Plan {
  /** Arguments after `bwrap`. */
  args: string[];
  /** The whole environment bwrap (and so the sandbox) starts with. */
  env: Record<string, string>;
  workDir: string;
  /** Every path the plan stats (the shell collects their kinds before planning). */
  paths: string[];
}

export const SANDBOX_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
const PASS_ENV = ["LANG", "LANGUAGE", "LC_ALL", "LC_CTYPE", "LC_MESSAGES", "TERM", "TZ", "COLORTERM", "NO_COLOR"];
export const INNER_RUN_DIR = "/run/corral";

function expand(p: string, cwd: string, home: string | undefined): string {
  if (p === "~" || p.startsWith("~/")) {
    if (!home) throw new SandboxConfigError(`'${p}' needs HOME, which is not set`, "set HOME or use an absolute path");
    return normalize(join(home, p.slice(1)));
  }
  return isAbsolute(p) ? normalize(p) : resolve(cwd, p);
}

function within(child: string, parent: string): boolean {
  if (parent === "/") return true;
  return child === parent || child.startsWith(`${parent}/`);
}

/** The working directory: the first `filesystem.write` entry, else the caller's cwd. */
export function workDirOf(profile: SandboxProfile, cwd: string, home: string | undefined): string {
  const first = profile.filesystem.write[0];
  return first === undefined ? cwd : expand(first, cwd, home);
}

/** Paths whose kind the shell must look up before `plan()`. */
export function pathsToStat(profile: SandboxProfile, cwd: string, env: Record<string, string | undefined>): string[] {
  const home = env.HOME;
  const work = workDirOf(profile, cwd, home);
  const out = new Set<string>([...SYSTEM_RO, ...ETC_RO, work]);
  for (const p of [...profile.filesystem.read, ...profile.filesystem.write]) out.add(expand(p, cwd, home));
  for (const p of denyCandidates(profile, cwd, home, work, [])) out.add(p);
  return [...out];
}

function denyCandidates(
  profile: SandboxProfile,
  cwd: string,
  home: string | undefined,
  work: string,
  otherHomes: string[],
): string[] {
  const homes = [...new Set([home, work].filter((h): h is string => Boolean(h)))];
  const out = new Set<string>(DEFAULT_DENY_ABSOLUTE);
  for (const h of homes) for (const rel of DEFAULT_DENY_IN_HOME) out.add(join(h, rel));
  for (const p of profile.filesystem.deny) {
    if (p.startsWith("~")) for (const h of homes) out.add(expand(p.replace(/^~/, h), cwd, h));
    else out.add(expand(p, cwd, home));
  }
  for (const h of otherHomes) if (h !== home && h !== work && !within(work, h)) out.add(h);
  return [...out];
}

interface Mount {
  target: string;
  order: number;
  args: string[];
}

function depth(p: string): number {
  return p === "/" ? 0 : p.split("/").length - 1;
}

/** Builds the bwrap argv and environment for one run. Throws SandboxConfigError on conflicts. */
export function plan(input: PlanInput): Plan {
  const { profile, cwd, env, facts } = input;
  if (input.command.length === 0) throw new SandboxConfigError("no command to run", "put the command after '--'");
  const home = env.HOME;
  const work = workDirOf(profile, cwd, home);
  const kind = (p: string): PathKind => facts.kinds[p] ?? "missing";
  if (kind(work) !== "dir") {
    const what = kind(work) === "missing" ? "does not exist" : "is not a directory";
    throw new SandboxConfigError(
      `work directory ${work} ${what}`,
      "create it, or change the profile's first filesystem.write path",
    );
  }
  const mounts: Mount[] = [];
  const add = (target: string, order: number, ...args: string[]) => mounts.push({ target, order, args });

  for (const p of SYSTEM_RO) {
    const link = facts.symlinks[p];
    if (link !== undefined) add(p, 0, "--symlink", link, p);
    else if (kind(p) === "dir") add(p, 0, "--ro-bind", p, p);
  }
  for (const p of ETC_RO) if (kind(p) !== "missing") add(p, 0, "--ro-bind", p, p);
  add("/proc", 0, "--proc", "/proc");
  // A fresh proc still lets a uid that maps to host root write sysctls of its namespaces and
  // /proc/sysrq-trigger (plain DAC checks): cover them read-only, as privileged bwrap does.
  for (const p of PROC_COVER) add(p, 0, "--ro-bind-try", p, p);
  add("/dev", 0, "--dev", "/dev");
  add("/tmp", 0, "--tmpfs", "/tmp");

  const bound: string[] = [];
  for (const raw of profile.filesystem.read) {
    const p = expand(raw, cwd, home);
    if (kind(p) === "missing") continue; // optional by nature: a read path absent here is not an error
    add(p, 1, "--ro-bind", p, p);
    bound.push(p);
  }
  const writes = [work, ...profile.filesystem.write.slice(1).map((p) => expand(p, cwd, home))];
  for (const p of writes) {
    if (kind(p) === "missing")
      throw new SandboxConfigError(`filesystem.write path ${p} does not exist`, "create it first");
    add(p, 2, "--bind", p, p);
    bound.push(p);
  }

  const denied = denyCandidates(profile, cwd, home, work, facts.otherHomes);
  for (const d of denied) {
    for (const b of bound) {
      if (within(b, d)) {
        throw new SandboxConfigError(
          `${b} is both mounted into the sandbox and denied (${d})`,
          "remove it from filesystem.read/write, or choose a directory outside the denied path",
        );
      }
    }
    if (!bound.some((b) => within(d, b)) || kind(d) === "missing") continue;
    // Masked after the binds that contain it: an empty read-only dir, or /dev/null for files.
    if (kind(d) === "dir") add(d, 3, "--tmpfs", d, "--remount-ro", d);
    else add(d, 3, "--ro-bind", "/dev/null", d);
  }

  const sandboxEnv: Record<string, string> = { PATH: SANDBOX_PATH, HOME: work, TMPDIR: "/tmp", PWD: work };
  for (const k of PASS_ENV) {
    const v = env[k];
    if (v !== undefined) sandboxEnv[k] = v;
  }
  for (const entry of profile.env) {
    const eq = entry.indexOf("=");
    if (eq > 0) sandboxEnv[entry.slice(0, eq)] = entry.slice(eq + 1);
    else if (env[entry] !== undefined) sandboxEnv[entry] = env[entry] as string;
  }

  const gate = input.gate;
  let command = input.command;
  if (gate) {
    add(INNER_RUN_DIR, 4, "--dir", INNER_RUN_DIR);
    add(`${INNER_RUN_DIR}/netstub`, 5, "--ro-bind", gate.netstub, `${INNER_RUN_DIR}/netstub`);
    add(`${INNER_RUN_DIR}/gate.sock`, 5, "--bind", gate.socket, `${INNER_RUN_DIR}/gate.sock`);
    add("/etc/resolv.conf", 5, "--ro-bind", gate.resolvConf, "/etc/resolv.conf");
    const proxy = `http://127.0.0.1:${gate.port}`;
    for (const k of ["HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy", "ALL_PROXY", "all_proxy"])
      sandboxEnv[k] = proxy;
    sandboxEnv.NO_PROXY = "localhost,127.0.0.1,::1";
    sandboxEnv.no_proxy = sandboxEnv.NO_PROXY;
    sandboxEnv.NODE_USE_ENV_PROXY = "1";
    const stub = `${INNER_RUN_DIR}/netstub`;
    command = [
      stub,
      "--unix",
      `${INNER_RUN_DIR}/gate.sock`,
      "--port",
      String(gate.port),
      "--events-fd",
      String(gate.eventsFd),
      "--",
      ...command,
    ];
  }

  // Parents before children, and within one path the order above (binds, then masks).
  mounts.sort((a, b) => depth(a.target) - depth(b.target) || a.order - b.order);

  const args = [
    "--unshare-user",
    "--unshare-pid",
    "--unshare-ipc",
    "--unshare-uts",
    "--unshare-net",
    "--unshare-cgroup",
    // Defence in depth beside seccomp's unshare/clone rules. Not with the gate: bwrap implements
    // it with a nested user namespace, which would no longer own the network namespace, so the
    // stub could not bind port 53.
    ...(gate ? [] : ["--disable-userns"]),
    "--hostname",
    "corral",
    "--new-session",
    "--die-with-parent",
    "--cap-drop",
    "ALL",
    // The stub binds 127.0.0.1:53 and then drops it before running the command.
    ...(gate ? ["--cap-add", "CAP_NET_BIND_SERVICE"] : []),
    "--seccomp",
    String(input.seccompFd),
    ...mounts.flatMap((m) => m.args),
    // The root is bwrap's tmpfs holding the mount points: read-only once they exist.
    "--remount-ro",
    "/",
    "--chdir",
    work,
    "--",
    ...command,
  ];
  return { args, env: sandboxEnv, workDir: work, paths: pathsToStat(profile, cwd, env) };
}
