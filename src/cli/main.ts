// Entry point: `corral <command> [options]`. The only place (with the command files) that
// reads argv or prints.
import { type CommandContext, EXIT } from "./command.ts";
import { formatError } from "./errors.ts";
import { packageVersion as version } from "./package-root.ts";
import { COMMANDS } from "./registry.ts";

function usage(): string {
  const width = Math.max(...COMMANDS.map((c) => c.name.length));
  const lines = COMMANDS.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`);
  return [
    "usage: corral <command> [options]",
    "",
    "commands:",
    ...lines,
    "",
    "options: --help, --version",
    "exit codes: 0 ok, 1 policy or findings failure, 2 usage or input error",
    "",
  ].join("\n");
}

export async function main(argv: string[], partial: Partial<CommandContext> = {}): Promise<number> {
  const stdout = partial.stdout ?? process.stdout;
  const env = partial.env ?? process.env;
  const ctx: CommandContext = {
    stdout,
    stderr: partial.stderr ?? process.stderr,
    env,
    cwd: partial.cwd ?? process.cwd(),
    color: partial.color ?? (!env.NO_COLOR && Boolean((stdout as NodeJS.WriteStream).isTTY)),
    stopSignal: partial.stopSignal ?? new AbortController().signal,
  };
  const [name, ...rest] = argv;
  if (!name || name === "--help" || name === "-h" || name === "help") {
    ctx.stdout.write(usage());
    return name ? EXIT.ok : EXIT.usage;
  }
  if (name === "--version" || name === "-V") {
    ctx.stdout.write(`${version()}\n`);
    return EXIT.ok;
  }
  const entry = COMMANDS.find((c) => c.name === name);
  if (!entry) {
    ctx.stderr.write(`corral: unknown command '${name}'\n${usage()}`);
    return EXIT.usage;
  }
  try {
    const command = await entry.load();
    // Only Corral's own arguments: after `--` they belong to the command being run.
    const own = rest.includes("--") ? rest.slice(0, rest.indexOf("--")) : rest;
    if (own.includes("--help") || own.includes("-h")) {
      ctx.stdout.write(command.help.endsWith("\n") ? command.help : `${command.help}\n`);
      return EXIT.ok;
    }
    return await command.run(rest, ctx);
  } catch (err) {
    ctx.stderr.write(formatError(err, ctx.color));
    // Bad arguments, unreadable files and invalid policies all end here: nothing was applied.
    return EXIT.usage;
  }
}

if (import.meta.main) {
  const controller = new AbortController();
  const stop = () => controller.abort();
  process.once("SIGINT", stop);
  process.once("SIGTERM", stop);
  main(process.argv.slice(2), { stopSignal: controller.signal }).then((code) => {
    process.exitCode = code;
  });
}
