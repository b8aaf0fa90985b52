// `corral audit keygen | verify | tail | query | export`: the tamper-evident audit log.
import { dirname, resolve } from "node:path";
import {
  type AuditPolicySection,
  type AuditRecord,
  auditOptionsFromPolicy,
  endPosition,
  followRecords,
  generateSigningKey,
  isInside,
  lastRecords,
  loadPublicKey,
  parseTimeSpec,
  type RecordFilter,
  readRecords,
  recordMatcher,
  toEcs,
  type VerifyReport,
  verifyLogDir,
} from "../audit/index.ts";
import { loadPolicy } from "../policy/load.ts";
import { paint } from "../report/paint.ts";
import { parseCommandArgs } from "./args.ts";
import { type Command, type CommandContext, EXIT, UsageError } from "./command.ts";

const HELP = `usage: corral audit <subcommand> [options]

The audit log: hash-chained JSON-lines segments with Ed25519-signed checkpoints.

subcommands:
  keygen  --key PATH [--dir DIR] [--force]
                                       create the checkpoint signing key (0600) and PATH.pub
                                       (refused inside DIR, the log directory, when given)
  verify  [--strict]                   prove the log untouched; reports the first bad record
  tail    [-n N] [--follow]            print the newest records (and new ones as they come)
  query   [--since T] [--until T] [--kind K]... [--identity I]
  export  --format ecs|json [filters]  records as ECS (Elastic Common Schema) JSON lines

options:
  --dir DIR        the log directory
  --key PATH       verify: the public key (PATH.pub, or PATH with PATH.pub beside it)
  --policy FILE    take --dir and --key from the policy's audit: section
  --format F       verify: text|json; tail/query: text|json|ecs; export: ecs|json
  --since/--until  ISO time (2026-11-25T08:00:00Z) or a duration ago (90s, 15m, 1h, 2d)
  --kind K         gate.decision, gate.alert, gate.aggregate, sandbox.run, policy.load,
                   approval, login, audit.note (repeatable)
  --identity I     actor identity, '*' wildcards allowed (agents/*)
  --strict         verify: also exit 1 when records after the last checkpoint are unverified

exit codes: 0 valid / ok, 1 tampered (or unverified with --strict), 2 usage or input error,
70 internal error
`;

const OPTIONS = {
  dir: { type: "string" },
  key: { type: "string" },
  policy: { type: "string" },
  format: { type: "string" },
  force: { type: "boolean" },
  strict: { type: "boolean" },
  n: { type: "string", short: "n" },
  follow: { type: "boolean", short: "f" },
  since: { type: "string" },
  until: { type: "string" },
  kind: { type: "string", multiple: true },
  identity: { type: "string" },
} as const;

type Values = ReturnType<typeof parseCommandArgs<typeof OPTIONS>>["values"];

/**
 * Wiring point for the lead: the `audit:` section of a policy file. It imports the policy loader
 * lazily (and untyped) so this command compiles before src/policy/load.ts exists; once it does,
 * replace this with a static `import { loadPolicy } from "../policy/load.ts"` and `policy.audit`.
 */
export async function auditSectionFromPolicyFile(file: string): Promise<AuditPolicySection> {
  const { policy } = await loadPolicy(file);
  if (!policy.audit)
    throw new UsageError(`${file} has no audit: section`, "add `audit: { path: ..., checkpoint: { key: ... } }`");
  return policy.audit;
}

async function location(v: Values, ctx: CommandContext): Promise<{ dir: string; key: string | undefined }> {
  let dir = v.dir ? resolve(ctx.cwd, v.dir) : undefined;
  let key = v.key ? resolve(ctx.cwd, v.key) : undefined;
  if (v.policy) {
    const file = resolve(ctx.cwd, v.policy);
    const opts = auditOptionsFromPolicy(await auditSectionFromPolicyFile(file), dirname(file));
    dir ??= opts.dir;
    key ??= opts.keyPath;
  }
  if (!dir) throw new UsageError("which log? --dir DIR (or --policy FILE) is required");
  return { dir, key };
}

function formatOf(v: Values, allowed: string[], fallback: string): string {
  const f = v.format ?? fallback;
  if (!allowed.includes(f)) throw new UsageError(`--format ${f} is not one of ${allowed.join(", ")}`);
  return f;
}

function filterOf(v: Values): RecordFilter {
  const now = new Date();
  const filter: RecordFilter = {};
  if (v.since) filter.since = parseTimeSpec(v.since, now, "since");
  if (v.until) filter.until = parseTimeSpec(v.until, now, "until");
  if (v.kind) filter.kinds = v.kind.flatMap((k) => k.split(",")).filter(Boolean);
  if (v.identity) filter.identity = v.identity;
  return filter;
}

function dataText(data: AuditRecord["data"]): string {
  return Object.entries(data)
    .map(([k, val]) => `${k}=${typeof val === "string" ? val : JSON.stringify(val)}`)
    .join(" ");
}

function printer(format: string, ctx: CommandContext): (r: AuditRecord) => void {
  if (format === "json") return (r) => ctx.stdout.write(`${JSON.stringify(r)}\n`);
  if (format === "ecs") return (r) => ctx.stdout.write(`${JSON.stringify(toEcs(r))}\n`);
  return (r) => {
    const denied = r.data.decision === "deny" || r.kind === "gate.alert";
    const kind = paint(r.kind.padEnd(14), denied ? "red" : "blue", ctx.color);
    const who = r.actor.ip ? `${r.actor.identity}@${r.actor.ip}` : r.actor.identity;
    ctx.stdout.write(`${paint(r.time, "gray", ctx.color)} #${r.seq} ${kind} ${who} ${dataText(r.data)}\n`);
  };
}

async function keygen(v: Values, ctx: CommandContext): Promise<number> {
  if (!v.key) throw new UsageError("keygen needs --key PATH", "e.g. corral audit keygen --key /etc/corral/audit.key");
  const path = resolve(ctx.cwd, v.key);
  if (v.dir && isInside(path, resolve(ctx.cwd, v.dir)))
    throw new UsageError(`--key ${path} is inside the log directory ${v.dir}`, "keep the signing key outside it");
  const { key, pub } = generateSigningKey(path, { force: v.force ?? false });
  ctx.stdout.write(`wrote ${key} (private, 0600) and ${pub} (public)\n`);
  ctx.stdout.write("keep the private key outside the log directory; verify needs only the .pub\n");
  return EXIT.ok;
}

const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? "" : "s"}`;

export function verifyText(dir: string, r: VerifyReport, color: boolean): string {
  const out: string[] = [];
  if (r.problem) {
    const p = r.problem;
    const where = p.line > 0 ? `${p.file}:${p.line}` : p.file;
    out.push(`audit log ${dir}: ${paint("TAMPERED", "red", color)}`);
    out.push(`  first bad record: ${where}${p.seq > 0 ? ` seq ${p.seq}` : ""}: ${p.message}`);
    out.push(`  intact before it: ${plural(r.records, "record")}; ${plural(r.checkpoints, "valid signed checkpoint")}`);
  } else {
    const cp = r.lastCheckpoint;
    const signed = cp ? `signed through seq ${cp.seq} (checkpoint ${cp.time}, key ${cp.key})` : "no signed checkpoint";
    if (r.unverified === 0 && cp) out.push(`audit log ${dir}: ${paint("valid", "green", color)}`);
    else if (cp) out.push(`audit log ${dir}: ${paint(`valid through seq ${cp.seq}`, "green", color)}`);
    else out.push(`audit log ${dir}: ${paint("nothing verified", "yellow", color)}`);
    out.push(`  ${plural(r.records, "record")} in ${plural(r.segments, "segment")}, ${signed}`);
    if (r.unverified > 0)
      out.push(
        `  ${paint(`unverified (${r.unverified} records after checkpoint at seq ${cp?.seq ?? 0})`, "yellow", color)}`,
      );
  }
  for (const n of r.notes) out.push(`  note: ${n}`);
  return `${out.join("\n")}\n`;
}

async function verify(v: Values, ctx: CommandContext): Promise<number> {
  const { dir, key } = await location(v, ctx);
  if (!key) throw new UsageError("verify needs --key PATH.pub (the public key written by keygen)");
  const format = formatOf(v, ["text", "json"], "text");
  const report = verifyLogDir(dir, loadPublicKey(key));
  if (format === "json") ctx.stdout.write(`${JSON.stringify({ dir, ...report }, null, 2)}\n`);
  else ctx.stdout.write(verifyText(dir, report, ctx.color));
  if (report.status === "tampered") return EXIT.failed;
  return v.strict && report.unverified > 0 ? EXIT.failed : EXIT.ok;
}

async function tail(v: Values, ctx: CommandContext): Promise<number> {
  const { dir } = await location(v, ctx);
  const n = v.n === undefined ? 10 : Number(v.n);
  if (!Number.isInteger(n) || n < 0) throw new UsageError(`-n ${v.n} is not a count`);
  const print = printer(formatOf(v, ["text", "json", "ecs"], "text"), ctx);
  const match = recordMatcher(filterOf(v));
  const from = await endPosition(dir);
  for (const r of await lastRecords(dir, n)) if (match(r)) print(r);
  if (!v.follow) return EXIT.ok;
  for await (const r of followRecords(dir, from, ctx.stopSignal)) if (match(r)) print(r);
  return EXIT.ok;
}

async function query(v: Values, ctx: CommandContext, formats: string[], fallback: string): Promise<number> {
  const { dir } = await location(v, ctx);
  const print = printer(formatOf(v, formats, fallback), ctx);
  const match = recordMatcher(filterOf(v));
  for await (const r of readRecords(dir)) if (match(r)) print(r);
  return EXIT.ok;
}

export const command: Command = {
  name: "audit",
  summary: "keygen, verify, tail, query and export the tamper-evident audit log",
  help: HELP,
  async run(args, ctx) {
    try {
      return await dispatch(args, ctx);
    } catch (err) {
      // The audit module's input errors (bad key, missing dir, bad time) are usage errors here.
      const e = err as Error & { hint?: string };
      if (AUDIT_INPUT_ERRORS.has(e?.name)) throw new UsageError(e.message, e.hint);
      if ((err as NodeJS.ErrnoException)?.code === "ENOENT" || (err as NodeJS.ErrnoException)?.code === "EACCES")
        throw new UsageError(e.message);
      throw err;
    }
  },
};

const AUDIT_INPUT_ERRORS = new Set([
  "AuditKeyError",
  "AuditDirError",
  "AuditLockError",
  "QueryError",
  "CanonicalError",
]);

async function dispatch(args: string[], ctx: CommandContext): Promise<number> {
  const { values, positionals } = parseCommandArgs("audit", args, OPTIONS, true);
  const [sub, ...extra] = positionals;
  if (extra.length > 0) throw new UsageError(`unexpected argument '${extra[0]}'`);
  switch (sub) {
    case "keygen":
      return keygen(values, ctx);
    case "verify":
      return verify(values, ctx);
    case "tail":
      return tail(values, ctx);
    case "query":
      return query(values, ctx, ["text", "json", "ecs"], "text");
    case "export":
      if (!values.format) throw new UsageError("export needs --format ecs (or json)");
      return query(values, ctx, ["ecs", "json"], "ecs");
    default:
      throw new UsageError(
        sub ? `unknown audit subcommand '${sub}'` : "which audit subcommand?",
        "one of keygen, verify, tail, query, export (corral audit --help)",
      );
  }
}
