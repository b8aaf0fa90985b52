// Retention: the oldest segments are replaced by a signed summary (summary.ts). What is pruned
// is verified first (against the checkpoints and the summary before it), so pruning cannot
// launder an edit; only whole segments that a signed checkpoint covers go, never the newest one,
// and never past `maxSeq` (the size the witnesses have cosigned, so nothing unanchored is
// dropped). The summary is durable before any segment goes; an interrupted prune leaves
// segments the summary names, which verify accepts by their hash. Two callers: the writer
// itself at rotation (audit.retention), and `corral audit prune` with the writer stopped.
import { createPublicKey } from "node:crypto";
import { existsSync, unlinkSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { syncPath, writeFileDurably } from "../policy/durable-file.ts";
import { sha256Hex } from "./canonical.ts";
import type { SigningKey } from "./keys.ts";
import { leafHash } from "./merkle.ts";
import { CHECKPOINTS_FILE, listSegments, splitLines } from "./segments.ts";
import { checkSummary, type PrunedSegment, SUMMARY_FILE, signSummary } from "./summary.ts";
import { TreeFrontier } from "./tree.ts";
import type { Checkpoint } from "./types.ts";
import { AuditDirError } from "./verify.ts";
import { ChainVerifier } from "./verify-core.ts";

export interface PruneLimits {
  /** keep this many newest segments (the active one included; at least 1) */
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
  /** SHA-256 of the summary written */
  summarySha256?: string;
  why?: string;
}

async function optional(path: string): Promise<Buffer | undefined> {
  try {
    return await readFile(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw err;
  }
}

/** Must run where nothing else writes the directory: the writer's pump, or under its lock. */
export async function pruneSegments(dir: string, key: SigningKey, limits: PruneLimits): Promise<PruneResult> {
  const publicKey = createPublicKey(key.privateKey);
  const cpBytes = await optional(join(dir, CHECKPOINTS_FILE));
  const summaryBytes = await optional(join(dir, SUMMARY_FILE));
  const before = summaryBytes ? checkSummary(summaryBytes, publicKey) : undefined;
  if (before && !before.ok) throw new AuditDirError(`refusing to prune ${dir}: ${before.problem}`);
  const summary = before?.ok ? before.summary : undefined;
  const lastLine = cpBytes ? splitLines(cpBytes).lines.at(-1) : undefined;
  const covered = lastLine ? (JSON.parse(lastLine.toString("utf8")) as Checkpoint).seq : 0;
  const limit = Math.min(
    covered,
    limits.maxSeq ?? Number.MAX_SAFE_INTEGER,
    (limits.beforeSeq ?? Number.MAX_SAFE_INTEGER) - 1,
  );
  const segments = listSegments(dir).filter(
    (s) => !summary || s.index > Math.max(...summary.pruned.map((p) => p.index)),
  );
  const candidates = segments.slice(0, Math.max(0, segments.length - Math.max(1, limits.keepSegments ?? 1)));
  const verifier = new ChainVerifier(cpBytes, publicKey, [], summaryBytes);
  const tree = summary ? TreeFrontier.from(summary.first_seq - 1, summary.frontier) : TreeFrontier.empty();
  const pruned: PrunedSegment[] = [];
  let prev = summary?.prev ?? "";
  let next = summary?.first_seq ?? 1;
  for (const seg of candidates) {
    const bytes = await readFile(seg.path);
    const { lines, torn } = splitLines(bytes);
    if (lines.length === 0 || torn) break;
    const last = next + lines.length - 1;
    if (last > limit) break;
    if (!verifier.addSegment(seg.index, bytes, false)) {
      const p = verifier.finish().problem;
      throw new AuditDirError(`refusing to prune ${dir}: ${p?.file}:${p?.line} seq ${p?.seq}: ${p?.message}`, {
        hint: "run 'corral audit verify' and keep the log as evidence",
      });
    }
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
      pruned: [...(summary?.pruned ?? []), ...pruned],
      time: (limits.now ?? (() => new Date()))().toISOString(),
    },
    key.privateKey,
    publicKey,
  );
  writeFileDurably(join(dir, SUMMARY_FILE), text, 0o640);
  for (const p of pruned) if (existsSync(join(dir, p.name))) unlinkSync(join(dir, p.name));
  syncPath(dir);
  return { pruned, firstSeq: next, summarySha256: sha256Hex(text) };
}
