// The done-when cases of off-host anchoring, against a running witness at `url` (loopback in
// the unit test, another network namespace in the integration test): every way a host can
// rewrite its past after the witness cosigned it, and a healthy log while the witness is away.
// Each case returns what `corral audit verify --witness` said, for the test to judge.
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { AnchorSinkConfig } from "../audit/anchor-config.ts";
import { noteKeyOf } from "../audit/checkpoint.ts";
import { generateSigningKey, loadPublicKey } from "../audit/keys.ts";
import { openAuditSink } from "../audit/open.ts";
import type { NoteKey } from "../audit/signed-note.ts";
import type { AnchorReport } from "../audit/sink.ts";
import { type RunningWitness, startWitness } from "../audit/witness-server.ts";
import { runCli } from "./cli.ts";

export interface VerifyOutcome {
  code: number;
  json: {
    status: string;
    lastSeq: number;
    anchors?: {
      status: string;
      anchoredSize: number;
      unanchored: number;
      findings: { status: string; range?: { from: number; to: number }; message: string }[];
    };
  };
}

export interface Case {
  dir: string;
  key: string;
  pub: string;
}

export function newCase(root: string, name: string): Case {
  const base = join(root, name);
  mkdirSync(base, { recursive: true });
  const key = join(base, "audit.key");
  generateSigningKey(key);
  return { dir: join(base, "log"), key, pub: `${key}.pub` };
}

/** Writes `n` records (a checkpoint every `every`) with the witness configured; returns the anchor report at close. */
export async function writeRecords(
  c: Case,
  witness: { url: string; pub: string },
  n: number,
  opts: { every?: number; segmentRecords?: number; salt?: string; origin?: string; sinks?: AnchorSinkConfig[] } = {},
): Promise<AnchorReport | undefined> {
  const sink = await openAuditSink({
    dir: c.dir,
    keyPath: c.key,
    fsync: "none",
    checkpointEvery: opts.every ?? 10,
    checkpointIntervalMs: 0,
    ...(opts.segmentRecords ? { maxSegmentRecords: opts.segmentRecords } : {}),
    ...(opts.origin ? { origin: opts.origin } : {}),
    ...(witness.url ? { witnesses: [{ url: witness.url, key: witness.pub }] } : {}),
    ...(opts.sinks ? { anchorSinks: opts.sinks } : {}),
  });
  for (let i = 0; i < n; i++)
    await sink.record(
      "gate.decision",
      { identity: "agents/a", ip: "10.203.0.9" },
      {
        decision: "allow",
        host: `h${i}${opts.salt ?? ""}.example`,
        port: 443,
      },
    );
  await sink.close();
  return sink.anchors?.();
}

export async function verifyWith(
  c: Case,
  witness: { url: string; pub: string },
  extra: string[] = [],
): Promise<VerifyOutcome> {
  const r = await runCli([
    "audit",
    "verify",
    "--dir",
    c.dir,
    "--key",
    c.pub,
    "--witness",
    `${witness.url}=${witness.pub}`,
    "--format",
    "json",
    ...extra,
  ]);
  if (r.code === 70 || !r.out.trim().startsWith("{")) throw new Error(`verify failed: ${r.code} ${r.err}${r.out}`);
  return { code: r.code, json: JSON.parse(r.out) };
}

/** Keeps the first `keep` records and the checkpoints at or below them: what an attacker leaves. */
export function cutTail(c: Case, keep: number): void {
  const seg = join(c.dir, "segment-000001.jsonl");
  const lines = readFileSync(seg, "utf8").split("\n").filter(Boolean);
  writeFileSync(
    seg,
    lines
      .slice(0, keep)
      .map((l) => `${l}\n`)
      .join(""),
  );
  const cps = join(c.dir, "checkpoints.jsonl");
  const kept = readFileSync(cps, "utf8")
    .split("\n")
    .filter((l) => l && (JSON.parse(l) as { seq: number }).seq <= keep);
  writeFileSync(cps, kept.map((l) => `${l}\n`).join(""));
}

export function deleteLog(c: Case): void {
  rmSync(c.dir, { recursive: true, force: true });
}

/** The attacker's rewrite: different records, signed by a fresh key that replaces the .pub on the host. */
export async function rewriteWithFreshKey(
  root: string,
  c: Case,
  witness: { url: string; pub: string },
  n: number,
): Promise<void> {
  const forged = newCase(root, "forged");
  // Written without the real witness (it would refuse the key); the witness config is only for shape.
  const sink = await openAuditSink({ dir: forged.dir, keyPath: forged.key, fsync: "none", checkpointEvery: 10 });
  for (let i = 0; i < n; i++) await sink.record("gate.decision", "agents/a", { decision: "allow", host: `forged${i}` });
  await sink.close();
  void witness;
  rmSync(c.dir, { recursive: true, force: true });
  mkdirSync(c.dir);
  for (const f of ["segment-000001.jsonl", "checkpoints.jsonl"]) copyFileSync(join(forged.dir, f), join(c.dir, f));
  copyFileSync(forged.pub, c.pub);
}

/** A copy of the newest segment as it was (a backup), to put back after the log grew. */
export function backupSegment(c: Case, index: number): { restore(): void } {
  const name = `segment-${String(index).padStart(6, "0")}.jsonl`;
  const saved = readFileSync(join(c.dir, name));
  const cps = readFileSync(join(c.dir, "checkpoints.jsonl"));
  return {
    restore() {
      writeFileSync(join(c.dir, name), saved);
      writeFileSync(join(c.dir, "checkpoints.jsonl"), cps);
      for (let i = index + 1; ; i++) {
        const later = join(c.dir, `segment-${String(i).padStart(6, "0")}.jsonl`);
        try {
          rmSync(later);
        } catch {
          break;
        }
      }
    },
  };
}

export interface LoopbackWitness {
  root: string;
  witness: RunningWitness;
  target(): { url: string; pub: string };
  /** A new log the witness serves under `origin`. */
  serve(name: string, origin: string): Case;
  close(): Promise<void>;
}

/** A real witness on loopback, serving the logs its tests create. */
export async function loopbackWitness(prefix: string): Promise<LoopbackWitness> {
  const root = mkdtempSync(join(tmpdir(), prefix));
  const logs = new Map<string, NoteKey>();
  const witness = await startWitness({
    listen: { host: "127.0.0.1", port: 0 },
    stateDir: join(root, "witness"),
    logs,
    name: "test-witness",
  });
  return {
    root,
    witness,
    target: () => ({ url: witness.url, pub: join(root, "witness", "witness.pub") }),
    serve(name, origin) {
      const c = newCase(root, name);
      logs.set(origin, noteKeyOf(origin, loadPublicKey(c.pub)));
      return c;
    },
    async close() {
      await witness.close();
      rmSync(root, { recursive: true, force: true });
    },
  };
}
