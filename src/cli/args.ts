// Thin wrapper over node:util parseArgs so every command reports bad flags the same way.
import { type ParseArgsConfig, parseArgs } from "node:util";
import { UsageError } from "./command.ts";

type Options = NonNullable<ParseArgsConfig["options"]>;

export function parseCommandArgs<T extends Options>(
  command: string,
  args: string[],
  options: T,
  allowPositionals = false,
) {
  try {
    return parseArgs({
      args,
      // --quiet is global (main reads it); accepted here so it may follow the command's own flags.
      options: { quiet: { type: "boolean", short: "q" }, ...options, help: { type: "boolean", short: "h" } },
      allowPositionals,
      strict: true,
    });
  } catch (err) {
    throw new UsageError((err as Error).message, `run 'corral ${command} --help' for the options`);
  }
}
