// `corral run`: one command in a sandbox (namespaces + seccomp + cgroup limits, network only
// through the gate). Lean on purpose: the sandbox and the policy are imported only when needed.
import { existsSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { GateAdminClient } from "../gate/admin/client.ts";
import { findAdminToken } from "../gate/admin-token.ts";
import { httpUrlOf } from "../policy/host-port.ts";
import { paint } from "../report/paint.ts";
import type { GateOptions } from "../sandbox/types.ts";
import { parseCommandArgs } from "./args.ts";
import { type Command, EXIT, UsageError } from "./command.ts";
import { hostPortFlag } from "./host-port-flag.ts";

const HELP = `usage: corral run [--profile NAME] [--policy corral.yaml] [--format text|json]
                  [--identity NAME] [--gate HOST:PORT] [--admin HOST:PORT] [--quiet]
                  -- COMMAND [ARGS…]

Runs COMMAND in a bubblewrap sandbox built from the policy's sandbox profile:
new user/pid/ipc/uts/mount/net/cgroup namespaces, read-only system, private /tmp,
the working directory (or the profile's first filesystem.write path) writable and
used as HOME, secrets in home directories hidden, environment scrubbed, a seccomp
filter, cgroup limits (memory, pids, cpu), rlimits and a wall-clock timeout.

  --profile NAME    sandbox profile (default: minimal — no network, built in)
  --policy FILE     policy to read profiles from (default: ./corral.yaml when present)
  --format FMT      report on stderr as text (default) or json
  --identity NAME   the gate identity this run acts as (network: gate); default: the
                    first identity with token_env
  --gate HOST:PORT  gate proxy address (default: the policy's gate.listen.proxy)
  --admin HOST:PORT gate admin API (default: the policy's gate.listen.admin)
  --quiet           no report unless a limit was hit or egress was refused

Network 'gate': the command sees HTTP(S)_PROXY=http://127.0.0.1:3128; every request
leaves through the gate carrying the run's Proxy-Authorization token. The run gets its
own token from the gate's admin API (decided as the identity's rules, logged with
corral.run: <run id>; admin token: $CORRAL_GATE_ADMIN_TOKEN or <gate.state_dir>/admin.token);
when the admin API does not answer, the identity's token_env value is used. Anything
else has no route; its DNS lookups are refused and reported.

With an 'audit:' section the run is recorded (kind sandbox.run): through the gate's
admin API when it answers, else straight into the log; a failure is a warning.

Exit status: the command's (128+N when signal N killed it), 2 when the sandbox could
not be set up (the message says why and how to fix it).`;

/** A token for this run only, from the gate's admin API; released when the run ends. */
async function mintRunToken(
  admin: GateAdminClient,
  parent: string,
  run: string,
): Promise<{ token: string; release: () => Promise<void> }> {
  const { token } = await admin.mintRun(parent, run, 24 * 3_600_000);
  return { token, release: () => admin.releaseRun(token) };
}

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
        admin: { type: "string" },
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

    const adminListen = values.admin !== undefined ? hostPortFlag("admin", values.admin) : loaded?.gate.listen.admin;
    const adminUrl = adminListen ? httpUrlOf(adminListen) : undefined;
    const adminToken = findAdminToken(
      ctx.env,
      loaded?.gate.state_dir ? resolve(ctx.cwd, loaded.gate.state_dir) : undefined,
    );
    const warn = (m: string) => ctx.warn(`corral run: warning: ${m}`);

    let gate: GateOptions | undefined;
    if (profile.network === "gate") {
      const proxyAt = values.gate !== undefined ? hostPortFlag("gate", values.gate) : loaded?.gate.listen.proxy;
      const proxy = proxyAt;
      if (!proxy)
        throw new UsageError(
          "profile network is 'gate' but no gate address is known",
          "pass --gate HOST:PORT or a policy with gate.listen.proxy",
        );
      const identity =
        values.identity ?? Object.entries(loaded?.identities ?? {}).find(([, i]) => i.token_env !== undefined)?.[0];
      let staticToken: string | undefined = ctx.env.CORRAL_GATE_TOKEN;
      if (identity) {
        const ident = loaded?.identities[identity];
        if (!ident)
          throw new UsageError(`no identity '${identity}' in the policy`, "add it under identities: with token_env");
        if (!ident.token_env)
          throw new UsageError(`identity '${identity}' has no token_env`, "give it token_env: SOME_VARIABLE");
        staticToken = ctx.env[ident.token_env] || undefined;
      }
      gate = { proxy, ...(staticToken ? { token: staticToken } : {}) };
      if (identity && adminUrl) {
        gate.mintToken = (runId) =>
          mintRunToken(new GateAdminClient({ baseUrl: adminUrl, token: adminToken }), identity, runId).catch(
            (err: Error) => {
              if (!staticToken) {
                const env = loaded?.identities[identity]?.token_env;
                throw new UsageError(
                  `cannot get a run token from the gate (${err.message}), and $${env} is empty`,
                  `start 'corral gate' with this policy, or export ${env}=<token the gate knows for ${identity}>`,
                );
              }
              warn(`no per-run token (${err.message}); using ${identity}'s shared token`);
              return { token: staticToken };
            },
          );
      }
      // Neither: requests go without a token and the gate knows the run by its source address.
    }

    const audit = loaded?.audit
      ? new (await import("../audit/remote.ts")).AuditReporter({
          ...(adminUrl ? { adminUrl, token: adminToken } : {}),
          direct: (await import("../audit/options.ts")).auditOptionsFromPolicy(
            loaded.audit,
            dirname(resolve(ctx.cwd, policyFile!)),
          ),
          holdDirect: true,
          warn,
        })
      : undefined;

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
        ...(audit ? { audit } : {}),
      });
    } catch (err) {
      throw toUsage(err);
    } finally {
      await audit?.close();
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
