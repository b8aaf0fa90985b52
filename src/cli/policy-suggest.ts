// `corral policy suggest --policy p --state dir`: the egress allowlist learned in learn mode.
import { resolve } from "node:path";
import { readLearned } from "../gate/learn.ts";
import { suggestYaml } from "../gate/suggest.ts";
import { loadPolicy } from "../policy/load.ts";
import { parseCommandArgs } from "./args.ts";
import { type Command, EXIT, UsageError } from "./command.ts";

export const command: Command = {
  name: "policy",
  summary: "policy helpers: 'policy suggest' prints an egress allowlist learned by the gate",
  help: `usage: corral policy suggest [--policy corral.yaml] [--state DIR] [--min-siblings 3] [--format yaml|json]

Reads what identities in 'mode: learn' reached (DIR/learned.json, DIR defaults to the policy's
gate.state_dir) and prints a reviewed egress allowlist: subdomains folded into '*.parent' when
three or more siblings share a parent and port, request counts as comments.`,
  async run(args, ctx) {
    const { values, positionals } = parseCommandArgs(
      "policy",
      args,
      {
        policy: { type: "string", short: "p", default: "corral.yaml" },
        state: { type: "string" },
        "min-siblings": { type: "string", default: "3" },
        format: { type: "string", default: "yaml" },
      },
      true,
    );
    if (positionals[0] !== "suggest" || positionals.length !== 1)
      throw new UsageError("expected a subcommand: corral policy suggest");
    let stateDir = values.state ? resolve(ctx.cwd, values.state) : undefined;
    if (!stateDir) {
      const loaded = await loadPolicy(resolve(ctx.cwd, values.policy));
      const dir = loaded.policy.gate.state_dir;
      if (!dir) throw new UsageError("no --state given and the policy has no gate.state_dir");
      stateDir = resolve(ctx.cwd, dir);
    }
    const min = Number(values["min-siblings"]);
    if (!Number.isInteger(min) || min < 2) throw new UsageError("--min-siblings must be an integer ≥ 2");
    const learned = readLearned(stateDir);
    if (values.format === "json") ctx.stdout.write(`${JSON.stringify(learned, null, 2)}\n`);
    else ctx.stdout.write(suggestYaml(learned, { minSiblings: min, source: stateDir }));
    return Object.keys(learned).length === 0 ? EXIT.failed : EXIT.ok;
  },
};
