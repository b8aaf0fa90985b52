// The Merkle leaves of a log directory's records (RFC 6962 leaf hash of each record line), read
// from the segments: what a writer needs to resume its tree after a checkpoint, and to prove a
// witness's older size consistent with its newest checkpoint. Reads from the newest segment
// back only as far as needed.
import { readFile } from "node:fs/promises";
import { leafHash } from "./merkle.ts";
import { listSegments, splitLines } from "./segments.ts";
import { AuditDirError } from "./verify.ts";

function firstSeq(line: Buffer | undefined, where: string): number | undefined {
  if (!line) return undefined;
  try {
    const seq = (JSON.parse(line.toString("utf8")) as { seq?: unknown }).seq;
    if (typeof seq === "number") return seq;
  } catch {
    // reported below
  }
  throw new AuditDirError(`${where}: first line is not a record; run 'corral audit verify'`);
}

/** Leaf hashes of records after..upTo (seq after+1 to upTo inclusive; upTo defaults to the end). */
export async function leafHashesAfter(dir: string, after: number, upTo = Number.MAX_SAFE_INTEGER): Promise<Buffer[]> {
  const segments = listSegments(dir);
  const chunks: Buffer[][] = [];
  let anyRecord = false;
  for (let i = segments.length - 1; i >= 0; i--) {
    const seg = segments[i]!;
    const { lines } = splitLines(await readFile(seg.path));
    const first = firstSeq(lines[0], seg.name);
    if (first === undefined) continue;
    anyRecord = true;
    // Seqs run without gaps inside a log the writer opened; verify proves it.
    const from = Math.max(0, after + 1 - first);
    const to = Math.min(lines.length, upTo + 1 - first);
    if (from < to) chunks.unshift(lines.slice(from, to).map((l) => leafHash(l)));
    if (first <= after + 1) return chunks.flat();
  }
  if (!anyRecord && after === 0) return [];
  throw new AuditDirError(
    `records after seq ${after} are not all in ${dir} (pruned or deleted); run 'corral audit verify'`,
  );
}
