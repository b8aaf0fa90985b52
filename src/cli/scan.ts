// `corral scan`: read compose or Kubernetes files, compute reachability, run the rule catalog,
// apply suppressions and print a report. Exit 1 when --fail-on is met, 2 on unreadable input.
import { readFileSync, writeFileSync } from "node:fs";
import { relative, resolve } from "node:path";
import { GATE_FLOW, OUTSIDE } from "../compile/allowed.ts";
import { type HostRules, underHostRules } from "../compile/host-reach.ts";
import { readDeployment } from "../model/load.ts";
import { computeReachability } from "../model/reachability.ts";
import type { Deployment } from "../model/types.ts";
import { loadPolicy } from "../policy/index.ts";
import { renderDot, renderJson, renderMarkdown, renderMermaid, renderSarif, renderText } from "../report/index.ts";
import { parseBaseline, renderBaseline } from "../scan/baseline.ts";
import { policyView } from "../scan/policy-view.ts";
import { failsAt, scan } from "../scan/scan.ts";
import { sourcesFrom } from "../scan/sources.ts";
import { SEVERITIES, type Severity } from "../scan/types.ts";
import { parseCommandArgs } from "./args.ts";
import { type Command, EXIT, UsageError } from "./command.ts";
import { loadCompiled } from "./compiled-dir.ts";
import { printDiagnostics } from "./diagnostics.ts";
import { packageVersion } from "./package-root.ts";

const FORMATS = ["text", "json", "sarif", "markdown", "mermaid", "dot"] as const;
type Format = (typeof FORMATS)[number];

function toolVersion(): string {
  try {
    return packageVersion();
  } catch {
    return "0.0.0";
  }
}

/** Every file a position can point into: the -f files, includes, env_files. */
function sourceFiles(d: Deployment): Set<string> {
  const files = new Set(d.files);
  for (const s of d.services) {
    files.add(s.pos.file);
    for (const p of Object.values(s.positions)) files.add(p.file);
    for (const c of s.containers) for (const e of c.env) files.add(e.pos.file);
  }
  return files;
}

function readSources(files: Iterable<string>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const f of files) {
    try {
      out[f] = readFileSync(f, "utf8");
    } catch {
      // A position into a file we cannot read (deleted since) only loses its snippet.
    }
  }
  return out;
}

export const command: Command = {
  name: "scan",
  summary: "find what breaks containment in compose / Kubernetes files",
  help: `usage: corral scan -f docker-compose.yml [-f …] [options]

Reads compose files (merged in order) or Kubernetes manifests, computes who can reach whom and
reports what breaks containment: privileged containers, runtime sockets, host namespaces,
exposed data stores, flat networks, plaintext secrets, agents with open egress, … (rule
catalog: docs/rules/).

options:
  -f, --file <path>          compose file or Kubernetes manifest (repeatable)
  --format <fmt>             text (default), json, sarif, markdown, mermaid, dot
  -o, --output <path>        write the report to a file instead of stdout
  --profile <name>           narrow to services compose would start with these profiles
                             (repeatable; COMPOSE_PROFILES too). Default: every service,
                             findings naming the profiles that start them
  --policy <corral.yaml>     also report reachability the policy does not declare
  --compiled <dir>           take the host rules compiled into dir (compile -o dir) as in force:
                             reachability and egress become what they allow, as verify expects.
                             Needs --policy and -f dir/compose.corral.yml; refuses a stale dir
  --fail-on <severity>       exit 1 when an unsuppressed finding is at or above:
                             critical, high, medium, low, info (default: never)
  --baseline <file.json>     accept the findings listed there (each entry needs a reason)
  --write-baseline <file>    write the current findings as a baseline and exit 0
  --reason <text>            reason recorded by --write-baseline

suppress one finding inline, on its line, the line above, or the service's key line:
  privileged: true  # corral-ignore CRL-R001: needs /dev/kvm, single-tenant host

exit codes: 0 ok, 1 --fail-on threshold met, 2 usage error or unreadable input, 70 internal error`,
  async run(args, ctx) {
    const { values } = parseCommandArgs("scan", args, {
      file: { type: "string", short: "f", multiple: true },
      format: { type: "string", default: "text" },
      output: { type: "string", short: "o" },
      profile: { type: "string", multiple: true },
      policy: { type: "string" },
      compiled: { type: "string" },
      "fail-on": { type: "string" },
      baseline: { type: "string" },
      "write-baseline": { type: "string" },
      reason: { type: "string" },
    });
    const files = (values.file ?? []).map((f) => resolve(ctx.cwd, f));
    if (files.length === 0)
      throw new UsageError("no deployment file given", "pass -f docker-compose.yml (repeatable) or -f manifest.yaml");
    const format = values.format as Format;
    if (!FORMATS.includes(format))
      throw new UsageError(`unknown format '${values.format}'`, `use one of: ${FORMATS.join(", ")}`);
    const failOn = values["fail-on"];
    if (failOn !== undefined && !SEVERITIES.includes(failOn as Severity)) {
      throw new UsageError(`unknown severity '${failOn}'`, `use one of: ${SEVERITIES.join(", ")}`);
    }

    if (values.compiled !== undefined && values.policy === undefined)
      throw new UsageError(
        `--compiled ${values.compiled} needs the policy it was compiled from`,
        `add --policy corral.yaml (the file given to corral compile)`,
      );

    // Without --profile or COMPOSE_PROFILES a scan sees every service: what a profile starts
    // is as much part of the stack as the default set.
    const narrowed = values.profile !== undefined || ctx.env.COMPOSE_PROFILES !== undefined;
    const deployment = readDeployment(files, {
      env: ctx.env,
      ...(values.profile ? { profiles: values.profile } : {}),
      ...(narrowed ? {} : { allProfiles: true }),
    });
    printDiagnostics(deployment.diagnostics, ctx);
    const sources = sourcesFrom(readSources(sourceFiles(deployment)));
    const displayPath = (f: string) => {
      const rel = relative(ctx.cwd, f);
      return rel.startsWith("..") ? f : rel;
    };
    const policyFile = values.policy ? resolve(ctx.cwd, values.policy) : undefined;
    const loaded = policyFile ? await loadPolicy(policyFile) : undefined;
    const hostRules: HostRules | undefined =
      values.compiled !== undefined && loaded
        ? loadCompiled({
            dir: values.compiled,
            cwd: ctx.cwd,
            files,
            fileArgs: values.file ?? [],
            loaded,
            policyArg: values.policy ?? "corral.yaml",
            env: ctx.env,
            ...(values.profile ? { profiles: values.profile } : {}),
            display: displayPath,
          })
        : undefined;
    const computed = computeReachability(deployment);
    const reach = hostRules ? underHostRules(computed, deployment, hostRules) : computed;
    const view =
      loaded && policyFile ? { ...policyView(loaded, deployment), file: displayPath(policyFile) } : undefined;
    // Under the host rules an egress client's way to the gate is the policy's egress section,
    // declared there as much as any flow.
    const gateFlows = hostRules?.allowed.filter((a) => a.flowIndex === GATE_FLOW && a.to !== OUTSIDE) ?? [];
    const policy = view ? { ...view, flows: [...view.flows, ...gateFlows] } : undefined;
    let baseline: { file: string; entries: ReturnType<typeof parseBaseline> } | undefined;
    if (values.baseline) {
      const file = resolve(ctx.cwd, values.baseline);
      let text: string;
      try {
        text = readFileSync(file, "utf8");
      } catch (err) {
        throw new UsageError(
          `cannot read baseline ${values.baseline} (${(err as NodeJS.ErrnoException).code})`,
          "create one with --write-baseline",
        );
      }
      baseline = { file, entries: parseBaseline(text, file) };
    }

    const result = scan({
      deployment,
      reach,
      sources,
      ...(policy ? { policy } : {}),
      ...(baseline ? { baseline } : {}),
      ...(hostRules ? { hostRules: hostRules.file } : {}),
    });

    if (values["write-baseline"]) {
      const target = resolve(ctx.cwd, values["write-baseline"]);
      const reason =
        values.reason ?? `accepted as pre-existing by --write-baseline on ${new Date().toISOString().slice(0, 10)}`;
      writeFileSync(target, renderBaseline(result.findings, reason));
      ctx.stderr.write(`wrote ${relative(ctx.cwd, target) || target}\n`);
      return EXIT.ok;
    }

    const opts = { displayPath, sources, color: ctx.color && !values.output, toolVersion: toolVersion() };
    const render: Record<Format, () => string> = {
      text: () => renderText(result, opts),
      json: () => renderJson(result, opts),
      sarif: () => renderSarif(result, opts),
      markdown: () => renderMarkdown(result, opts),
      mermaid: () => renderMermaid(result),
      dot: () => renderDot(result),
    };
    const report = render[format]();
    if (values.output) writeFileSync(resolve(ctx.cwd, values.output), report);
    else ctx.stdout.write(report);
    return failOn !== undefined && failsAt(result.findings, failOn as Severity) ? EXIT.failed : EXIT.ok;
  },
};
