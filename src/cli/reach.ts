import { resolve } from "node:path";
import { readDeployment } from "../model/load.ts";
import { computeReachability } from "../model/reachability.ts";
import type { ReachEdge, ReachReason } from "../model/types.ts";
import { paint } from "../report/paint.ts";
import { parseCommandArgs } from "./args.ts";
import { type Command, EXIT, UsageError } from "./command.ts";
import { printDiagnostics } from "./diagnostics.ts";

function reason(r: ReachReason): string {
  switch (r.kind) {
    case "network":
      return `shared network ${r.network}`;
    case "host-network":
      return `host network (${r.via})`;
    case "shared-namespace":
      return `shares the network namespace of ${r.with}`;
    case "published":
      return `published on ${r.hostIp}:${r.hostPort}`;
    case "host-rules":
      return `${r.file} keeps ${r.rules.join(", ")}`;
    case "k8s-no-policy":
      return `no NetworkPolicy selects it (${r.side})`;
    case "k8s-policy":
      return `NetworkPolicy ${r.policy} allows (${r.side})`;
  }
}

function ports(edge: ReachEdge): string {
  if (edge.ports === "all") return "every port";
  return edge.ports.map((p) => `${p.from === p.to ? p.from : `${p.from}-${p.to}`}/${p.protocol}`).join(", ");
}

export const command: Command = {
  name: "reach",
  summary: "show who can reach whom in a deployment",
  help: `usage: corral reach -f docker-compose.yml [-f …] [--format text|json]

Computes, from the deployment alone, which service can open a connection to which (and on
which ports, and why), what is exposed beyond the host, and who has direct internet egress.`,
  async run(args, ctx) {
    const { values } = parseCommandArgs("reach", args, {
      file: { type: "string", short: "f", multiple: true },
      format: { type: "string", default: "text" },
    });
    const files = (values.file ?? []).map((f) => resolve(ctx.cwd, f));
    if (files.length === 0) throw new UsageError("no deployment file given", "pass -f docker-compose.yml");
    if (values.format !== "text" && values.format !== "json")
      throw new UsageError(`unknown format '${values.format}'`, "use --format text or json");
    const deployment = readDeployment(files, { env: ctx.env });
    printDiagnostics(deployment.diagnostics, ctx);
    const reach = computeReachability(deployment);
    if (values.format === "json") {
      ctx.stdout.write(`${JSON.stringify(reach, null, 2)}\n`);
      return EXIT.ok;
    }
    const out: string[] = [paint("reachability", "bold", ctx.color)];
    for (const e of reach.edges) out.push(`  ${e.from} → ${e.to}  ${ports(e)}  (${e.reasons.map(reason).join("; ")})`);
    out.push(paint("exposure", "bold", ctx.color));
    for (const x of reach.exposures) {
      const where = `${x.hostIp ?? ""}${x.port ? `:${x.port}` : ""}`;
      out.push(
        `  ${x.service}  ${x.kind} ${where}${x.allInterfaces ? paint("  all interfaces", "red", ctx.color) : ""}`,
      );
    }
    out.push(paint("internet egress", "bold", ctx.color));
    for (const g of reach.egress)
      out.push(`  ${g.service}  ${g.internet ? paint("yes", "red", ctx.color) : "no"}  (${g.reason})`);
    ctx.stdout.write(`${out.join("\n")}\n`);
    return EXIT.ok;
  },
};
