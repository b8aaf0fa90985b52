// `corral run`: one command in a sandbox (namespaces + seccomp + cgroup limits, network only
// through the gate). Lean on purpose: the sandbox and the policy are imported only when needed.
import { existsSync } from "node:fs";
import { resolve } from "node:path";
import { parseCommandArgs } from "./args.ts";
import { type Command, EXIT, UsageError } from "./command.ts";
import { paint } from "./paint.ts";

const HELP = `usage: corral run [--profile NAME] [--policy corral.yaml] [--format text|json]
                  [--identity NAME] [--gate HOST:PORT] [--quiet] -- COMMAND [ARGS…]

Runs COMMAND in a bubblewrap sandbox built from the policy's sandbox profile:
new user/pid/ipc/uts/mount/net/cgroup namespaces, read-only system, private /tmp,
the working directory (or the profile's first filesystem.write path) writable and
used as HOME, secrets in home directories hidden, environment scrubbed, a seccomp
filter, cgroup limits (memory, pids, cpu), rlimits and a wall-clock timeout.

  --profile NAME    sandbox profile (default: minimal — no network, built in)
  --policy FILE     policy to read profiles from (default: ./corral.yaml when present)
  --format FMT      report on stderr as text (default) or json
  --identity NAME   gate identity whose token_env holds this run's token (network: gate)
  --gate HOST:PORT  gate proxy address (default: the policy's gate.listen.proxy)
  --quiet           no report unless a limit was hit or egress was refused

Network 'gate': the command sees HTTP(S)_PROXY=http://127.0.0.1:3128; every request
leaves through the gate carrying the run's Proxy-Authorization token. Anything else
has no route; its DNS lookups are refused and reported.

Exit status: the command's (128+N when signal N killed it), 2 when the sandbox could
not be set up (the message says why and how to fix it).`;

const SETUP_ERRORS = new Set(["SandboxConfigError", "CgroupUnavailableError", "NativeHelperError"]);

/** The sandbox's setup errors carry a hint: shown like bad input (exit 2), not as a crash. */
function toUsage(err: unknown): unknown {
  const e = err as Error & { hint?: string };
  return e && SETUP_ERRORS.has(e.name) ? new UsageError(e.message, e.hint) : err;
}

function setupErrors<T>(f: () => T): T {
  try {
    return f();
  } catch (err) {
    throw toUsage(err);
  }
}

export const command: Command = {
  name: "run",
  summary: "run a command in a sandbox profile",
  help: HELP,
  async run(args, ctx) {
    const dash = args.indexOf("--");
    const own = dash >= 0 ? args.slice(0, dash) : args;
    const cmd = dash >= 0 ? args.slice(dash + 1) : [];
    const { values, positionals } = parseCommandArgs(
      "run",
      own,
      {
        profile: { type: "string", default: "minimal" },
        policy: { type: "string", short: "p" },
        format: { type: "string", default: "text" },
        identity: { type: "string" },
        gate: { type: "string" },
        quiet: { type: "boolean", short: "q", default: false },
      },
      true,
    );
    const command = [...positionals, ...cmd];
    if (command.length === 0)
      throw new UsageError("no command given", "corral run --profile minimal -- COMMAND [ARGS…]");
    if (values.format !== "text" && values.format !== "json")
      throw new UsageError(`unknown --format '${values.format}'`, "use text or json");

    const policyFile = values.policy ?? (existsSync(resolve(ctx.cwd, "corral.yaml")) ? "corral.yaml" : undefined);
    const policy = policyFile
      ? (await import("../policy/load.ts")).loadPolicy(resolve(ctx.cwd, policyFile))
      : undefined;
    const loaded = policy ? (await policy).policy : undefined;
    const sandbox = {
      ...(await import("../sandbox/run.ts")),
      ...(await import("../sandbox/report.ts")),
      ...(await import("../sandbox/profile.ts")),
    };
    const profile = setupErrors(() => sandbox.resolveProfile(loaded, values.profile));

    let gate: { proxy: string; token?: string } | undefined;
    if (profile.network === "gate") {
      const proxy = values.gate ?? loaded?.gate.listen.proxy;
      if (!proxy)
        throw new UsageError(
          "profile network is 'gate' but no gate address is known",
          "pass --gate HOST:PORT or a policy with gate.listen.proxy",
        );
      let token: string | undefined;
      if (values.identity) {
        const ident = loaded?.identities[values.identity];
        if (!ident)
          throw new UsageError(
            `no identity '${values.identity}' in the policy`,
            "add it under identities: with token_env",
          );
        if (!ident.token_env)
          throw new UsageError(`identity '${values.identity}' has no token_env`, "give it token_env: SOME_VARIABLE");
        token = ctx.env[ident.token_env];
        if (!token)
          throw new UsageError(
            `$${ident.token_env} is empty`,
            `export ${ident.token_env}=<token the gate knows for ${values.identity}>`,
          );
      } else {
        token = ctx.env.CORRAL_GATE_TOKEN;
      }
      gate = token ? { proxy, token } : { proxy };
    }

    let report: Awaited<ReturnType<typeof sandbox.run>>;
    try {
      report = await sandbox.run({
        command,
        profile: values.profile,
        profileValue: profile,
        cwd: ctx.cwd,
        env: ctx.env,
        signal: ctx.stopSignal,
        ...(gate ? { gate } : {}),
      });
    } catch (err) {
      throw toUsage(err);
    }
    const notable = report.limitHits.length > 0 || report.deniedEgress.length > 0 || report.warnings.length > 0;
    if (values.format === "json") ctx.stderr.write(`${JSON.stringify(report, null, 2)}\n`);
    else if (!values.quiet || notable) {
      const text = sandbox.formatReport(report);
      ctx.stderr.write(report.limitHits.length > 0 ? paint(text, "yellow", ctx.color) : text);
    }
    if (report.exitCode !== null) return report.exitCode;
    return EXIT.failed;
  },
};
