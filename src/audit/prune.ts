// Retention: the oldest segments are replaced by a signed summary (summary.ts). Only a log that
// verifies is pruned (pruning must not launder an edit), only whole segments that a signed
// checkpoint covers, never the newest one, and never past `maxSeq` (the size the witnesses have
// cosigned, so nothing unanchored is dropped). The summary is durable before any segment goes;
// an interrupted prune leaves segments the summary names, which verify accepts by their hash.
import { createPublicKey } from "node:crypto";
import {
  closeSync,
  existsSync,
  fsyncSync,
  openSync,
  readFileSync,
  renameSync,
  unlinkSync,
  writeFileSync,
} from "node:fs";
import { join } from "node:path";
import { sha256Hex } from "./canonical.ts";
import { loadSigningKey } from "./keys.ts";
import { openAuditLog } from "./log.ts";
import { leafHash } from "./merkle.ts";
import { listSegments, splitLines } from "./segments.ts";
import { checkSummary, type PrunedSegment, SUMMARY_FILE, signSummary } from "./summary.ts";
import { TreeFrontier } from "./tree.ts";
import { AuditDirError, verifyLogDir } from "./verify.ts";

export interface PruneOptions {
  dir: string;
  keyPath: string;
  /** keep this many newest segments (the active one included) */
  keepSegments?: number;
  /** prune segments whose records all come before this seq */
  beforeSeq?: number;
  /** never prune past this seq (what the witnesses have cosigned) */
  maxSeq?: number;
  now?: () => Date;
}

export interface PruneResult {
  pruned: PrunedSegment[];
  /** the first seq the log now holds */
  firstSeq: number;
  why?: string;
}

function syncDir(dir: string): void {
  const fd = openSync(dir, "r");
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

export async function pruneLog(opts: PruneOptions): Promise<PruneResult> {
  const key = loadSigningKey(opts.keyPath, opts.dir);
  const publicKey = createPublicKey(key.privateKey);
  // Open first: the writer's lock keeps the gate (or another prune) out while segments move.
  const log = await openAuditLog({ dir: opts.dir, keyPath: opts.keyPath, fsync: "record", checkpointIntervalMs: 0 });
  try {
    const report = verifyLogDir(opts.dir, publicKey);
    if (report.status !== "valid")
      throw new AuditDirError(`refusing to prune ${opts.dir}: it does not verify (${report.problem?.message})`, {
        hint: "run 'corral audit verify' and keep the log as evidence",
      });
    const covered = report.lastCheckpoint;
    if (!covered?.frontier)
      throw new AuditDirError(`refusing to prune ${opts.dir}: its newest checkpoint has no tree frontier`, {
        hint: "let the writer sign a checkpoint first (a current Corral writes them)",
      });
    const summaryPath = join(opts.dir, SUMMARY_FILE);
    const previous = existsSync(summaryPath) ? checkSummary(readFileSync(summaryPath), publicKey) : undefined;
    if (previous && !previous.ok) throw new AuditDirError(`refusing to prune: ${previous.problem}`);
    const before = previous?.ok ? previous.summary : undefined;
    const segments = listSegments(opts.dir);
    const limit = Math.min(
      covered.seq,
      opts.maxSeq ?? Number.MAX_SAFE_INTEGER,
      (opts.beforeSeq ?? Number.MAX_SAFE_INTEGER) - 1,
    );
    const candidates = segments.slice(0, Math.max(0, segments.length - Math.max(1, opts.keepSegments ?? 1)));
    const tree = before ? TreeFrontier.from(before.first_seq - 1, before.frontier) : TreeFrontier.empty();
    const pruned: PrunedSegment[] = [];
    let prev = before?.prev ?? "";
    let next = before?.first_seq ?? 1;
    for (const seg of candidates) {
      const bytes = readFileSync(seg.path);
      const { lines } = splitLines(bytes);
      if (lines.length === 0) break;
      const last = next + lines.length - 1;
      if (last > limit) break;
      for (const l of lines) tree.append(leafHash(l));
      prev = (JSON.parse(lines.at(-1)!.toString("utf8")) as { hash: string }).hash;
      pruned.push({ name: seg.name, index: seg.index, first: next, last, sha256: sha256Hex(bytes) });
      next = last + 1;
    }
    if (pruned.length === 0) return { pruned, firstSeq: next, why: `no whole segment below seq ${limit + 1} to prune` };
    const text = signSummary(
      {
        first_seq: next,
        prev,
        frontier: tree.toJSON(),
        pruned: [...(before?.pruned ?? []), ...pruned],
        time: (opts.now ?? (() => new Date()))().toISOString(),
      },
      key.privateKey,
      publicKey,
    );
    writeFileSync(`${summaryPath}.tmp`, text, { mode: 0o640 });
    const fd = openSync(`${summaryPath}.tmp`, "r+");
    try {
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(`${summaryPath}.tmp`, summaryPath);
    syncDir(opts.dir);
    for (const p of pruned) unlinkSync(join(opts.dir, p.name));
    syncDir(opts.dir);
    await log.record("audit.note", "corral", {
      event: "segments-pruned",
      segments: pruned.map((p) => p.name),
      first_seq: next,
      summary_sha256: sha256Hex(text),
    });
    return { pruned, firstSeq: next };
  } finally {
    await log.close();
  }
}
