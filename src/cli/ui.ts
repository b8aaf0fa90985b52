// `corral ui`: the dashboard. `corral ui passwd` sets the admin password (read from stdin,
// stored as an scrypt hash); `corral ui` serves the dashboard, wiring in the policy + compose
// files for the zone graph, the gate's admin API for live decisions and approvals, and the
// audit log (read for sandbox runs and chain state; written for logins).
import { existsSync, readFileSync } from "node:fs";
import { dirname, resolve } from "node:path";
import {
  AuditReporter,
  type AuditSink,
  auditOptionsFromPolicy,
  lastRecords,
  loadPublicKey,
  openAuditSink,
  verifyLogDir,
} from "../audit/index.ts";
import { GateAdminClient } from "../gate/admin/client.ts";
import { findAdminToken } from "../gate/admin-token.ts";
import { readDeployment } from "../model/load.ts";
import { computeReachability, serviceId } from "../model/reachability.ts";
import { durationMs, formatHostPort, httpUrlOf, loadPolicy, type Policy, zoneMode } from "../policy/index.ts";
import { isGlob } from "../policy/zones.ts";
import { volumeStatus } from "../seal/volume.ts";
import type { AuditState, GraphInput, ObservedView, SandboxRun } from "../ui/index.ts";
import {
  createUiServer,
  defaultStateDir,
  GateClient,
  hashPassword,
  passwordProblem,
  readPasswordRecord,
  writePasswordRecord,
} from "../ui/index.ts";
import { parseCommandArgs } from "./args.ts";
import { type Command, type CommandContext, EXIT, UsageError } from "./command.ts";
import { hostPortFlag } from "./host-port-flag.ts";
import { computeSuggestion, stateDirOf, suggestionDiff } from "./suggestion.ts";

const HELP = `usage: corral ui [options]              serve the dashboard
       corral ui passwd [--state-dir DIR]  set the admin password (read from stdin)

The dashboard: the zone graph (declared flows, and reachability the policy does not declare
in red), live gate decisions and alerts, pending approvals (approve for 15m / 1h / 24h or deny),
sandbox runs and the audit chain's state. One admin account; the password is stored as an
scrypt hash in the state directory. Five wrong passwords lock the account (--lockout).

options:
  -p, --policy FILE      corral.yaml (default: ./corral.yaml when present)
  -f, --file FILE        compose file(s) or Kubernetes manifests for the zone graph (repeatable)
  --listen HOST:PORT     default ui.listen or 127.0.0.1:9443
  --tls-cert FILE        serve HTTPS with this certificate (then Secure cookies and HSTS)
  --tls-key FILE         ... and this key (default: ui.tls in the policy)
  --hostname NAME        also answer to this host name (repeatable); by default only IP
                         addresses and localhost, which defeats DNS rebinding
  --gate URL             the gate's admin API (default http://<gate.listen.admin>)
  --no-gate              do not connect to a gate (no live feed, no approvals)
  --state-dir DIR        where the password hash lives (default ui.state_dir,
                         $CORRAL_UI_STATE, /var/lib/corral/ui for root, else
                         ~/.local/state/corral/ui)
  --lockout DURATION     how long five wrong passwords lock the account (default 15m)
  --set-password         same as 'corral ui passwd'

The gate's admin API may require a token: set CORRAL_GATE_ADMIN_TOKEN.
Listening on a non-loopback address requires TLS.
Exit 0 after SIGINT/SIGTERM, 2 on bad options or when no password is set.`;

/** Reads a password: hidden, twice, from a terminal; the first line of stdin otherwise. */
async function readSecret(ctx: CommandContext): Promise<string> {
  const stdin = process.stdin;
  if (!stdin.isTTY) {
    const chunks: Buffer[] = [];
    for await (const c of stdin) chunks.push(c as Buffer);
    return Buffer.concat(chunks).toString("utf8").split(/\r?\n/)[0] ?? "";
  }
  const ask = (prompt: string) =>
    new Promise<string>((resolvePw, reject) => {
      ctx.stderr.write(prompt);
      let value = "";
      stdin.setRawMode(true);
      stdin.resume();
      stdin.setEncoding("utf8");
      const onData = (chunk: string) => {
        for (const ch of chunk) {
          if (ch === "\r" || ch === "\n") {
            done();
            ctx.stderr.write("\n");
            return resolvePw(value);
          }
          if (ch === "\u0003") {
            done();
            ctx.stderr.write("\n");
            return reject(new UsageError("cancelled"));
          }
          if (ch === "\u007f" || ch === "\b") value = value.slice(0, -1);
          else value += ch;
        }
      };
      const done = () => {
        stdin.off("data", onData);
        stdin.setRawMode(false);
        stdin.pause();
      };
      stdin.on("data", onData);
    });
  const first = await ask("new admin password: ");
  const second = await ask("again: ");
  if (first !== second) throw new UsageError("the two passwords differ", "run 'corral ui passwd' again");
  return first;
}

async function setPassword(stateDir: string, ctx: CommandContext): Promise<number> {
  const password = await readSecret(ctx);
  const problem = passwordProblem(password);
  if (problem) throw new UsageError(problem, "pipe a longer password: printf '%s' \"$PW\" | corral ui passwd");
  const file = writePasswordRecord(stateDir, await hashPassword(password));
  ctx.stdout.write(`admin password set (scrypt hash in ${file})\n`);
  return EXIT.ok;
}

function isLoopback(host: string): boolean {
  return host === "localhost" || host === "::1" || /^127\./.test(host);
}

function graphSource(
  policyFile: string | undefined,
  files: string[],
  env: NodeJS.ProcessEnv,
): (() => Promise<GraphInput>) | undefined {
  if (!policyFile) return undefined;
  // Read afresh on each request: edits to the policy or the compose file show on reload.
  return async () => {
    const { policy } = await loadPolicy(policyFile);
    if (files.length === 0) {
      const names = Object.values(policy.zones).flatMap((z) => z.services.filter((s) => !isGlob(s)));
      return { policy, services: [...new Set(names)].map((name) => ({ name })) };
    }
    const deployment = readDeployment(files, { env });
    const reach = computeReachability(deployment);
    return {
      policy,
      services: deployment.services.map((s) => ({ name: serviceId(s), labels: s.labels })),
      reach: reach.edges.map((e) => ({ from: e.from, to: e.to, ports: e.ports })),
    };
  };
}

interface AuditWiring {
  sink?: AuditSink | AuditReporter;
  note?: string;
  state?: () => Promise<AuditState>;
  runs?: (limit: number) => Promise<SandboxRun[]>;
}

async function wireAudit(
  policy: Policy | undefined,
  policyFile: string | undefined,
  stateDir: string,
  gate:
    | { url: string; token: () => string | undefined; client?: { auditAnchors(): Promise<AuditState["anchors"]> } }
    | undefined,
  warn: (m: string) => void,
): Promise<AuditWiring> {
  const section = policy?.audit;
  const out: AuditWiring = {};
  let logDir: string | undefined;
  if (section && policyFile) {
    const opts = auditOptionsFromPolicy(section, dirname(policyFile));
    logDir = opts.dir;
    const pubPath = opts.keyPath ? `${opts.keyPath}.pub` : undefined;
    let cached: { at: number; state: AuditState } | undefined;
    out.state = async () => {
      // Verifying reads the whole log: at most once a minute.
      if (!cached || Date.now() - cached.at >= 60_000)
        cached = { at: Date.now(), state: auditStateOf(logDir!, pubPath) };
      // Anchoring moves by the second and costs one request: asked every time.
      const anchors = gate?.client ? await gate.client.auditAnchors().catch(() => undefined) : undefined;
      return anchors === undefined ? cached.state : { ...cached.state, anchors };
    };
    out.runs = async (limit) => {
      if (!existsSync(logDir!)) return [];
      const recent = await lastRecords(logDir!, 5000);
      return recent
        .filter((r) => r.kind === "sandbox.run")
        .slice(-limit)
        .reverse()
        .map((r) => ({ seq: r.seq, time: r.time, identity: r.actor.identity, data: r.data }));
    };
    // The gate holds the log (one writer): logins go through its admin API, or straight into
    // the log while no gate runs (opened per record, so a gate starting later gets the lock).
    out.sink = new AuditReporter({
      ...(gate ? { adminUrl: gate.url, token: gate.token } : {}),
      direct: opts,
      warn: (m) => warn(`${m} (further audit failures are not repeated)`),
    });
    return out;
  }
  out.sink = await openAuditSink({ dir: resolve(stateDir, "audit") });
  return out;
}

function sealSource(seal: NonNullable<Policy["seal"]>, base: string) {
  const dir = resolve(base, seal.dir);
  return async () =>
    Object.entries(seal.volumes).map(([name, v]) => {
      const s = volumeStatus(dir, name, v.key_file ? "local file" : "key service");
      return {
        name,
        initialized: s.initialized,
        unlocked: s.unlocked,
        custody: s.custody,
        ...(s.version ? { version: s.version } : {}),
      };
    });
}

function auditStateOf(dir: string, pubPath: string | undefined): AuditState {
  const checkedAt = new Date().toISOString();
  if (!existsSync(dir))
    return {
      status: "unknown",
      records: 0,
      lastSeq: 0,
      unverified: 0,
      problem: `no audit log at ${dir} yet`,
      checkedAt,
    };
  if (!pubPath || !existsSync(pubPath)) {
    return {
      status: "unknown",
      records: 0,
      lastSeq: 0,
      unverified: 0,
      problem: "no public key (audit.checkpoint.key + .pub) to verify checkpoints with",
      checkedAt,
    };
  }
  try {
    const r = verifyLogDir(dir, loadPublicKey(pubPath));
    const cp = r.lastCheckpoint;
    return {
      status: r.status,
      records: r.records,
      lastSeq: r.lastSeq,
      unverified: r.unverified,
      ...(cp ? { lastCheckpoint: { seq: cp.seq, time: cp.time, hash: cp.hash, key: cp.key } } : {}),
      ...(r.problem
        ? { problem: `${r.problem.file}:${r.problem.line}: seq ${r.problem.seq}: ${r.problem.message}` }
        : {}),
      checkedAt,
    };
  } catch (err) {
    return { status: "unknown", records: 0, lastSeq: 0, unverified: 0, problem: (err as Error).message, checkedAt };
  }
}

export const command: Command = {
  name: "ui",
  summary: "serve the dashboard (zone graph, live decisions, approvals, audit state)",
  help: HELP,
  async run(args, ctx) {
    const { values, positionals } = parseCommandArgs(
      "ui",
      args,
      {
        policy: { type: "string", short: "p" },
        file: { type: "string", short: "f", multiple: true, default: [] },
        listen: { type: "string" },
        "tls-cert": { type: "string" },
        "tls-key": { type: "string" },
        hostname: { type: "string", multiple: true, default: [] },
        gate: { type: "string" },
        "no-gate": { type: "boolean", default: false },
        "state-dir": { type: "string" },
        lockout: { type: "string", default: "15m" },
        "set-password": { type: "boolean", default: false },
      },
      true,
    );
    const sub = positionals[0];
    if (sub !== undefined && sub !== "passwd")
      throw new UsageError(`unknown subcommand '${sub}'`, "use 'corral ui' or 'corral ui passwd'");

    let policyFile = values.policy ? resolve(ctx.cwd, values.policy) : undefined;
    if (!policyFile && existsSync(resolve(ctx.cwd, "corral.yaml"))) policyFile = resolve(ctx.cwd, "corral.yaml");
    const policy = policyFile ? (await loadPolicy(policyFile)).policy : undefined;
    const stateDir = values["state-dir"]
      ? resolve(ctx.cwd, values["state-dir"])
      : policy?.ui?.state_dir
        ? resolve(dirname(policyFile!), policy.ui.state_dir)
        : defaultStateDir(ctx.env);

    if (sub === "passwd" || values["set-password"]) return setPassword(stateDir, ctx);

    if (!readPasswordRecord(stateDir)) {
      throw new UsageError(
        `no admin password is set in ${stateDir}`,
        "set one first: corral ui passwd (reads it from stdin)",
      );
    }
    const addr =
      values.listen !== undefined
        ? hostPortFlag("listen", values.listen, "127.0.0.1:9443")
        : (policy?.ui?.listen ?? { host: "127.0.0.1", port: 9443 });
    const certPath =
      values["tls-cert"] ?? (policy?.ui?.tls ? resolve(dirname(policyFile!), policy.ui.tls.cert) : undefined);
    const keyPath =
      values["tls-key"] ?? (policy?.ui?.tls ? resolve(dirname(policyFile!), policy.ui.tls.key) : undefined);
    if ((certPath === undefined) !== (keyPath === undefined))
      throw new UsageError("TLS needs both --tls-cert and --tls-key");
    let tls: { cert: Buffer; key: Buffer } | undefined;
    if (certPath && keyPath) {
      try {
        tls = { cert: readFileSync(resolve(ctx.cwd, certPath)), key: readFileSync(resolve(ctx.cwd, keyPath)) };
      } catch (err) {
        throw new UsageError(`cannot read the TLS certificate or key: ${(err as Error).message}`);
      }
    }
    if (!tls && !isLoopback(addr.host)) {
      throw new UsageError(
        `refusing to serve the dashboard on ${formatHostPort(addr)} without TLS: the password would cross the network in clear`,
        "pass --tls-cert and --tls-key, or listen on 127.0.0.1",
      );
    }
    let lockMs: number;
    try {
      lockMs = durationMs(values.lockout);
    } catch {
      throw new UsageError(`--lockout '${values.lockout}' is not a duration`, "e.g. --lockout 15m");
    }

    const gateUrl = values["no-gate"]
      ? undefined
      : (values.gate ?? httpUrlOf(policy?.gate.listen.admin ?? { host: "127.0.0.1", port: 9099 }));
    const gate = gateUrl
      ? new GateClient({
          baseUrl: gateUrl,
          ...(ctx.env.CORRAL_GATE_ADMIN_TOKEN ? { token: ctx.env.CORRAL_GATE_ADMIN_TOKEN } : {}),
          ...(policy?.gate.state_dir ? { stateDir: resolve(ctx.cwd, policy.gate.state_dir) } : {}),
        })
      : undefined;
    const files = values.file.map((f) => resolve(ctx.cwd, f));
    const gateStateDir = policy?.gate.state_dir ? resolve(ctx.cwd, policy.gate.state_dir) : undefined;
    const audit = await wireAudit(
      policy,
      policyFile,
      stateDir,
      gateUrl
        ? {
            url: gateUrl,
            token: () => findAdminToken(ctx.env, gateStateDir),
            client: new GateAdminClient({ baseUrl: gateUrl, token: () => findAdminToken(ctx.env, gateStateDir) }),
          }
        : undefined,
      (m) => ctx.stderr.write(`corral ui: ${m}\n`),
    );
    if (audit.note) ctx.stderr.write(`corral ui: ${audit.note}\n`);
    const graph = graphSource(policyFile, files, ctx.env);
    const observed = policy && policyFile ? observedSource(policy, policyFile) : undefined;

    const ui = await createUiServer({
      stateDir,
      ...(tls ? { tls } : {}),
      ...(graph ? { graph } : {}),
      ...(gate ? { gate } : {}),
      ...(audit.sink ? { audit: audit.sink } : {}),
      ...(audit.state ? { auditState: audit.state } : {}),
      ...(policy?.seal && policyFile && Object.keys(policy.seal.volumes).length > 0
        ? { sealState: sealSource(policy.seal, dirname(policyFile)) }
        : {}),
      ...(audit.runs ? { sandboxRuns: audit.runs } : {}),
      ...(observed ? { observed } : {}),
      lockout: { lockMs },
      hostnames: values.hostname,
      log: (m) => ctx.stderr.write(`corral ui: ${m}\n`),
    });
    try {
      const url = await ui.listen(addr.host, addr.port);
      ctx.stdout.write(`corral ui: dashboard on ${url}${gateUrl ? ` (gate ${gateUrl})` : ""}\n`);
    } catch (err) {
      await ui.close();
      await audit.sink?.close();
      throw new UsageError(`cannot listen on ${formatHostPort(addr)}: ${(err as Error).message}`);
    }
    await new Promise<void>((r) => {
      if (ctx.stopSignal.aborted) r();
      else ctx.stopSignal.addEventListener("abort", () => r(), { once: true });
    });
    await ui.close();
    await audit.sink?.close();
    return EXIT.ok;
  },
};

/** The dashboard's view of what was observed: the record, learned egress and the same suggestion corral policy suggest prints. */
function observedSource(policy: Policy, policyFile: string): () => Promise<ObservedView> {
  const stateDir = stateDirOf(policy, policyFile, undefined, dirname(policyFile));
  return async () => {
    const { policy: current } = await loadPolicy(policyFile);
    const s = computeSuggestion(current, policyFile, stateDir, Number.POSITIVE_INFINITY);
    return {
      zones: Object.keys(current.zones)
        .sort()
        .map((zone) => ({ zone, mode: zoneMode(current, zone) })),
      flows: s.record.flows.map(({ example: _example, ...f }) => f),
      egress: s.learned.map(({ members: _members, ...e }) => e),
      diff: suggestionDiff("corral.yaml", s.text, s.change.text),
      left: s.change.left,
    };
  };
}
