import { resolve } from "node:path";
import { labUnavailable } from "../lab/exec.ts";
import { renderMatrix } from "../lab/matrix.ts";
import { verifyLab } from "../lab/verify.ts";
import { readDeployment } from "../model/load.ts";
import { loadPolicy } from "../policy/index.ts";
import { parseCommandArgs } from "./args.ts";
import { type Command, EXIT, UsageError } from "./command.ts";
import { printDiagnostics } from "./diagnostics.ts";

export const command: Command = {
  name: "verify",
  summary: "build the topology in network namespaces and probe every flow against the policy",
  help: `usage: corral verify --lab --policy corral.yaml -f docker-compose.yml [-f …] [--profile P]… [--before] [--format text|json]

Builds the deployment in network namespaces (one per service, one bridge per network in a lab
"host" namespace), loads the compiled nftables ruleset there, probes every (source,
destination, port) the policy or the deployment mentions over TCP and UDP, and prints the
matrix expected (policy) against observed. Nothing outside the lab's namespaces is touched;
they are removed on success, failure and Ctrl-C.

--before  probe the deployment as shipped (its own flat networks, no Corral) instead
--prefix  name prefix of the lab's namespaces (default crl<random>-)
Needs root, iproute2 and nft. Exit codes: 0 every cell as the policy says, 1 any mismatch,
2 bad input or the lab cannot run here.`,
  async run(args, ctx) {
    const { values } = parseCommandArgs("verify", args, {
      lab: { type: "boolean", default: false },
      policy: { type: "string", short: "p", default: "corral.yaml" },
      file: { type: "string", short: "f", multiple: true },
      profile: { type: "string", multiple: true },
      before: { type: "boolean", default: false },
      prefix: { type: "string" },
      format: { type: "string", default: "text" },
    });
    if (values.prefix !== undefined && !/^[A-Za-z0-9_.-]{1,40}$/.test(values.prefix))
      throw new UsageError(
        `--prefix '${values.prefix}' is not a namespace name prefix`,
        "use letters, digits, '.', '_' or '-'",
      );
    if (!values.lab) throw new UsageError("only lab verification exists so far", "pass --lab");
    const files = (values.file ?? []).map((f) => resolve(ctx.cwd, f));
    if (files.length === 0) throw new UsageError("no deployment file given", "pass -f docker-compose.yml");
    if (values.format !== "text" && values.format !== "json")
      throw new UsageError(`unknown format '${values.format}'`, "use --format text or json");
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
    if (values.format === "json") ctx.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
    else {
      const title = values.before
        ? "before Corral: the deployment as shipped"
        : "after Corral: compiled networks + nftables";
      ctx.stdout.write(renderMatrix(result.cells, { color: ctx.color, title }));
    }
    return result.summary.mismatches === 0 ? EXIT.ok : EXIT.failed;
  },
};
