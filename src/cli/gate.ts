import { resolve } from "node:path";
import { clusterMetrics, isPrimary, runWorkers, shareMetrics, workerIndex } from "../gate/cluster.ts";
import { Gate, parseListen } from "../gate/gate.ts";
import { createLogger } from "../gate/log.ts";
import { mergeMaps, parseMapFlag, readMapFile } from "../gate/service-map.ts";
import { loadPolicy } from "../policy/load.ts";
import { parseCommandArgs } from "./args.ts";
import { type Command, EXIT, UsageError } from "./command.ts";

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
  --state DIR            approvals and learned destinations (default gate.state_dir)
  --log FILE             decision log file (default stdout)
  --proxy HOST:PORT      override gate.listen.proxy
  --dns HOST:PORT        override gate.listen.dns
  --admin HOST:PORT      override gate.listen.admin
  --no-watch             do not reload when the policy file changes
  --workers N            N gate processes sharing the ports via SO_REUSEPORT (default 1);
                         needs fixed ports; worker 1 serves the admin API

Exit 0 after SIGINT/SIGTERM, 2 when the policy does not load or a port cannot be bound.`,
  async run(args, ctx) {
    const { values } = parseCommandArgs("gate", args, {
      policy: { type: "string", short: "p", default: "corral.yaml" },
      map: { type: "string", multiple: true, default: [] },
      "map-file": { type: "string" },
      state: { type: "string" },
      log: { type: "string" },
      proxy: { type: "string" },
      dns: { type: "string" },
      admin: { type: "string" },
      "no-watch": { type: "boolean", default: false },
      workers: { type: "string", default: "1" },
    });
    const workers = Number(values.workers);
    if (!Number.isInteger(workers) || workers < 1 || workers > 64)
      throw new UsageError("--workers must be an integer from 1 to 64");
    const file = resolve(ctx.cwd, values.policy);
    const loaded = await loadPolicy(file);
    let serviceMap: Record<string, string[]>;
    try {
      const fromFile = values["map-file"] ? readMapFile(resolve(ctx.cwd, values["map-file"])) : {};
      serviceMap = mergeMaps(fromFile, values.map.map(parseMapFlag));
    } catch (err) {
      throw new UsageError((err as Error).message, "use --map service=ip or a JSON map file");
    }
    const listen: { proxy?: string; dns?: string; admin?: string } = {};
    if (values.proxy) listen.proxy = values.proxy;
    if (values.dns) listen.dns = values.dns;
    if (values.admin) listen.admin = values.admin;
    const worker = workerIndex(ctx.env);
    if (workers > 1 && isPrimary()) {
      const listenOf = loaded.policy.gate.listen;
      for (const l of [listen.proxy ?? listenOf.proxy, listen.dns ?? listenOf.dns]) {
        if (parseListen(l).port === 0) throw new UsageError(`--workers needs fixed ports, got ${l}`);
      }
      ctx.stderr.write(`corral gate: starting ${workers} workers\n`);
      await runWorkers(workers, ctx.stopSignal, (line) => ctx.stderr.write(`corral gate: ${line}\n`));
      return EXIT.ok;
    }
    const gate = await Gate.start({
      worker,
      metricsText: worker !== undefined ? () => clusterMetrics() : undefined,
      serve: { admin: worker === undefined || worker === 1 },
      loaded,
      policyFile: file,
      watch: !values["no-watch"],
      env: ctx.env,
      serviceMap,
      logger: createLogger(values.log ? resolve(ctx.cwd, values.log) : undefined),
      listen,
      stateDir: values.state ? resolve(ctx.cwd, values.state) : undefined,
    });
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
    return EXIT.ok;
  },
};
