// Reading records for tail / query / export. Reading is not verifying: lines are parsed as they
// are (a torn final line is skipped); `verify` is what proves them.
import { open, readFile, stat } from "node:fs/promises";
import { listSegments, segmentName, splitLines } from "./segments.ts";
import type { AuditRecord } from "./types.ts";
import { AuditDirError } from "./verify.ts";

function parse(line: Buffer, where: string): AuditRecord {
  try {
    return JSON.parse(line.toString("utf8")) as AuditRecord;
  } catch {
    throw new AuditDirError(`${where}: not a JSON record; run 'corral audit verify'`);
  }
}

async function segmentRecords(path: string, name: string): Promise<AuditRecord[]> {
  const { lines } = splitLines(await readFile(path));
  return lines.map((l, i) => parse(l, `${name}:${i + 1}`));
}

/** Every record, oldest first, one segment in memory at a time. */
export async function* readRecords(dir: string): AsyncGenerator<AuditRecord> {
  for (const seg of listSegments(dir)) yield* await segmentRecords(seg.path, seg.name);
}

/** The newest `n` records, oldest first (reads segments backwards until it has enough). */
export async function lastRecords(dir: string, n: number): Promise<AuditRecord[]> {
  const out: AuditRecord[] = [];
  const segs = listSegments(dir);
  for (let i = segs.length - 1; i >= 0 && out.length < n; i--) {
    const seg = segs[i]!;
    const recs = await segmentRecords(seg.path, seg.name);
    out.unshift(...recs.slice(Math.max(0, recs.length - (n - out.length))));
  }
  return out;
}

export interface FollowPosition {
  segment: number;
  offset: number;
}

/** Where the log ends now (the end of its last complete line). */
export async function endPosition(dir: string): Promise<FollowPosition> {
  const last = listSegments(dir).at(-1);
  if (!last) return { segment: 1, offset: 0 };
  return { segment: last.index, offset: splitLines(await readFile(last.path)).completeBytes };
}

/**
 * Records appended after `from`, as they arrive, following rotation into the next segment.
 * Polls (inotify misses writes on some filesystems and is per-file); stops when `signal` aborts.
 */
export async function* followRecords(
  dir: string,
  from: FollowPosition,
  signal: AbortSignal,
  pollMs = 250,
): AsyncGenerator<AuditRecord> {
  let { segment, offset } = from;
  const sleep = () =>
    new Promise<void>((resolve) => {
      const t = setTimeout(done, pollMs);
      function done() {
        clearTimeout(t);
        signal.removeEventListener("abort", done);
        resolve();
      }
      signal.addEventListener("abort", done, { once: true });
    });
  while (!signal.aborted) {
    const path = `${dir}/${segmentName(segment)}`;
    let size = -1;
    try {
      size = (await stat(path)).size;
    } catch {
      // not created yet
    }
    if (size > offset) {
      const fh = await open(path, "r");
      try {
        const buf = Buffer.alloc(size - offset);
        const { bytesRead } = await fh.read(buf, 0, buf.length, offset);
        const { lines, completeBytes } = splitLines(buf.subarray(0, bytesRead));
        offset += completeBytes;
        for (const l of lines) yield parse(l, segmentName(segment));
      } finally {
        await fh.close();
      }
      continue;
    }
    if (listSegments(dir).some((s) => s.index > segment)) {
      segment++;
      offset = 0;
      continue;
    }
    await sleep();
  }
}
