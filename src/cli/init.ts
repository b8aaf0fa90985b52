import { existsSync } from "node:fs";
import { writeFile } from "node:fs/promises";
import { dirname, relative, resolve } from "node:path";
import { inferPolicy } from "../init/infer.ts";
import { renderPolicy } from "../init/render.ts";
import { readDeployment } from "../model/load.ts";
import { parsePolicy } from "../policy/load.ts";
import { parseCommandArgs } from "./args.ts";
import { type Command, EXIT, UsageError } from "./command.ts";
import { printDiagnostics } from "./diagnostics.ts";
import { SCHEMA_FILE } from "./package-root.ts";

/**
 * The schema this Corral ships, relative to the policy's directory as yaml-language-server
 * resolves it: the same version as the CLI that wrote the policy, and readable offline. With
 * Corral installed in the project that is ./node_modules/corral/schema/corral.schema.json.
 * A dangling reference is worse than none, so a missing file leaves the modeline out.
 */
function schemaRef(policyDir: string): string | undefined {
  if (!existsSync(SCHEMA_FILE)) return undefined;
  const rel = relative(policyDir, SCHEMA_FILE);
  return rel.startsWith("../") ? rel : `./${rel}`;
}

export const command: Command = {
  name: "init",
  summary: "write a starting corral.yaml from compose files",
  help: `usage: corral init -f docker-compose.yml [-f override.yml …] [-o corral.yaml] [--force] [--stdout]

Reads the compose files as Docker Compose would (merged in order), classifies services into
web / agents / data, infers flows from depends_on and from connection settings in the
environment (DATABASE_URL, REDIS_URL, *_HOST/*_PORT, …), rebinds published ports to 127.0.0.1
and leaves egress empty (deny). Each inference is explained in a comment.
Its first line points editors at the JSON Schema this Corral ships, by a path relative to the
policy. Never overwrites an existing file without --force.`,
  async run(args, ctx) {
    const { values } = parseCommandArgs("init", args, {
      file: { type: "string", short: "f", multiple: true },
      output: { type: "string", short: "o", default: "corral.yaml" },
      force: { type: "boolean", default: false },
      stdout: { type: "boolean", default: false },
    });
    const files = (values.file ?? []).map((f) => resolve(ctx.cwd, f));
    if (files.length === 0) throw new UsageError("no compose file given", "pass -f docker-compose.yml");
    const deployment = readDeployment(files, { env: ctx.env });
    printDiagnostics(deployment.diagnostics, ctx);
    const inferred = inferPolicy(deployment.services, deployment.project);
    const out = resolve(ctx.cwd, values.output);
    const schema = schemaRef(values.stdout ? ctx.cwd : dirname(out));
    const text = renderPolicy(
      inferred,
      files.map((f) => relative(ctx.cwd, f) || f),
      schema ? { schema } : {},
    );
    // What we write must load: a generated policy that fails its own check is a bug, not output.
    parsePolicy(text, values.output);
    if (values.stdout) {
      ctx.stdout.write(text);
      return EXIT.ok;
    }
    if (existsSync(out) && !values.force) {
      throw new UsageError(`${values.output} already exists`, "pass --force to overwrite it, or -o another.yaml");
    }
    await writeFile(out, text);
    const counts = (["web", "agents", "data"] as const).map((t) => `${t}: ${inferred.zones[t].length}`).join(", ");
    ctx.stdout.write(
      `wrote ${values.output} (${counts}; ${inferred.flows.length} flows; ${inferred.publish.length} published ports rebound to 127.0.0.1)\n`,
    );
    if (inferred.incomplete.length > 0)
      ctx.stdout.write(`${inferred.incomplete.length} flows need a port: see the commented entries\n`);
    if (inferred.egress.length > 0)
      ctx.warn(
        `warning: egress is empty, so ${inferred.egress.map((n) => n.service).join(", ")} will lose their calls out (${[
          ...new Set(inferred.egress.flatMap((n) => n.evidence.map((e) => e.text.replace(/ \(.*$/, "")))),
        ].join(", ")}): review the proposed destinations under egress: in ${values.output}`,
      );
    return EXIT.ok;
  },
};
