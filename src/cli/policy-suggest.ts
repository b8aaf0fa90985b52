// `corral policy suggest`: what observe mode and learn mode saw, as a reviewed change of
// corral.yaml (a diff, or --apply), every addition with its evidence.
import { existsSync, renameSync, writeFileSync } from "node:fs";
import { resolve } from "node:path";
import { readLearned } from "../gate/learn.ts";
import { suggestYaml } from "../gate/suggest.ts";
import { loadPolicy } from "../policy/load.ts";
import { parseCommandArgs } from "./args.ts";
import { type Command, EXIT, UsageError } from "./command.ts";
import { computeSuggestion, OBSERVED_FLOWS_FILE, stateDirOf, suggestionDiff } from "./suggestion.ts";

export const command: Command = {
  name: "policy",
  summary: "policy helpers: 'policy suggest' turns what observe and learn mode saw into a change of corral.yaml",
  help: `usage: corral policy suggest [--policy corral.yaml] [--state DIR] [--apply] [--fold N] [--format diff|json]

Reads what was observed (DIR/${OBSERVED_FLOWS_FILE}, written by 'corral observe' for zones in
'mode: observe') and learned (DIR/learned.json, written by the gate for identities in
'mode: learn'), DIR defaulting to the policy's gate.state_dir, else .corral/ beside it, and
prints the change of corral.yaml that would allow it, as a diff:

  - a flow per (from, to) service pair with exactly the ports seen, never a zone or a range;
    connections to the Docker host become flows to 'host'
  - each learned destination under its identity's egress rule, as learned (a name, not a
    wildcard; --fold N folds N or more sibling names into '*.parent')

Each addition carries its evidence as a comment (count, first and last seen, an example
connection). Nothing the SSRF floor forbids is proposed: it is listed as left out, with why.
Connections enforced zones refused are not proposed: only what observe mode let through.

--apply writes the change into the policy file, keeping every comment and line of yours, after
checking that the result loads. Without a policy file, prints the learned egress as YAML.
Exit 0 with a change (or --apply done), 1 when there is nothing to propose.`,
  async run(args, ctx) {
    const { values, positionals } = parseCommandArgs(
      "policy",
      args,
      {
        policy: { type: "string", short: "p", default: "corral.yaml" },
        state: { type: "string" },
        fold: { type: "string" },
        apply: { type: "boolean", default: false },
        format: { type: "string", default: "diff" },
      },
      true,
    );
    if (positionals[0] !== "suggest" || positionals.length !== 1)
      throw new UsageError("expected a subcommand: corral policy suggest");
    if (!["diff", "json", "yaml"].includes(values.format))
      throw new UsageError(`--format ${values.format}: expected diff or json`);
    const fold = values.fold === undefined ? Number.POSITIVE_INFINITY : Number(values.fold);
    if (!(fold === Number.POSITIVE_INFINITY || (Number.isInteger(fold) && fold >= 2)))
      throw new UsageError("--fold must be an integer ≥ 2", "e.g. --fold 3");
    const policyFile = resolve(ctx.cwd, values.policy);
    const loaded = existsSync(policyFile) ? await loadPolicy(policyFile) : undefined;
    const stateDir = stateDirOf(loaded?.policy, policyFile, values.state, ctx.cwd);
    const learned = readLearned(stateDir);

    if (!loaded) {
      if (values.apply) throw new UsageError(`no policy at ${policyFile} to apply a change to`, "pass --policy FILE");
      if (values.format === "json") ctx.stdout.write(`${JSON.stringify(learned, null, 2)}\n`);
      else ctx.stdout.write(suggestYaml(learned, { minSiblings: fold, source: stateDir }));
      return Object.keys(learned).length === 0 ? EXIT.failed : EXIT.ok;
    }

    const { change, record, setAside, text } = computeSuggestion(loaded.policy, policyFile, stateDir, fold);
    if (setAside) ctx.warn(`corral policy suggest: warning: a damaged record was set aside: ${setAside}`);

    const nothing = change.flows.length === 0 && change.egress.length === 0;
    if (values.format === "json") {
      const { text: _text, ...rest } = change;
      ctx.stdout.write(`${JSON.stringify(rest, null, 2)}\n`);
    } else if (values.apply) {
      if (!nothing) {
        const tmp = `${policyFile}.corral-suggest`;
        writeFileSync(tmp, change.text);
        renameSync(tmp, policyFile);
      }
      ctx.stdout.write(
        nothing
          ? "nothing to add: every observed connection and learned destination is allowed already\n"
          : `${policyFile}: added ${change.flows.length} flow${change.flows.length === 1 ? "" : "s"} and ${change.egress.length} egress destination${change.egress.length === 1 ? "" : "s"}\n`,
      );
    } else if (!nothing) {
      ctx.stdout.write(suggestionDiff(values.policy, text, change.text));
    } else ctx.stdout.write("nothing to add: every observed connection and learned destination is allowed already\n");
    for (const l of change.left) ctx.stderr.write(`corral policy suggest: left out ${l.what}: ${l.why}\n`);
    if (record.overflow > 0)
      ctx.warn(
        `corral policy suggest: warning: ${record.overflow} observed pairs were past the record's limit and are not shown`,
      );
    return nothing ? EXIT.failed : EXIT.ok;
  },
};
