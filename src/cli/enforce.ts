import { resolve } from "node:path";
import { DockerClient, socketPath } from "../engine/docker-api.ts";
import { type EnforceReport, Enforcer } from "../engine/enforce.ts";
import { liveRuleset } from "../engine/live-ruleset.ts";
import { loadPolicy } from "../policy/index.ts";
import { parseCommandArgs } from "./args.ts";
import { type Command, EXIT, UsageError } from "./command.ts";
import { composeProject } from "./compose-project.ts";

export function describeReport(r: EnforceReport, project: string): string {
  const what =
    r.source === "live"
      ? `${r.containers} running container${r.containers === 1 ? "" : "s"} of project ${project}`
      : r.source === "sealed"
        ? "the sealed ruleset (no member addresses: nothing crosses Corral's bridges but the gate's egress)"
        : "the last ruleset kept";
  const verb = r.applied ? "loaded" : "unchanged";
  const unknown = r.unknown.length ? `; not in the policy's plan: ${r.unknown.join(", ")}` : "";
  const error = r.error ? ` (engine: ${r.error})` : "";
  return `${r.reason}: table inet corral ${verb}, ${what}${unknown}${error} [${r.ms} ms]`;
}

export const command: Command = {
  name: "enforce",
  summary: "keep the host rules in step with the running containers (follows Docker events)",
  help: `usage: corral enforce --policy corral.yaml -f docker-compose.yml [-f …] [--profile P]…
                      [--project NAME] [--netns NAME] [--once] [--tick SECONDS] [--log-group N]

Renders table inet corral from the addresses the compose project's containers really have (every
replica of a scaled service, recreated containers, new addresses after down/up or a dockerd
restart) and loads it with nft -f in one transaction. Without --once it keeps following: a
reload after each container or network event, and on every tick, when the table was deleted,
flushed or edited by hand.

An address the rules do not name is dropped on Corral's bridges: a container started before
its rules are loaded is cut off until they are, never let through. When the engine cannot be
reached the loaded rules stay in place; at boot, before the engine, --once loads the sealed
ruleset (nothing crosses Corral's bridges but the gate's egress). See docs/enforce.md for the
systemd unit.

--project  compose project name (default: as docker compose derives it)
--netns    run nft inside this named network namespace (an engine sealed in one, a lab)
--once     reconcile once and exit
--tick     seconds between checks of the table and the containers (default 2)
The engine is the one at $DOCKER_HOST (unix:// only), else /var/run/docker.sock.
Exit codes: 0 loaded (--once) or stopped by SIGINT/SIGTERM, 1 nft refused the ruleset, 2 bad input.`,
  async run(args, ctx) {
    const { values } = parseCommandArgs("enforce", args, {
      policy: { type: "string", short: "p", default: "corral.yaml" },
      file: { type: "string", short: "f", multiple: true },
      profile: { type: "string", multiple: true },
      project: { type: "string" },
      netns: { type: "string" },
      once: { type: "boolean", default: false },
      tick: { type: "string", default: "2" },
      "log-group": { type: "string", default: "1" },
    });
    const files = (values.file ?? []).map((f) => resolve(ctx.cwd, f));
    if (files.length === 0) throw new UsageError("no deployment file given", "pass -f docker-compose.yml");
    const tick = Number(values.tick);
    if (!(tick > 0)) throw new UsageError(`--tick ${values.tick} is not a number of seconds`, "e.g. --tick 2");
    const logGroup = Number(values["log-group"]);
    if (!Number.isInteger(logGroup) || logGroup < 0 || logGroup > 65535)
      throw new UsageError(`--log-group ${values["log-group"]} is not an NFLOG group`, "use a number from 0 to 65535");
    const loaded = await loadPolicy(resolve(ctx.cwd, values.policy));
    const { deployment, project } = composeProject(files, values, ctx, {
      message: "corral enforce follows a Docker host",
      hint: "for Kubernetes use compile --target kubernetes",
    });
    const ruleset = liveRuleset(loaded.policy, deployment, { comment: `policy sha256 ${loaded.hash}`, logGroup });
    let socket: string;
    try {
      socket = socketPath(ctx.env.DOCKER_HOST);
    } catch (err) {
      throw new UsageError((err as Error).message, "run corral enforce on the Docker host");
    }
    let lastError: string | undefined;
    const enforcer = new Enforcer({
      project,
      client: new DockerClient(socket),
      members: ruleset.members,
      render: ruleset.render,
      tickMs: tick * 1000,
      ...(values.netns ? { netns: values.netns } : {}),
      // Every load is reported; an unreachable engine once per outage, not once per tick.
      onReport: (r) => {
        if (r.applied || (r.error && r.error !== lastError))
          ctx.stderr.write(`corral enforce: ${describeReport(r, project)}\n`);
        lastError = r.error;
      },
    });
    try {
      if (values.once) {
        await enforcer.reconcile("once");
        return EXIT.ok;
      }
      await enforcer.run(ctx.stopSignal);
      return EXIT.ok;
    } catch (err) {
      if ((err as Error).name !== "NftError") throw err;
      ctx.stderr.write(`corral enforce: ${(err as Error).message}\n`);
      return EXIT.failed;
    }
  },
};
