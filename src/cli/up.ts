// `corral up`: the one documented way to a contained, running, verified stack. It is the other
// commands in order, run in-process so each behaves exactly as when typed: compile the overlay,
// follow the engine with `enforce` while `docker compose up` starts the containers (so none runs a
// moment without its rules, and healthchecks that need a declared flow pass), then prove the
// result with `verify --live`. The rules stay loaded afterwards; keeping them in step from then on
// is the systemd unit's job (docs/enforce.md).
import { execFile } from "node:child_process";
import { join, resolve } from "node:path";
import { promisify } from "node:util";
import { parseCommandArgs } from "./args.ts";
import type { Command, CommandContext } from "./command.ts";
import { EXIT, UsageError } from "./command.ts";
import { COMMANDS } from "./registry.ts";

const run = promisify(execFile);

async function sub(name: string, args: string[], ctx: CommandContext): Promise<number> {
  const entry = COMMANDS.find((c) => c.name === name);
  if (!entry) throw new Error(`no command ${name}`);
  return (await entry.load()).run(args, ctx);
}

export const command: Command = {
  name: "up",
  summary: "compile, start the stack with the overlay, load the host rules, verify it live",
  help: `usage: corral up --policy corral.yaml -f docker-compose.yml [-f …] [--profile P]… [--project NAME]
                 [-o out/] [--gate-image REF] [--netns NAME] [--no-verify] [--wait-timeout SECONDS]

In order, each step as its own command does it:
  1. corral compile --target compose -o out/       (the overlay; the gate is built from Corral's Dockerfile)
     corral seal unlock                           (when the policy seals volumes; the stack stays down if one fails)
  2. corral enforce                                (follows the engine while the stack starts)
  3. docker compose -f … -f out/compose.corral.yml up -d --wait
  4. corral verify --live                          (every cell on the running containers)
The host rules stay loaded. Keep them in step afterwards with the systemd unit (docs/enforce.md)
or 'corral enforce'. The engine is the one at $DOCKER_HOST (unix://), else /var/run/docker.sock.

--netns         the network namespace the engine runs in (an engine sealed in one)
--no-verify     skip step 4
--wait-timeout  seconds 'compose up --wait' may take (default 300)
Needs root (nft, nsenter). Exit codes: 0 up and verified, 1 a step failed or a cell differs, 2 bad input.`,
  async run(args, ctx) {
    const { values } = parseCommandArgs("up", args, {
      policy: { type: "string", short: "p", default: "corral.yaml" },
      file: { type: "string", short: "f", multiple: true },
      profile: { type: "string", multiple: true },
      project: { type: "string" },
      out: { type: "string", short: "o", default: "out" },
      "gate-image": { type: "string" },
      netns: { type: "string" },
      "no-verify": { type: "boolean", default: false },
      "wait-timeout": { type: "string", default: "300" },
    });
    const files = values.file ?? [];
    if (files.length === 0) throw new UsageError("no deployment file given", "pass -f docker-compose.yml");
    const wait = Number(values["wait-timeout"]);
    if (!(wait > 0))
      throw new UsageError(`--wait-timeout ${values["wait-timeout"]} is not a number of seconds`, "e.g. 300");
    const common = [
      "--policy",
      values.policy,
      ...files.flatMap((f) => ["-f", f]),
      ...(values.profile ?? []).flatMap((p) => ["--profile", p]),
    ];
    const project = values.project ? ["--project", values.project] : [];
    const netns = values.netns ? ["--netns", values.netns] : [];
    const step = (text: string) => ctx.stderr.write(`corral up: ${text}\n`);

    step(`compile → ${values.out}/compose.corral.yml`);
    const compiled = await sub(
      "compile",
      [
        ...common,
        "--target",
        "compose",
        "-o",
        values.out,
        ...(values["gate-image"] ? ["--gate-image", values["gate-image"]] : []),
      ],
      ctx,
    );
    if (compiled !== EXIT.ok) return compiled;

    // Sealed volumes first: a volume that cannot be unlocked keeps the stack down, never empty.
    const { loadPolicy } = await import("../policy/load.ts");
    const sealed = Object.keys((await loadPolicy(resolve(ctx.cwd, values.policy))).policy.seal?.volumes ?? {});
    if (sealed.length > 0) {
      step(`seal unlock ${sealed.join(" ")}`);
      const unlocked = await sub("seal", ["unlock", "-p", values.policy], ctx).catch((err: Error) => {
        ctx.stderr.write(`corral up: ${err.message}\n`);
        return EXIT.failed;
      });
      if (unlocked !== EXIT.ok) {
        step("a sealed volume could not be unlocked: the stack is not started (its services would have no data)");
        return EXIT.failed;
      }
    }

    // The follower runs beside `compose up` and stops with this command (or with Ctrl-C).
    const stopFollower = new AbortController();
    const stop = () => stopFollower.abort();
    ctx.stopSignal.addEventListener("abort", stop, { once: true });
    step("enforce: following the engine while the stack starts");
    const follower = sub("enforce", [...common, ...project, ...netns], { ...ctx, stopSignal: stopFollower.signal });
    try {
      const composeArgs = [
        "compose",
        ...(values.project ? ["-p", values.project] : []),
        ...(values.profile ?? []).flatMap((p) => ["--profile", p]),
        ...files.flatMap((f) => ["-f", resolve(ctx.cwd, f)]),
        "-f",
        resolve(ctx.cwd, join(values.out, "compose.corral.yml")),
        "up",
        "-d",
        "--wait",
        "--wait-timeout",
        String(wait),
      ];
      step(`docker ${composeArgs.join(" ")}`);
      try {
        const r = await run("docker", composeArgs, {
          cwd: ctx.cwd,
          env: { ...process.env, ...ctx.env },
          maxBuffer: 64 * 1024 * 1024,
          timeout: (wait + 600) * 1000,
        });
        if (r.stderr.trim()) ctx.stderr.write(`${r.stderr.trimEnd()}\n`);
      } catch (err) {
        const e = err as { stderr?: string; message: string };
        ctx.stderr.write(`${(e.stderr ?? e.message).trimEnd()}\ncorral up: docker compose up failed\n`);
        return EXIT.failed;
      }
      if (values["no-verify"]) return EXIT.ok;
      step("verify --live");
      return await sub("verify", ["--live", ...common, ...project, ...netns], ctx);
    } finally {
      stopFollower.abort();
      ctx.stopSignal.removeEventListener("abort", stop);
      const code = await follower;
      if (code !== EXIT.ok) step(`the follower stopped with exit ${code}`);
      step("host rules loaded; keep them in step with the systemd unit (docs/enforce.md) or 'corral enforce'");
    }
  },
};
