import { writeFile } from "node:fs/promises";
import { resolve } from "node:path";
import { policyJsonSchemaText } from "../policy/json-schema.ts";
import { parseCommandArgs } from "./args.ts";
import { type Command, EXIT } from "./command.ts";

export const command: Command = {
  name: "schema",
  summary: "print or write the policy's JSON Schema",
  help: `usage: corral schema [--out FILE]

Prints the JSON Schema of corral.yaml (draft-07), or writes it to FILE. Point your editor at it
with a first line of:  # yaml-language-server: $schema=./schema/corral.schema.json`,
  async run(args, ctx) {
    const { values } = parseCommandArgs("schema", args, { out: { type: "string", short: "o" } });
    const text = policyJsonSchemaText();
    if (values.out) await writeFile(resolve(ctx.cwd, values.out), text);
    else ctx.stdout.write(text);
    return EXIT.ok;
  },
};
