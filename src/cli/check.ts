import { resolve } from "node:path";
import { loadPolicy } from "../policy/load.ts";
import { paint } from "../report/paint.ts";
import { parseCommandArgs } from "./args.ts";
import { type Command, EXIT } from "./command.ts";

export const command: Command = {
  name: "check",
  summary: "load and validate a policy file",
  help: `usage: corral check [--policy corral.yaml] [--format text|json]

Loads the policy and reports every problem with file:line:col and a hint.
Exit 0 when it loads, 2 when it does not.`,
  async run(args, ctx) {
    const { values } = parseCommandArgs("check", args, {
      policy: { type: "string", short: "p", default: "corral.yaml" },
      format: { type: "string", default: "text" },
    });
    const loaded = await loadPolicy(resolve(ctx.cwd, values.policy));
    const p = loaded.policy;
    const summary = {
      file: values.policy,
      hash: loaded.hash,
      zones: Object.keys(p.zones).length,
      flows: p.flows.length,
      egressRules: p.egress.length,
      identities: Object.keys(p.identities).length,
      sandboxProfiles: Object.keys(p.sandbox.profiles).length,
    };
    if (values.format === "json") ctx.stdout.write(`${JSON.stringify({ ok: true, ...summary }, null, 2)}\n`);
    else
      ctx.stdout.write(
        `${paint("ok", "green", ctx.color)} ${values.policy}: ${summary.zones} zones, ${summary.flows} flows, ${summary.egressRules} egress rules, ${summary.identities} identities, ${summary.sandboxProfiles} sandbox profiles (sha256 ${loaded.hash.slice(0, 12)})\n`,
      );
    return EXIT.ok;
  },
};
