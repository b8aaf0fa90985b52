// The body of a C2SP tlog-witness add-checkpoint request for one of this log's checkpoints: the
// witness's size, the consistency proof from there (built from the frontier saved with the
// checkpoint at that size and the records after it), and the signed checkpoint note.
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { leafHashesAfter } from "./leaves.ts";
import { CHECKPOINTS_FILE, splitLines } from "./segments.ts";
import { consistencyProofFrom, TreeFrontier } from "./tree.ts";
import type { Checkpoint } from "./types.ts";

export class NoProofError extends Error {}

/** The frontier this log saved with its checkpoint at `size`, if it has one. */
export async function frontierAt(dir: string, size: number): Promise<TreeFrontier | undefined> {
  if (size === 0) return TreeFrontier.empty();
  let bytes: Buffer;
  try {
    bytes = await readFile(join(dir, CHECKPOINTS_FILE));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw err;
  }
  // Newest first: a witness is usually one checkpoint behind.
  const { lines } = splitLines(bytes);
  for (let i = lines.length - 1; i >= 0; i--) {
    let cp: Checkpoint;
    try {
      cp = JSON.parse(lines[i]!.toString("utf8")) as Checkpoint;
    } catch {
      continue;
    }
    if (cp.seq === size) return cp.frontier ? TreeFrontier.from(size, cp.frontier) : undefined;
    if (cp.seq < size) return undefined;
  }
  return undefined;
}

export async function addCheckpointBody(dir: string, cp: Checkpoint, oldSize: number): Promise<string> {
  if (!cp.note) throw new NoProofError(`checkpoint at seq ${cp.seq} has no signed note (written by an older Corral)`);
  if (oldSize > cp.seq)
    throw new NoProofError(`the witness holds size ${oldSize}, past this log's checkpoint at ${cp.seq}`);
  const old = await frontierAt(dir, oldSize);
  if (!old)
    throw new NoProofError(
      `the witness holds size ${oldSize}, but this log has no checkpoint at that size to prove from`,
    );
  // From the empty tree there is nothing to prove (and the records may since have been pruned).
  const proof =
    oldSize === 0 || oldSize === cp.seq ? [] : consistencyProofFrom(old, await leafHashesAfter(dir, oldSize, cp.seq));
  return [`old ${oldSize}`, ...proof.map((p) => p.toString("base64")), "", cp.note].join("\n");
}
