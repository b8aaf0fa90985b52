// `corral approve <id> [--for 1h]` and `corral deny <id>`: talk to a running gate's admin API.
import { existsSync } from "node:fs";
import { resolve } from "node:path";
import { GateAdminClient, GateAdminError } from "../gate/admin/client.ts";
import { APPROVAL_ID, type ApprovalRecord } from "../gate/admin/schemas.ts";
import { ADMIN_TOKEN_ENV, findAdminToken } from "../gate/admin-token.ts";
import { httpUrlOf } from "../policy/host-port.ts";
import { loadPolicy } from "../policy/load.ts";
import { durationMs } from "../policy/units.ts";
import { parseCommandArgs } from "./args.ts";
import { type Command, type CommandContext, EXIT, UsageError } from "./command.ts";
import { hostPortFlag } from "./host-port-flag.ts";

async function adminTarget(
  values: { admin?: string; policy: string; state?: string },
  ctx: CommandContext,
): Promise<{ admin: string; token: string | undefined }> {
  const policyFile = resolve(ctx.cwd, values.policy);
  // With --admin the policy is optional: it is read only for the state dir (the token file).
  const loaded = !values.admin || existsSync(policyFile) ? await loadPolicy(policyFile) : undefined;
  const stateDir = values.state ?? loaded?.policy.gate.state_dir;
  const token = findAdminToken(ctx.env, stateDir ? resolve(ctx.cwd, stateDir) : undefined);
  const admin = httpUrlOf(
    values.admin !== undefined ? hostPortFlag("admin", values.admin) : loaded!.policy.gate.listen.admin,
  );
  return { admin, token };
}

function make(verb: "approve" | "deny"): Command {
  const help =
    verb === "approve"
      ? `usage: corral approve <id> [--for 1h] [--admin HOST:PORT | --policy corral.yaml] [--format text|json]

Approves a pending egress request (opened by a rule with 'approval: ask') for a limited time.
The running gate allows that identity → destination until it expires; the decision log and the
audit log record who approved it. Exit 0 ok, 1 when the gate refused, 2 usage error.`
      : `usage: corral deny <id> [--admin HOST:PORT | --policy corral.yaml] [--format text|json]

Denies a pending egress request (and revokes it if it was approved).`;
  const auth = `

The admin token: $${ADMIN_TOKEN_ENV}, else <state dir>/admin.token (--state DIR, default the
policy's gate.state_dir).`;
  return {
    name: verb,
    summary: verb === "approve" ? "approve a pending egress request for a while" : "deny a pending egress request",
    help: help + auth,
    async run(args, ctx) {
      const { values, positionals } = parseCommandArgs(
        verb,
        args,
        {
          for: { type: "string", default: "1h" },
          admin: { type: "string" },
          policy: { type: "string", short: "p", default: "corral.yaml" },
          format: { type: "string", default: "text" },
          actor: { type: "string" },
          state: { type: "string" },
        },
        true,
      );
      const id = positionals[0];
      if (!id || positionals.length !== 1 || !APPROVAL_ID.test(id))
        throw new UsageError(`expected one request id, e.g. corral ${verb} 3fa9c01b2e`);
      let forMs = 0;
      if (verb === "approve") {
        try {
          forMs = durationMs(values.for);
        } catch {
          throw new UsageError(`--for '${values.for}' is not a duration`, "use 30m, 1h, 8h");
        }
      }
      const { admin, token } = await adminTarget(values, ctx);
      const actor = values.actor ?? ctx.env.USER ?? "cli";
      const client = new GateAdminClient({ baseUrl: admin, token });
      let body: ApprovalRecord;
      try {
        body = verb === "approve" ? await client.approve(id, forMs, actor) : await client.deny(id, actor);
      } catch (err) {
        if (!(err instanceof GateAdminError)) throw err;
        if (err.status === undefined)
          throw new UsageError(err.message, "is 'corral gate' running? pass --admin HOST:PORT");
        const hint = err.status === 401 ? ` (set $${ADMIN_TOKEN_ENV} or pass --state <the gate's state dir>)` : "";
        ctx.stderr.write(`corral ${verb}: ${err.message}${hint}\n`);
        return EXIT.failed;
      }
      if (values.format === "json") ctx.stdout.write(`${JSON.stringify(body, null, 2)}\n`);
      else {
        const dest = `${body.name ?? body.ip}${body.port ? `:${body.port}` : ""}`;
        const until = body.expires !== undefined ? ` until ${new Date(body.expires).toISOString()}` : "";
        ctx.stdout.write(`${id}: ${body.identity} → ${dest} ${body.status}${until}\n`);
      }
      return EXIT.ok;
    },
  };
}

export const command = make("approve");
export const denyCommand = make("deny");
