import { dirname, resolve } from "node:path";
import { type AuditSinkOptions, auditOptionsFromPolicy, openAuditSink } from "../audit/index.ts";
import { clusterMetrics, isPrimary, onRelay, relay, runWorkers, shareMetrics, workerIndex } from "../gate/cluster.ts";
import { Gate } from "../gate/gate.ts";
import { createLogger } from "../gate/log.ts";
import { mergeMaps, parseMapFlag, readMapFile } from "../gate/service-map.ts";
import { formatHostPort, type HostPort } from "../policy/host-port.ts";
import { type LoadedPolicy, loadPolicy } from "../policy/load.ts";
import { parseCommandArgs } from "./args.ts";
import { type Command, EXIT, UsageError } from "./command.ts";
import { hostPortFlag } from "./host-port-flag.ts";

/**
 * `corral gate` arguments → what the gate is started with. Exported so generated command
 * lines (the compose overlay's gate service) are checked against the real parser.
 */
export function parseGateArgs(args: string[], cwd: string) {
  const { values } = parseCommandArgs("gate", args, {
    policy: { type: "string", short: "p", default: "corral.yaml" },
    map: { type: "string", multiple: true, default: [] },
    "map-file": { type: "string" },
    discover: { type: "string", multiple: true, default: [] },
    state: { type: "string" },
    audit: { type: "string" },
    "audit-key": { type: "string" },
    "witness-key": { type: "string", multiple: true, default: [] },
    log: { type: "string" },
    proxy: { type: "string" },
    dns: { type: "string" },
    admin: { type: "string" },
    "no-watch": { type: "boolean", default: false },
    workers: { type: "string", default: "1" },
    "dns-workers": { type: "string", default: "1" },
    "metrics-auth": { type: "boolean", default: false },
    "upstream-ca": { type: "string", multiple: true, default: [] },
    "ca-out": { type: "string" },
  });
  const workers = Number(values.workers);
  if (!Number.isInteger(workers) || workers < 1 || workers > 64)
    throw new UsageError("--workers must be an integer from 1 to 64");
  const dnsWorkers = Number(values["dns-workers"]);
  if (!Number.isInteger(dnsWorkers) || dnsWorkers < 1 || dnsWorkers > workers)
    throw new UsageError(`--dns-workers must be an integer from 1 to --workers (${workers})`);
  let serviceMap: Record<string, string[]>;
  try {
    const fromFile = values["map-file"] ? readMapFile(resolve(cwd, values["map-file"])) : {};
    serviceMap = mergeMaps(fromFile, values.map.map(parseMapFlag));
  } catch (err) {
    throw new UsageError((err as Error).message, "use --map service=ip or a JSON map file");
  }
  const listen: Partial<Record<"proxy" | "dns" | "admin", HostPort>> = {};
  for (const k of ["proxy", "dns", "admin"] as const) {
    const v = values[k];
    if (v === undefined) continue;
    listen[k] = hostPortFlag(k, v, "0.0.0.0:3128");
  }
  return { values, workers, dnsWorkers, file: resolve(cwd, values.policy), serviceMap, listen };
}

/** The policy's audit section, with the paths a container (or an operator) overrides. */
export function auditSinkOptions(
  section: NonNullable<LoadedPolicy["policy"]["audit"]>,
  policyDir: string,
  values: { audit?: string; "audit-key"?: string; "witness-key"?: string[] },
  cwd: string,
): AuditSinkOptions {
  const opts = auditOptionsFromPolicy(section, policyDir);
  // In a container the policy's witness.pub paths are the host's: each is mounted elsewhere.
  for (const spec of values["witness-key"] ?? []) {
    const eq = spec.lastIndexOf("=");
    const url = spec.slice(0, eq);
    const w = eq > 0 ? opts.witnesses?.find((x) => x.url === url) : undefined;
    if (!w)
      throw new UsageError(`--witness-key ${spec}: no audit.witnesses entry with url ${url}`, "give it as URL=FILE");
    w.key = resolve(cwd, spec.slice(eq + 1));
  }
  if (values.audit) opts.dir = resolve(cwd, values.audit);
  if (values["audit-key"]) {
    if (!section.checkpoint)
      throw new UsageError(
        "--audit-key given, but the policy's audit section has no checkpoint",
        "add audit.checkpoint",
      );
    opts.keyPath = resolve(cwd, values["audit-key"]);
  }
  return opts;
}

export const command: Command = {
  name: "gate",
  summary: "run the egress gateway (DNS allowlist + HTTP/CONNECT proxy)",
  help: `usage: corral gate [--policy corral.yaml] [options]

Runs the egress gateway: an allowlist DNS resolver, an HTTP/CONNECT proxy with SSRF
defences, Prometheus metrics and a live event stream on the admin listener. One JSON
line (ECS fields) per decision goes to stdout or --log.

options:
  -p, --policy FILE      policy file (default corral.yaml); reloaded on change and on SIGHUP
  --map SERVICE=IP       identify clients from IP as SERVICE (repeatable)
  --map-file FILE        JSON {"service": "ip" | ["ip", ...]}
  --discover SERVICE     identify SERVICE's replicas by resolving its name (repeatable): in a
                         compose project the engine's DNS answers with every replica's address
  --state DIR            approvals and learned destinations (default gate.state_dir)
  --audit DIR            the audit log's directory (default audit.path); a container keeps
                         it in its state volume, not beside the read-only policy
  --audit-key FILE       the checkpoint signing key (default audit.checkpoint.key)
  --witness-key URL=FILE the witness.pub of audit.witnesses' URL, where this process sees it
  --log FILE             decision log file (default stdout)
  --proxy HOST:PORT      override gate.listen.proxy
  --dns HOST:PORT        override gate.listen.dns
  --admin HOST:PORT      override gate.listen.admin
  --no-watch             do not reload when the policy file changes
  --metrics-auth         /metrics needs the admin token too (default: open, like /healthz)
  --ca-out DIR           publish the gate CA's ca.crt and bundle.pem (public roots + the CA)
                         here for the agents to trust (the overlay's corral-gate-ca volume)
  --upstream-ca FILE     also trust this PEM CA for terminated destinations' servers, beside
                         the system store (repeatable; a private API behind its own CA)
  --workers N            N gate processes sharing the ports via SO_REUSEPORT (default 1);
                         needs fixed ports; worker 1 serves the admin API
  --dns-workers K        how many of them serve DNS (default 1). One worker answers well
                         over 100k cached queries/s, and the detector's DNS signals
                         (NXDOMAIN ratio) are whole only when one process sees them all

The admin API (approvals, /events, per-run identities, /audit/records) needs
'Authorization: Bearer <token>': $CORRAL_GATE_ADMIN_TOKEN, else <state dir>/admin.token
(created at start, mode 0600). With an 'audit:' section every decision, alert, approval
and policy load is written to the audit log (this process holds its lock; corral run and
corral ui report through POST /audit/records).

Exit 0 after SIGINT/SIGTERM, 2 when the policy does not load or a port cannot be bound.`,
  async run(args, ctx) {
    const { values, workers, dnsWorkers, file, serviceMap, listen } = parseGateArgs(args, ctx.cwd);
    const loaded = await loadPolicy(file);
    const worker = workerIndex(ctx.env);
    if (workers > 1 && isPrimary()) {
      const listenOf = loaded.policy.gate.listen;
      for (const l of [listen.proxy ?? listenOf.proxy, listen.dns ?? listenOf.dns]) {
        if (l.port === 0) throw new UsageError(`--workers needs fixed ports, got ${formatHostPort(l)}`);
      }
      ctx.stderr.write(`corral gate: starting ${workers} workers\n`);
      await runWorkers(workers, ctx.stopSignal, (line) => ctx.stderr.write(`corral gate: ${line}\n`));
      return EXIT.ok;
    }
    // One writer per audit log: with --workers, worker 1 (the admin API's) holds it.
    const audit =
      loaded.policy.audit && (worker === undefined || worker === 1)
        ? await openAuditSink(auditSinkOptions(loaded.policy.audit, dirname(file), values, ctx.cwd))
        : undefined;
    let gate: Gate;
    try {
      gate = await Gate.start({
        worker,
        metricsText: worker !== undefined ? () => clusterMetrics() : undefined,
        serve: { admin: worker === undefined || worker === 1, dns: worker === undefined || worker <= dnsWorkers },
        loaded,
        policyFile: file,
        watch: !values["no-watch"],
        env: ctx.env,
        serviceMap,
        discover: values.discover,
        logger: createLogger(values.log ? resolve(ctx.cwd, values.log) : undefined),
        listen,
        stateDir: values.state ? resolve(ctx.cwd, values.state) : undefined,
        metricsPublic: !values["metrics-auth"],
        upstreamCa: values["upstream-ca"].map((f) => resolve(ctx.cwd, f)),
        ...(values["ca-out"] ? { caOut: resolve(ctx.cwd, values["ca-out"]) } : {}),
        ...(worker !== undefined ? { relay: { send: relay, on: onRelay } } : {}),
        ...(audit ? { audit } : {}),
      });
    } catch (err) {
      await audit?.close();
      throw err;
    }
    if (worker !== undefined) shareMetrics(gate.metrics.registry);
    const a = gate.addresses;
    if (worker === undefined || worker === 1)
      ctx.stderr.write(
        `corral gate: proxy ${a.proxy?.host}:${a.proxy?.port}, dns ${a.dns?.host}:${a.dns?.port}, admin http://${a.admin?.host}:${a.admin?.port}\n`,
      );
    const onHup = () => void gate.reload();
    process.on("SIGHUP", onHup);
    await new Promise<void>((r) => {
      if (ctx.stopSignal.aborted) r();
      ctx.stopSignal.addEventListener("abort", () => r(), { once: true });
    });
    process.off("SIGHUP", onHup);
    await gate.close();
    await audit?.close();
    return EXIT.ok;
  },
};
