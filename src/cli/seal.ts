// `corral seal init|unlock|lock|status|rekey [VOLUME...]`: the policy's sealed volumes.
import { readFileSync } from "node:fs";
import { dirname, isAbsolute, resolve } from "node:path";
import { loadPublicKey } from "../audit/keys.ts";
import { loadPolicy } from "../policy/load.ts";
import type { Policy } from "../policy/schema.ts";
import { FileKeySource } from "../seal/file-key.ts";
import { KeyServiceClient, type KeySource } from "../seal/key-client.ts";
import {
  type SealedVolume,
  type SealStatus,
  sealInit,
  sealLock,
  sealRekey,
  sealStatus,
  sealUnlock,
} from "../seal/volume.ts";
import { parseCommandArgs } from "./args.ts";
import { type Command, type CommandContext, EXIT, UsageError } from "./command.ts";

const HELP = `usage: corral seal <init|unlock|lock|status|rekey> [VOLUME...] [--policy corral.yaml]

Sealed volumes (the policy's seal: section): kept encrypted at rest with gocryptfs, their key
fetched from the key service (corral keys serve, on another machine) at unlock and held only in
memory (gocryptfs's). The overlay (corral compile) mounts <seal.dir>/<volume>/plain into the
service; that directory exists only while the volume is unlocked, so a locked volume keeps its
service from starting instead of giving it an empty plaintext directory.

  init     make the cipher directory and the volume's key (at the key service)
  unlock   fetch the key, mount the plaintext view
  lock     unmount it (stop the services using it first)
  status   initialized, unlocked, key custody and version, per volume
  rekey    a new key version opens the volume (the data is not rewritten)

Without VOLUME: every volume in the policy. --format json for status.

exit codes: 0 ok, 1 a volume could not be unlocked / is locked (status), 2 usage or input
error (no key service, wrong key, …), 70 internal error
`;

const OPTIONS = { policy: { type: "string", short: "p" }, format: { type: "string" } } as const;

function sourceFor(policy: Policy, base: string, volume: string): KeySource {
  const abs = (p: string) => (isAbsolute(p) ? p : resolve(base, p));
  const v = policy.seal?.volumes[volume];
  if (v?.key_file) return new FileKeySource(abs(v.key_file));
  const ks = policy.seal?.key_service;
  if (!ks) throw new UsageError(`sealed volume ${volume} has no key source`, "add seal.key_service to the policy");
  let token: string;
  try {
    token = readFileSync(abs(ks.token), "utf8").trim();
  } catch (err) {
    throw new UsageError(`cannot read the key service token ${abs(ks.token)}: ${(err as Error).message}`);
  }
  return new KeyServiceClient(ks.url, loadPublicKey(abs(ks.key)), token);
}

function statusLine(s: SealStatus): string {
  const state = !s.initialized ? "not initialized" : s.unlocked ? "unlocked" : "locked";
  const weak = s.custody === "local file" ? " (WEAKER: the key is on this host)" : "";
  return `${s.name}: ${state}; key from the ${s.custody}${weak}${s.version ? `, version ${s.version}` : ""}; ${s.cipher}`;
}

async function audit(policy: Policy, policyFile: string, ctx: CommandContext, data: Record<string, unknown>) {
  if (!policy.audit) return;
  const { AuditReporter } = await import("../audit/remote.ts");
  const { auditOptionsFromPolicy } = await import("../audit/options.ts");
  const { findAdminToken } = await import("../gate/admin-token.ts");
  const { httpUrlOf } = await import("../policy/host-port.ts");
  const reporter = new AuditReporter({
    adminUrl: httpUrlOf(policy.gate.listen.admin),
    token: findAdminToken(
      ctx.env,
      policy.gate.state_dir ? resolve(dirname(policyFile), policy.gate.state_dir) : undefined,
    ),
    direct: auditOptionsFromPolicy(policy.audit, dirname(policyFile)),
    warn: (m) => ctx.warn(`corral seal: warning: ${m}`),
  });
  await reporter.record("seal", "corral", data);
  await reporter.close();
}

export const command: Command = {
  name: "seal",
  summary: "encrypt data volumes at rest, their key from another machine",
  help: HELP,
  async run(args, ctx) {
    const { values, positionals } = parseCommandArgs("seal", args, OPTIONS, true);
    const [sub, ...names] = positionals;
    const actions = { init: sealInit, unlock: sealUnlock, lock: sealLock, rekey: sealRekey, status: sealStatus };
    if (!sub || !(sub in actions))
      throw new UsageError(
        sub ? `unknown seal subcommand '${sub}'` : "which seal subcommand?",
        "init, unlock, lock, status or rekey",
      );
    const file = resolve(ctx.cwd, values.policy ?? "corral.yaml");
    const { policy } = await loadPolicy(file);
    const base = dirname(file);
    const all = Object.keys(policy.seal?.volumes ?? {});
    if (all.length === 0) throw new UsageError(`${file} seals no volume`, "add seal.volumes: { pgdata: {} }");
    for (const n of names)
      if (!all.includes(n)) throw new UsageError(`${n} is not a sealed volume in ${file}`, `one of ${all.join(", ")}`);
    const dir = resolve(base, policy.seal!.dir);
    let failed = false;
    const statuses: SealStatus[] = [];
    for (const name of names.length > 0 ? names : all) {
      const volume: SealedVolume = { name, dir, source: sourceFor(policy, base, name) };
      try {
        const s = await actions[sub as keyof typeof actions](volume);
        statuses.push(s);
        if (sub !== "status") {
          await audit(policy, file, ctx, {
            action: sub,
            volume: name,
            ok: true,
            custody: s.custody,
            ...(s.version ? { version: s.version } : {}),
          });
          ctx.stdout.write(`${statusLine(s)}\n`);
        } else if (!s.unlocked) failed = true;
      } catch (err) {
        if (sub !== "status")
          await audit(policy, file, ctx, {
            action: sub,
            volume: name,
            ok: false,
            error: (err as Error).message.slice(0, 300),
          });
        throw err;
      }
    }
    if (sub === "status") {
      if (values.format === "json") ctx.stdout.write(`${JSON.stringify(statuses, null, 2)}\n`);
      else for (const s of statuses) ctx.stdout.write(`${statusLine(s)}\n`);
    }
    return failed ? EXIT.failed : EXIT.ok;
  },
};
