// The sandbox's public shapes: what a caller asks for (RunOptions) and what it gets back
// (RunReport). Everything else in src/sandbox is a function between them.
import type { HostPort } from "../policy/host-port.ts";
import type { Policy, SandboxProfile } from "../policy/schema.ts";

/** What `run()` records about a run; the CLI's audit adapter (or a gate process) implements it. */
export interface AuditSink {
  record(kind: string, actor: string, data: Record<string, unknown>): void | Promise<void>;
}

export interface GateOptions {
  /** The gate's HTTP proxy address (policy `gate.listen.proxy`). */
  proxy: HostPort;
  /** The run's credential, sent as `Proxy-Authorization: Bearer <token>`; never visible inside. */
  token?: string;
  /**
   * Per-run credential: called with the run id before the run, its token used instead of
   * `token`, `release` called after the run (e.g. an ephemeral identity at the gate's admin API).
   */
  mintToken?: (runId: string) => Promise<{ token: string; release?: () => Promise<void> }>;
}

export interface RunOptions {
  /** argv of the command to run inside the sandbox. */
  command: string[];
  /** The policy the profile comes from; `minimal` is built in when the policy omits it. */
  policy?: Policy;
  profile?: string;
  /** Or the profile itself (overrides policy + profile name). */
  profileValue?: SandboxProfile;
  /** Working directory: writable inside, and HOME. Defaults to process.cwd(). */
  cwd?: string;
  /** The caller's environment: source of passed-through variables and of `~`. */
  env?: NodeJS.ProcessEnv;
  /** Required when the profile's network is `gate`. */
  gate?: GateOptions;
  /** Where the child's stdio goes: inherit (CLI), pipe (captured into the report) or ignore. */
  stdio?: "inherit" | "pipe" | "ignore";
  /** Data written to stdin when stdio is "pipe". */
  input?: string | Buffer;
  /** Aborting kills the whole run (its cgroup). */
  signal?: AbortSignal;
  audit?: AuditSink;
  /** Actor named in audit records; defaults to `run:<id>`. */
  actor?: string;
  /** Cgroup parent name under each hierarchy; default $CORRAL_CGROUP_PARENT, else `corral`. */
  cgroupParent?: string;
  /**
   * `required`: fail when no writable cgroup exists; `auto` (default): required only when the
   * profile sets memory/pids/cpu limits, otherwise the run goes on without cgroup statistics.
   */
  cgroup?: "required" | "auto" | "off";
  /** Directory of the native helpers (default: build/native in the package, built on demand). */
  nativeDir?: string;
  /** Where seccomp programs are cached (default: $XDG_CACHE_HOME/corral/seccomp). */
  cacheDir?: string;
  /** Extra bwrap arguments inserted before the command (tests only). */
  extraBwrapArgs?: string[];
}

export type LimitHit = "oom" | "pids" | "timeout" | "cpu" | "fsize";

export interface RunReport {
  id: string;
  profile: string;
  command: string[];
  /** Exit status of the command; null when killed by a signal. */
  exitCode: number | null;
  signal: string | null;
  durationMs: number;
  /** Peak memory of the run's cgroup, bytes; null without a memory cgroup. */
  peakMemoryBytes: number | null;
  cpuTimeMs: number | null;
  limitHits: LimitHit[];
  oomKills: number;
  /** Names looked up directly (bypassing the proxy) and refused. */
  deniedEgress: { kind: "dns"; name: string }[];
  /** Requests that went through the gate, with the gate's answer status. */
  gateRequests: { method: string; target: string; status: number }[];
  cgroup: { version: 1 | 2 | "hybrid"; path: string } | null;
  warnings: string[];
  stdout?: string;
  stderr?: string;
}
