import { resolve } from "node:path";
import { DockerApiError, DockerClient, socketPath } from "../engine/docker-api.ts";
import { LiveVerifyError, verifyLive } from "../engine/verify-live.ts";
import { labUnavailable } from "../lab/exec.ts";
import { renderJunit, renderTap } from "../lab/formats.ts";
import { type Cell, renderMatrix } from "../lab/matrix.ts";
import { verifyLab } from "../lab/verify.ts";
import { readDeployment } from "../model/load.ts";
import { loadPolicy, type Policy, zoneMode } from "../policy/index.ts";
import { parseCommandArgs } from "./args.ts";
import { type Command, type CommandContext as Context, EXIT, UsageError } from "./command.ts";
import { composeProject } from "./compose-project.ts";
import { printDiagnostics } from "./diagnostics.ts";

export const command: Command = {
  name: "verify",
  summary: "probe every flow against the policy: in a lab of network namespaces, or on the running stack",
  help: `usage: corral verify --lab  --policy corral.yaml -f docker-compose.yml [-f …] [--profile P]… [--before]
       corral verify --live --policy corral.yaml -f docker-compose.yml [-f …] [--project NAME]
                     [--netns NAME] [--outside-link CIDR | --no-outside]
       [--format text|json|tap|junit]

--lab builds the deployment in network namespaces (one per service, one bridge per network in a
lab "host" namespace), loads the compiled nftables ruleset there, probes every (source,
destination, port) the policy or the deployment mentions over TCP and UDP, and prints the
matrix expected (policy) against observed. Nothing outside the lab's namespaces is touched;
they are removed on success, failure and Ctrl-C.

--live probes the compose project running on the engine at $DOCKER_HOST, from inside each
container's network namespace (Corral's probe entered with nsenter: images need no tools): every
cell above per replica, the Docker host at each network's gateway, the way out (a direct
connection, the metadata address, an allowed and a denied name through the gate), and published
ports from outside and from loopback. It reports what is, whatever the state: without the host
rules (table inet corral) it says so and fails.

--before        (--lab) probe the deployment as shipped (its own flat networks, no Corral)
--prefix        (--lab) name prefix of the lab's namespaces (default crl<random>-)
--project       (--live) compose project name (default: as docker compose derives it)
--netns         (--live) the network namespace the engine runs in (default: this host's)
--outside-link  (--live) the /30 linking a temporary "outside" namespace to the host (default
                10.203.48.0/30): the direct way out and published ports are probed from there
--no-outside    (--live) skip the outside probes
Needs root, iproute2 and nft (--live: nsenter too). Exit codes: 0 every cell as the policy
says, 1 any mismatch (or, --live, the host rules missing), 2 bad input or it cannot run here.`,
  async run(args, ctx) {
    const { values } = parseCommandArgs("verify", args, {
      lab: { type: "boolean", default: false },
      policy: { type: "string", short: "p", default: "corral.yaml" },
      file: { type: "string", short: "f", multiple: true },
      profile: { type: "string", multiple: true },
      before: { type: "boolean", default: false },
      prefix: { type: "string" },
      format: { type: "string", default: "text" },
      live: { type: "boolean", default: false },
      project: { type: "string" },
      netns: { type: "string" },
      "outside-link": { type: "string" },
      "no-outside": { type: "boolean", default: false },
    });
    if (values.prefix !== undefined && !/^[A-Za-z0-9_.-]{1,40}$/.test(values.prefix))
      throw new UsageError(
        `--prefix '${values.prefix}' is not a namespace name prefix`,
        "use letters, digits, '.', '_' or '-'",
      );
    if (values.lab === values.live)
      throw new UsageError("say where to verify", "pass --lab (network namespaces) or --live (the running stack)");
    const files = (values.file ?? []).map((f) => resolve(ctx.cwd, f));
    if (files.length === 0) throw new UsageError("no deployment file given", "pass -f docker-compose.yml");
    const format = values.format;
    if (format !== "text" && format !== "json" && format !== "tap" && format !== "junit")
      throw new UsageError(`unknown format '${format}'`, "use --format text, json, tap or junit");
    if (values.live) return live(values, files, format, ctx);
    const why = labUnavailable();
    if (why) throw new UsageError(why, "run 'corral verify --lab' as root on a Linux host with iproute2 and nftables");
    const { policy } = await loadPolicy(resolve(ctx.cwd, values.policy));
    const deployment = readDeployment(files, { env: ctx.env, ...(values.profile ? { profiles: values.profile } : {}) });
    printDiagnostics(deployment.diagnostics, ctx);
    if (deployment.platform !== "compose")
      throw new UsageError(
        "the lab builds compose deployments only",
        "verify Kubernetes policies in a test cluster (e.g. kind with Cilium)",
      );
    const result = await verifyLab(policy, deployment, {
      before: values.before,
      signal: ctx.stopSignal,
      ...(values.prefix ? { prefix: values.prefix } : {}),
    });
    const title = values.before
      ? "before Corral: the deployment as shipped"
      : "after Corral: compiled networks + nftables";
    write(ctx, format, result, result.cells, title, values.before ? [] : modeNotes(policy));
    return result.summary.mismatches === 0 ? EXIT.ok : EXIT.failed;
  },
};

type Format = "text" | "json" | "tap" | "junit";

/** Which zones are enforced and which observed: an observed zone's extra open cells are by design. */
export function modeNotes(policy: Policy): string[] {
  const zones = Object.keys(policy.zones).sort();
  if (zones.length === 0) return [];
  const observed = zones.filter((z) => zoneMode(policy, z) === "observe");
  const line = `zones: ${zones.map((z) => `${z} ${zoneMode(policy, z)}`).join(", ")}`;
  return observed.length === 0
    ? [line]
    : [
        line,
        "observe: connections the policy would deny from or to an observed zone are logged and let through (rule 'observe'); 'corral observe' records them, 'corral policy suggest' proposes them",
      ];
}

function write(ctx: Context, format: Format, result: unknown, cells: Cell[], title: string, notes: string[]): void {
  if (format === "json") ctx.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
  else if (format === "tap") ctx.stdout.write(renderTap(cells, [title, ...notes]));
  else if (format === "junit") ctx.stdout.write(renderJunit(cells, title, notes));
  else {
    ctx.stdout.write(renderMatrix(cells, { color: ctx.color, title, live: title.startsWith("live") }));
    for (const n of notes) ctx.stdout.write(`${n}\n`);
  }
}

async function live(
  values: {
    policy: string;
    profile?: string[];
    project?: string;
    netns?: string;
    "outside-link"?: string;
    "no-outside": boolean;
  },
  files: string[],
  format: Format,
  ctx: Context,
): Promise<number> {
  if (process.getuid?.() !== 0)
    throw new UsageError("verify --live enters the containers' network namespaces", "run it as root");
  const link = values["outside-link"];
  if (link !== undefined && !/^\d{1,3}(\.\d{1,3}){3}\/30$/.test(link))
    throw new UsageError(
      `--outside-link ${link} is not an IPv4 /30`,
      "give a free /30, e.g. --outside-link 10.203.48.0/30",
    );
  const { policy } = await loadPolicy(resolve(ctx.cwd, values.policy));
  const { deployment, project } = composeProject(files, values, ctx, {
    message: "verify --live probes a compose project",
    hint: "verify Kubernetes policies in a test cluster",
  });
  let client: DockerClient;
  try {
    client = new DockerClient(socketPath(ctx.env.DOCKER_HOST));
  } catch (err) {
    throw new UsageError((err as Error).message, "set DOCKER_HOST=unix:///var/run/docker.sock");
  }
  if (!(await client.ping()))
    throw new UsageError(
      `no Docker Engine answers at ${client.socket}`,
      "start it, or point DOCKER_HOST at its socket",
    );
  try {
    const result = await verifyLive(policy, deployment, {
      project,
      client,
      ...(values.netns ? { netns: values.netns } : {}),
      outsideLink: values["no-outside"] ? false : (values["outside-link"] ?? "10.203.48.0/30"),
      ...(ctx.stopSignal ? { signal: ctx.stopSignal } : {}),
    });
    const notes =
      result.hostRules === "missing"
        ? [
            "host rules: table inet corral is NOT loaded where the engine runs: start 'corral enforce' (docs/enforce.md)",
          ]
        : ["host rules: table inet corral loaded"];
    notes.push(...modeNotes(policy));
    const title = `live: compose project ${project}, ${result.replicas} running containers`;
    write(ctx, format, result, result.cells, title, notes);
    return result.summary.mismatches === 0 && result.hostRules === "loaded" ? EXIT.ok : EXIT.failed;
  } catch (err) {
    if (err instanceof LiveVerifyError) throw new UsageError(err.message, err.hint);
    if (err instanceof DockerApiError) throw new UsageError(err.message, "check the engine and DOCKER_HOST");
    throw err;
  }
}
