// Names inside a log directory, and splitting a file's bytes into lines.
import { readdirSync } from "node:fs";
import { join } from "node:path";

export const CHECKPOINTS_FILE = "checkpoints.jsonl";
export const LOCK_FILE = "writer.lock";
const SEGMENT_RE = /^segment-(\d{6,})\.jsonl$/;

export function segmentName(index: number): string {
  return `segment-${String(index).padStart(6, "0")}.jsonl`;
}

export function parseSegmentName(name: string): number | undefined {
  const m = SEGMENT_RE.exec(name);
  return m ? Number(m[1]) : undefined;
}

export interface SegmentFile {
  index: number;
  name: string;
  path: string;
}

/** Segment files in order; an absent directory has none. */
export function listSegments(dir: string): SegmentFile[] {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return [];
    throw err;
  }
  const out: SegmentFile[] = [];
  for (const name of names) {
    const index = parseSegmentName(name);
    if (index !== undefined) out.push({ index, name, path: join(dir, name) });
  }
  return out.sort((a, b) => a.index - b.index);
}

export interface SplitLines {
  /** Complete lines ("\n"-terminated), without the "\n". */
  lines: Buffer[];
  /** Bytes after the last "\n": a line torn by a crash (or by truncation). */
  torn: Buffer | undefined;
  /** Byte offset where `torn` starts (= length of the complete part). */
  completeBytes: number;
}

export function splitLines(bytes: Buffer): SplitLines {
  const lines: Buffer[] = [];
  let start = 0;
  for (;;) {
    const nl = bytes.indexOf(0x0a, start);
    if (nl < 0) break;
    lines.push(bytes.subarray(start, nl));
    start = nl + 1;
  }
  return { lines, torn: start < bytes.length ? bytes.subarray(start) : undefined, completeBytes: start };
}
