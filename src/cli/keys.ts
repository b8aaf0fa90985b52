// `corral keys serve`: the key service for sealed volumes, run on another machine.
import { resolve } from "node:path";
import { startKeyService } from "../seal/key-service.ts";
import { parseCommandArgs } from "./args.ts";
import { type Command, EXIT, UsageError } from "./command.ts";
import { hostPortFlag } from "./host-port-flag.ts";

const HELP = `usage: corral keys serve --listen ADDR --state DIR

The key service for sealed volumes (corral seal), on another machine than the data. It keeps
each volume's keys by version in DIR/keys.json (0600) and hands a key only to a caller with the
bearer token (DIR/token), sealed to the caller's one-time X25519 key and signed with its own
Ed25519 identity (DIR/identity.pub, which hosts pin as seal.key_service.key). Both are made at
first start. Each request is one line on stdout; keys never are.

exit codes: 0 stopped, 2 usage or input error, 70 internal error
`;

const OPTIONS = { listen: { type: "string" }, state: { type: "string" } } as const;

export const command: Command = {
  name: "keys",
  summary: "the key service for sealed volumes (corral keys serve)",
  help: HELP,
  async run(args, ctx) {
    const { values, positionals } = parseCommandArgs("keys", args, OPTIONS, true);
    if (positionals[0] !== "serve" || positionals.length > 1)
      throw new UsageError("which keys subcommand?", "corral keys serve --listen ADDR --state DIR");
    if (!values.listen || !values.state)
      throw new UsageError(
        "serve needs --listen ADDR and --state DIR",
        "e.g. corral keys serve --listen 0.0.0.0:7390 --state /var/lib/corral-keys",
      );
    const state = resolve(ctx.cwd, values.state);
    const running = await startKeyService({
      listen: hostPortFlag("listen", values.listen, "0.0.0.0:7390"),
      stateDir: state,
      onEvent: (line) => ctx.stdout.write(`${new Date().toISOString()} ${line}\n`),
    });
    ctx.stdout.write(
      `key service listening on ${running.url}; ${running.created ? "made its identity and token; " : ""}` +
        `pin ${state}/identity.pub, give hosts ${running.tokenPath}\n`,
    );
    await new Promise<void>((r) => {
      if (ctx.stopSignal.aborted) r();
      ctx.stopSignal.addEventListener("abort", () => r(), { once: true });
    });
    await running.close();
    return EXIT.ok;
  },
};
