// Entry point: `corral <command> [options]`. The only place (with the command files) that
// reads argv or prints.
import { type CommandContext, EXIT } from "./command.ts";
import { createWarner } from "./diagnostics.ts";
import { exitCodeFor, formatError } from "./errors.ts";
import { packageVersion as version } from "./package-root.ts";
import { COMMANDS } from "./registry.ts";

function isQuiet(arg: string): boolean {
  return arg === "--quiet" || arg === "-q";
}

function usage(): string {
  const width = Math.max(...COMMANDS.map((c) => c.name.length));
  const lines = COMMANDS.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`);
  return [
    "usage: corral <command> [options]",
    "",
    "commands:",
    ...lines,
    "",
    "options: --help, --version, --quiet (-q: no warnings; errors still print)",
    "exit codes: 0 ok, 1 policy or findings failure, 2 usage or input error, 70 internal error (a bug: please report it)",
    "",
  ].join("\n");
}

export async function main(argv: string[], partial: Partial<CommandContext> = {}): Promise<number> {
  const stdout = partial.stdout ?? process.stdout;
  const stderr = partial.stderr ?? process.stderr;
  const env = partial.env ?? process.env;
  // --quiet may come before the command (`corral -q scan …`) or among its flags, never after
  // `--`: there it belongs to the program `corral run` starts.
  const leading = argv.findIndex((a) => !isQuiet(a));
  const [name, ...rest] = leading < 0 ? [] : argv.slice(leading);
  const own = rest.includes("--") ? rest.slice(0, rest.indexOf("--")) : rest;
  const quiet = leading > 0 || own.some(isQuiet);
  const ctx: CommandContext = {
    stdout,
    stderr,
    env,
    cwd: partial.cwd ?? process.cwd(),
    color: partial.color ?? (!env.NO_COLOR && Boolean((stdout as NodeJS.WriteStream).isTTY)),
    stopSignal: partial.stopSignal ?? new AbortController().signal,
    quiet,
    warn: createWarner(stderr, quiet),
  };
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
    if (own.includes("--help") || own.includes("-h")) {
      ctx.stdout.write(command.help.endsWith("\n") ? command.help : `${command.help}\n`);
      return EXIT.ok;
    }
    return await command.run(rest, ctx);
  } catch (err) {
    // Bad arguments, unreadable files and invalid policies all end here: nothing was applied.
    ctx.stderr.write(formatError(err, ctx.color));
    return exitCodeFor(err);
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
