// `corral audit keygen | verify | tail | query | export`: the tamper-evident audit log.
import { dirname, join, resolve } from "node:path";
import { loadWitnessKey } from "../audit/anchor-config.ts";
import { copyEvidence, witnessEvidence } from "../audit/anchor-evidence.ts";
import { type AnchorEvidence, type AnchorVerdict, anchoredSizes, judgeAnchors } from "../audit/anchor-verify.ts";
import { DEFAULT_ORIGIN, noteKeyOf } from "../audit/checkpoint.ts";
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
  openAuditLog,
  parseTimeSpec,
  type RecordFilter,
  readRecords,
  recordMatcher,
  toEcs,
  type VerifyReport,
  verifyLogDir,
} from "../audit/index.ts";
import { toOcsf } from "../audit/ocsf.ts";
import type { AuditSinkOptions } from "../audit/options.ts";
import type { NoteKey } from "../audit/signed-note.ts";
import { startWitness } from "../audit/witness-server.ts";
import { WITNESS_PUB_FILE } from "../audit/witness-state.ts";
import { loadPolicy } from "../policy/load.ts";
import { paint } from "../report/paint.ts";
import { parseCommandArgs } from "./args.ts";
import { type Command, type CommandContext, EXIT, UsageError } from "./command.ts";
import { hostPortFlag } from "./host-port-flag.ts";

const HELP = `usage: corral audit <subcommand> [options]

The audit log: hash-chained JSON-lines segments with Ed25519-signed checkpoints.

subcommands:
  keygen  --key PATH [--dir DIR] [--force]
                                       create the checkpoint signing key (0600) and PATH.pub
                                       (refused inside DIR, the log directory, when given)
  verify  [--strict] [--witness URL[=KEY]]... [--anchor-copy FILE]...
                                       prove the log untouched; reports the first bad record;
                                       with witnesses (or the policy's audit.witnesses) or
                                       copies of the anchored checkpoints, also that nothing
                                       was cut from its end, deleted or re-signed
  prune   --key PRIVATE (--keep-segments N | --before SEQ) [--force]
                                       retention: replace the oldest whole segments with a
                                       signed summary (verify goes on from it); never past
                                       what the policy's witnesses have cosigned (--force)
  witness --listen ADDR --state DIR --log [ORIGIN=]PUB... [--name NAME]
                                       run a witness (on another machine): cosigns each log's
                                       checkpoints only when proven consistent with the last;
                                       its key is made in DIR at first start (DIR/witness.pub)
  tail    [-n N] [--follow]            print the newest records (and new ones as they come)
  query   [--since T] [--until T] [--kind K]... [--identity I]
  export  --format ecs|ocsf|json [filters]
                                       records as ECS (Elastic Common Schema) or OCSF 1.3
                                       JSON lines

options:
  --dir DIR        the log directory
  --key PATH       verify: the public key (PATH.pub, or PATH with PATH.pub beside it)
  --policy FILE    take --dir and --key from the policy's audit: section
  --format F       verify: text|json; tail/query: text|json|ecs|ocsf; export: ecs|ocsf|json
  --since/--until  ISO time (2026-11-25T08:00:00Z) or a duration ago (90s, 15m, 1h, 2d)
  --kind K         gate.decision, gate.alert, gate.aggregate, sandbox.run, policy.load,
                   approval, login, audit.note (repeatable)
  --identity I     actor identity, '*' wildcards allowed (agents/*)
  --strict         verify: also exit 1 when records after the last checkpoint are unverified,
                   or (with anchors) not yet anchored
  --witness URL[=KEY]  verify: a witness and its witness.pub (KEY may come from the policy)
  --anchor-copy FILE   verify: a copy of the checkpoint lines a syslog server or webhook kept
  --origin O       the log's checkpoint origin (default: the policy's audit.origin, else
                   ${DEFAULT_ORIGIN})
  --listen ADDR    witness: where to listen (e.g. 0.0.0.0:7380)
  --state DIR      witness: its key and state
  --log [ORIGIN=]PUB   witness: a log it serves, by origin and checkpoint public key
  --name NAME      witness: its key name (default corral-witness)
  --keep-segments N    prune: keep the newest N segments (default 1: only the active one)
  --before SEQ     prune: only segments whose records all come before SEQ

exit codes: 0 valid / ok, 1 tampered (or unverified with --strict), 2 usage or input error
(or no anchor given could be consulted), 70 internal error
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
  witness: { type: "string", multiple: true },
  "anchor-copy": { type: "string", multiple: true },
  origin: { type: "string" },
  listen: { type: "string" },
  state: { type: "string" },
  log: { type: "string", multiple: true },
  name: { type: "string" },
  "keep-segments": { type: "string" },
  before: { type: "string" },
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

interface Location {
  dir: string;
  key: string | undefined;
  fromPolicy: AuditSinkOptions | undefined;
}

async function location(v: Values, ctx: CommandContext): Promise<Location> {
  let dir = v.dir ? resolve(ctx.cwd, v.dir) : undefined;
  let key = v.key ? resolve(ctx.cwd, v.key) : undefined;
  let fromPolicy: AuditSinkOptions | undefined;
  if (v.policy) {
    const file = resolve(ctx.cwd, v.policy);
    fromPolicy = auditOptionsFromPolicy(await auditSectionFromPolicyFile(file), dirname(file));
    dir ??= fromPolicy.dir;
    key ??= fromPolicy.keyPath;
  }
  if (!dir) throw new UsageError("which log? --dir DIR (or --policy FILE) is required");
  return { dir, key, fromPolicy };
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
  if (format === "ocsf") return (r) => ctx.stdout.write(`${JSON.stringify(toOcsf(r))}\n`);
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

function witnessesOf(v: Values, ctx: CommandContext, loc: Location): { url: string; keyPath: string }[] {
  const configured = loc.fromPolicy?.witnesses ?? [];
  if (!v.witness) return configured.map((w) => ({ url: w.url, keyPath: w.key }));
  return v.witness.map((spec) => {
    const eq = spec.indexOf("=");
    const url = (eq < 0 ? spec : spec.slice(0, eq)).replace(/\/+$/, "");
    if (!/^https?:\/\/[^/\s]+$/.test(url))
      throw new UsageError(
        `--witness ${spec}: not a witness URL`,
        "e.g. --witness http://witness.example:7380=witness.pub",
      );
    if (eq >= 0) return { url, keyPath: resolve(ctx.cwd, spec.slice(eq + 1)) };
    const known = configured.find((w) => w.url.replace(/\/+$/, "") === url);
    if (!known) throw new UsageError(`--witness ${url}: which key?`, `give it as --witness ${url}=PATH/witness.pub`);
    return { url, keyPath: known.key };
  });
}

function anchorText(verdict: AnchorVerdict, lastSeq: number, color: boolean): string {
  const out: string[] = [];
  const head =
    verdict.status === "tampered"
      ? paint("TAMPERED", "red", color)
      : verdict.status === "unchecked"
        ? paint("not checked (no anchor answered)", "yellow", color)
        : verdict.anchoredSize > 0
          ? paint(`anchored through seq ${verdict.anchoredSize}`, "green", color)
          : paint("nothing anchored yet", "yellow", color);
  out.push(`off-host anchors: ${head}`);
  for (const f of verdict.findings) {
    const range = f.range ? ` [seq ${f.range.from}..${f.range.to}]` : "";
    const mark = f.status === "tampered" ? paint("TAMPERED", "red", color) : f.status;
    out.push(`  ${f.source}: ${mark}${range}: ${f.message}`);
  }
  if (verdict.status !== "tampered" && verdict.unanchored > 0)
    out.push(
      `  ${paint(`not yet anchored: ${plural(verdict.unanchored, "record")} (seq ${verdict.anchoredSize + 1}..${lastSeq})`, "yellow", color)}`,
    );
  return `${out.join("\n")}\n`;
}

async function verify(v: Values, ctx: CommandContext): Promise<number> {
  const loc = await location(v, ctx);
  if (!loc.key) throw new UsageError("verify needs --key PATH.pub (the public key written by keygen)");
  const format = formatOf(v, ["text", "json"], "text");
  const publicKey = loadPublicKey(loc.key);
  const origin = v.origin ?? loc.fromPolicy?.origin ?? DEFAULT_ORIGIN;
  const logKey = noteKeyOf(origin, publicKey);
  const evidence: AnchorEvidence[] = [
    ...(await Promise.all(
      witnessesOf(v, ctx, loc).map((w) => witnessEvidence(w.url, loadWitnessKey(w.keyPath), origin)),
    )),
    ...(v["anchor-copy"] ?? []).map((f) => copyEvidence(resolve(ctx.cwd, f), logKey)),
  ];
  const report = verifyLogDir(loc.dir, publicKey, {
    rootsAt: anchoredSizes(evidence, logKey),
    allowMissing: evidence.length > 0,
  });
  const verdict = evidence.length > 0 ? judgeAnchors(evidence, logKey, report) : undefined;
  if (!verdict)
    report.notes.push(
      "no witness or anchor copy: removing the newest records together with their checkpoints, or the whole log, cannot be detected (configure audit.witnesses, or pass --witness / --anchor-copy)",
    );
  if (format === "json")
    ctx.stdout.write(`${JSON.stringify({ dir: loc.dir, ...report, anchors: verdict }, null, 2)}\n`);
  else {
    ctx.stdout.write(verifyText(loc.dir, report, ctx.color));
    if (verdict) ctx.stdout.write(anchorText(verdict, report.lastSeq, ctx.color));
  }
  if (report.status === "tampered" || verdict?.status === "tampered") return EXIT.failed;
  if (verdict?.status === "unchecked") return EXIT.usage;
  if (v.strict && (report.unverified > 0 || (verdict?.unanchored ?? 0) > 0)) return EXIT.failed;
  return EXIT.ok;
}

async function witness(v: Values, ctx: CommandContext): Promise<number> {
  if (!v.listen || !v.state)
    throw new UsageError(
      "witness needs --listen ADDR and --state DIR",
      "e.g. corral audit witness --listen 0.0.0.0:7380 --state /var/lib/corral-witness --log corral.example/audit=audit.key.pub",
    );
  if (!v.log?.length)
    throw new UsageError(
      "which logs does this witness serve? --log [ORIGIN=]PATH.pub (repeatable)",
      "the public key written by 'corral audit keygen' on the log's host",
    );
  const logs = new Map<string, NoteKey>();
  for (const spec of v.log) {
    const eq = spec.indexOf("=");
    const origin = eq < 0 ? DEFAULT_ORIGIN : spec.slice(0, eq);
    if (!/^[^\s+]+$/.test(origin)) throw new UsageError(`--log ${spec}: origin '${origin}' has spaces or '+'`);
    if (logs.has(origin))
      throw new UsageError(`--log: origin ${origin} given twice`, "give each log its own audit.origin");
    logs.set(origin, noteKeyOf(origin, loadPublicKey(resolve(ctx.cwd, eq < 0 ? spec : spec.slice(eq + 1)))));
  }
  const name = v.name ?? "corral-witness";
  const stateDir = resolve(ctx.cwd, v.state);
  const running = await startWitness({
    listen: hostPortFlag("listen", v.listen, "0.0.0.0:7380"),
    stateDir,
    logs,
    name,
    onEvent: (line) => ctx.stdout.write(`${new Date().toISOString()} ${line}\n`),
  });
  ctx.stdout.write(
    `witness ${name} listening on ${running.url} for ${[...logs.keys()].join(", ")}\n` +
      `${running.created ? "made its key; " : ""}verifier key (${join(stateDir, WITNESS_PUB_FILE)}): ${running.verifierKey}\n`,
  );
  await new Promise<void>((r) => {
    if (ctx.stopSignal.aborted) r();
    ctx.stopSignal.addEventListener("abort", () => r(), { once: true });
  });
  await running.close();
  return EXIT.ok;
}

async function prune(v: Values, ctx: CommandContext): Promise<number> {
  const loc = await location(v, ctx);
  if (!loc.key) throw new UsageError("prune needs --key PATH (the private checkpoint key: the summary is signed)");
  const count = (flag: string, value: string | undefined) => {
    if (value === undefined) return undefined;
    const n = Number(value);
    if (!Number.isSafeInteger(n) || n < 1) throw new UsageError(`--${flag} ${value} is not a positive count`);
    return n;
  };
  const keepSegments = count("keep-segments", v["keep-segments"]);
  const beforeSeq = count("before", v.before);
  if (keepSegments === undefined && beforeSeq === undefined)
    throw new UsageError("how much to prune? --keep-segments N or --before SEQ");
  // What the witnesses hold is the floor of what may go: pruning never drops unanchored records.
  let maxSeq: number | undefined;
  const witnesses = witnessesOf(v, ctx, loc);
  if (witnesses.length > 0 && !v.force) {
    const origin = v.origin ?? loc.fromPolicy?.origin ?? DEFAULT_ORIGIN;
    const logKey = noteKeyOf(origin, loadPublicKey(loc.key));
    const evidence = await Promise.all(witnesses.map((w) => witnessEvidence(w.url, loadWitnessKey(w.keyPath), origin)));
    const down = evidence.find((e) => e.error);
    if (down)
      throw new UsageError(`cannot ask ${down.source} what it cosigned: ${down.error}`, "retry, or pass --force");
    maxSeq = Math.min(...evidence.map((e) => anchoredSizes([e], logKey)[0] ?? 0));
  }
  // Through a writer of our own: its lock keeps the gate out while segments move.
  const log = await openAuditLog({ dir: loc.dir, keyPath: loc.key, fsync: "record", checkpointIntervalMs: 0 });
  let result: Awaited<ReturnType<typeof log.prune>>;
  try {
    result = await log.prune({
      ...(keepSegments !== undefined ? { keepSegments } : {}),
      ...(beforeSeq !== undefined ? { beforeSeq } : {}),
      ...(maxSeq !== undefined ? { maxSeq } : {}),
    });
  } finally {
    await log.close();
  }
  if (result.pruned.length === 0) ctx.stdout.write(`nothing pruned: ${result.why}\n`);
  else
    ctx.stdout.write(
      `pruned ${plural(result.pruned.length, "segment")} (records ${result.pruned[0]!.first}..${result.firstSeq - 1}); ` +
        `the log now starts at seq ${result.firstSeq} under ${join(loc.dir, "summary.json")}\n`,
    );
  return EXIT.ok;
}

async function tail(v: Values, ctx: CommandContext): Promise<number> {
  const { dir } = await location(v, ctx);
  const n = v.n === undefined ? 10 : Number(v.n);
  if (!Number.isInteger(n) || n < 0) throw new UsageError(`-n ${v.n} is not a count`);
  const print = printer(formatOf(v, ["text", "json", "ecs", "ocsf"], "text"), ctx);
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
  "AnchorConfigError",
  "WitnessStateError",
  "HostPortError",
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
    case "witness":
      return witness(values, ctx);
    case "prune":
      return prune(values, ctx);
    case "query":
      return query(values, ctx, ["text", "json", "ecs", "ocsf"], "text");
    case "export":
      if (!values.format) throw new UsageError("export needs --format ecs, ocsf or json");
      return query(values, ctx, ["ecs", "ocsf", "json"], "ecs");
    default:
      throw new UsageError(
        sub ? `unknown audit subcommand '${sub}'` : "which audit subcommand?",
        "one of keygen, verify, witness, prune, tail, query, export (corral audit --help)",
      );
  }
}
