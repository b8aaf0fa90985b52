// `corral observe`: the record of what zones in observe mode really do (and what enforced zones
// refuse), read from the kernel's log on the Docker host and named by the running containers.
import { mkdirSync } from "node:fs";
import { join, resolve } from "node:path";
import { DockerClient, socketPath } from "../engine/docker-api.ts";
import { mirrorGateLearned } from "../engine/gate-learned.ts";
import { liveRuleset } from "../engine/live-ruleset.ts";
import { replicaNames } from "../engine/members.ts";
import { startUlogd, type UlogdProcess } from "../engine/nflog.ts";
import { addressOwner } from "../engine/observed-flows.ts";
import { Observer } from "../engine/observer.ts";
import { loadPolicy } from "../policy/index.ts";
import { parseCommandArgs } from "./args.ts";
import { type Command, EXIT, UsageError } from "./command.ts";
import { composeProject } from "./compose-project.ts";
import { OBSERVED_FLOWS_FILE, stateDirOf } from "./suggestion.ts";

export const command: Command = {
  name: "observe",
  summary: "record the flows zones in observe mode really use (and what enforced zones refuse)",
  help: `usage: corral observe --policy corral.yaml -f docker-compose.yml [-f …] [--project NAME]
                      [--state DIR] [--log-group N | --ulogd-json FILE] [--netns NAME]
                      [--interval SECONDS] [--once]

Zones with 'mode: observe' (or a top-level 'mode: observe') are compiled to log each new
connection the policy would deny, from or to their members, and let it through. This reads that
log (NFLOG group N, default 1, through ulogd2; Debian: apt-get install ulogd2 ulogd2-json),
names both ends by the project's running containers, and keeps a record in
DIR/${OBSERVED_FLOWS_FILE} (default: the policy's gate.state_dir, else .corral/ beside the
policy): per (from, to, protocol, port) a count, first and last seen, and an example connection.
ulogd2's own file (DIR/nflog.json) is rotated at 64 MiB once read to its end.
Connections enforced zones refused are kept too, as drops. What the compose gate learned
(identities in 'mode: learn') is mirrored from its state volume into DIR as well, so
'corral policy suggest' turns east-west and egress into one change of corral.yaml. Run it
beside 'corral enforce' (the same --log-group).

An NFLOG group has one reader: when ulogd2 already reads it for a SIEM (docs/nftables.md),
pass its JSON file with --ulogd-json instead. The record is bounded (10,000 pairs; further new
pairs are counted as overflow) and saved atomically with where reading stopped, so a restart
counts nothing twice and loses nothing.

--once      read what is there, save, exit
--interval  seconds between reads (default 5)
--netns     read the log of this named network namespace (an engine sealed in one, a lab)`,
  async run(args, ctx) {
    const { values } = parseCommandArgs("observe", args, {
      policy: { type: "string", short: "p", default: "corral.yaml" },
      file: { type: "string", short: "f", multiple: true },
      profile: { type: "string", multiple: true },
      project: { type: "string" },
      state: { type: "string" },
      "log-group": { type: "string", default: "1" },
      "ulogd-json": { type: "string" },
      netns: { type: "string" },
      interval: { type: "string", default: "5" },
      once: { type: "boolean", default: false },
    });
    const files = (values.file ?? []).map((f) => resolve(ctx.cwd, f));
    if (files.length === 0) throw new UsageError("no deployment file given", "pass -f docker-compose.yml");
    const interval = Number(values.interval);
    if (!(interval > 0))
      throw new UsageError(`--interval ${values.interval} is not a number of seconds`, "e.g. --interval 5");
    const group = Number(values["log-group"]);
    if (!Number.isInteger(group) || group < 0 || group > 65535)
      throw new UsageError(`--log-group ${values["log-group"]} is not an NFLOG group`, "use a number from 0 to 65535");
    const policyFile = resolve(ctx.cwd, values.policy);
    const loaded = await loadPolicy(policyFile);
    const { deployment, project } = composeProject(files, values, ctx, {
      message: "corral observe reads a Docker host's log",
      hint: "on Kubernetes, Cilium's policy audit mode with Hubble does this",
    });
    const state = stateDirOf(loaded.policy, policyFile, values.state, ctx.cwd);
    mkdirSync(state, { recursive: true, mode: 0o700 });
    let socket: string;
    try {
      socket = socketPath(ctx.env.DOCKER_HOST);
    } catch (err) {
      throw new UsageError((err as Error).message, "run corral observe on the Docker host");
    }
    const client = new DockerClient(socket);
    const { plan, members } = liveRuleset(loaded.policy, deployment, { logGroup: group });
    const gateways = plan.networks.map((n) => n.gateway);
    const ulogd: UlogdProcess | undefined = values["ulogd-json"]
      ? undefined
      : await startUlogd({ group, dir: state, ...(values.netns ? { netns: values.netns } : {}) });
    // Asked once a tick: the owner and the replica names come from the same listing.
    let containers: Awaited<ReturnType<DockerClient["containers"]>> = [];
    const observer = new Observer({
      jsonFile: values["ulogd-json"] ? resolve(ctx.cwd, values["ulogd-json"]) : (ulogd?.jsonFile ?? ""),
      recordFile: join(state, OBSERVED_FLOWS_FILE),
      // ulogd2 writes some 870 bytes a connection: our own file is kept under 64 MiB.
      ...(ulogd ? { rotate: { maxBytes: 64 << 20, reopen: () => ulogd.child.kill("SIGHUP") } } : {}),
      owner: async () => {
        containers = await client.containers(project);
        return addressOwner(members(containers).attachments, gateways);
      },
      replica: async () => replicaNames(containers),
    });
    if (observer.setAside) ctx.warn(`corral observe: warning: a damaged record was set aside: ${observer.setAside}`);
    const observed = plan.observed.length
      ? `observing ${plan.observed.join(", ")}`
      : "no zone is in observe mode: only refusals will be recorded";
    ctx.stderr.write(`corral observe: ${observed}; record in ${join(state, OBSERVED_FLOWS_FILE)}\n`);
    const report = async () => {
      const t = await observer.tick();
      // The gate's learn mode, mirrored beside the flows: one state directory for policy suggest.
      if (plan.gate) await mirrorGateLearned(containers, state, ctx.env);
      if (t.newFlows > 0 || values.once)
        ctx.stderr.write(
          `corral observe: ${t.record.flows.length} flows recorded (${t.newFlows} new), ${t.record.unmapped} unmapped, ${t.record.overflow} past the limit\n`,
        );
    };
    try {
      if (values.once) {
        await report();
        return EXIT.ok;
      }
      while (!ctx.stopSignal.aborted) {
        await new Promise<void>((r) => {
          const t = setTimeout(r, interval * 1000);
          ctx.stopSignal.addEventListener(
            "abort",
            () => {
              clearTimeout(t);
              r();
            },
            { once: true },
          );
        });
        await report();
      }
      return EXIT.ok;
    } finally {
      await ulogd?.stop();
    }
  },
};
