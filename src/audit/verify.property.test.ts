// Property tests: whatever an attacker does to the checkpointed part of a log, verify says
// "tampered" and names the right first bad seq.
import assert from "node:assert/strict";
import type { KeyObject } from "node:crypto";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, test } from "node:test";
import fc from "fast-check";
import { loadPublicKey } from "./keys.ts";
import { CHECKPOINTS_FILE, listSegments, splitLines } from "./segments.ts";
import { type Scratch, scratch, writeSample } from "./testkit.ts";
import { ChainVerifier, type VerifyReport } from "./verify-core.ts";

const RECORDS = 40;
const PER_SEGMENT = 15;
let s: Scratch;
let pub: KeyObject;
let segments: Buffer[];
let checkpoints: Buffer;
/** Every record line with its "\n", in seq order (seq = index + 1). */
let records: Buffer[];

before(async () => {
  s = scratch();
  await writeSample(s, RECORDS, { maxSegmentRecords: PER_SEGMENT });
  pub = loadPublicKey(s.pubPath);
  segments = listSegments(s.dir).map((f) => readFileSync(f.path));
  checkpoints = readFileSync(join(s.dir, CHECKPOINTS_FILE));
  records = segments.flatMap((b) => splitLines(b).lines.map((l) => Buffer.concat([l, Buffer.from("\n")])));
});
after(() => s.cleanup());

function verifySegments(segs: Buffer[], cps: Buffer = checkpoints): VerifyReport {
  const v = new ChainVerifier(cps, pub);
  for (const [i, b] of segs.entries()) if (!v.addSegment(i + 1, b, i === segs.length - 1)) break;
  return v.finish();
}

/** Regroups record lines into segments of PER_SEGMENT, as the writer laid them out. */
function regroup(lines: Buffer[]): Buffer[] {
  const out: Buffer[] = [];
  for (let i = 0; i < lines.length; i += PER_SEGMENT) out.push(Buffer.concat(lines.slice(i, i + PER_SEGMENT)));
  return out;
}

function tampered(report: VerifyReport, seq: number): void {
  assert.equal(report.status, "tampered");
  assert.equal(report.problem?.seq, seq, JSON.stringify(report.problem));
}

test("the untouched log is valid and fully checkpointed", () => {
  const r = verifySegments(segments);
  assert.equal(r.status, "valid");
  assert.equal(r.lastSeq, RECORDS);
  assert.equal(r.unverified, 0);
});

test("any single-byte change in any segment is caught at the record holding that byte", () => {
  fc.assert(
    fc.property(fc.nat(), fc.nat(), fc.integer({ min: 1, max: 255 }), (segPick, offPick, delta) => {
      const si = segPick % segments.length;
      const bytes = Buffer.from(segments[si]!);
      const off = offPick % bytes.length;
      bytes[off] = (bytes[off]! + delta) % 256;
      const segs = segments.map((b, i) => (i === si ? bytes : b));
      // The record holding the byte (a record's "\n" belongs to it).
      const before = segments.slice(0, si).reduce((n, b) => n + splitLines(b).lines.length, 0);
      const within = splitLines(segments[si]!.subarray(0, off)).lines.length;
      tampered(verifySegments(segs), before + within + 1);
    }),
    { numRuns: 1500 },
  );
});

test("any dropped record is caught at its seq", () => {
  fc.assert(
    fc.property(fc.integer({ min: 0, max: RECORDS - 1 }), (k) => {
      tampered(verifySegments(regroup(records.toSpliced(k, 1))), k + 1);
    }),
  );
});

test("any two swapped records are caught at the lower seq", () => {
  fc.assert(
    fc.property(fc.integer({ min: 0, max: RECORDS - 1 }), fc.integer({ min: 0, max: RECORDS - 1 }), (i, j) => {
      fc.pre(i !== j);
      const lines = [...records];
      [lines[i], lines[j]] = [lines[j]!, lines[i]!];
      tampered(verifySegments(regroup(lines)), Math.min(i, j) + 1);
    }),
  );
});

test("any inserted or duplicated record is caught at the first seq it breaks", () => {
  fc.assert(
    fc.property(fc.integer({ min: 0, max: RECORDS - 1 }), fc.integer({ min: 0, max: RECORDS }), (j, p) => {
      // A copy of record seq j+1 placed before position p.
      const lines = records.toSpliced(p, 0, records[j]!);
      tampered(verifySegments(regroup(lines)), Math.min(j + 1, p + 1));
    }),
  );
});

test("a foreign line inserted anywhere is caught at that position", () => {
  fc.assert(
    fc.property(fc.integer({ min: 0, max: RECORDS }), fc.json(), (p, junk) => {
      const lines = records.toSpliced(p, 0, Buffer.from(`${junk.replaceAll("\n", "")}\n`));
      tampered(verifySegments(regroup(lines)), p + 1);
    }),
  );
});

test("truncating the log at any byte is caught at the first record not kept whole", () => {
  const all = Buffer.concat(records);
  fc.assert(
    fc.property(fc.integer({ min: 0, max: all.length - 1 }), (cut) => {
      const kept = splitLines(all.subarray(0, cut)).lines.length;
      // Cut the concatenation: later segments vanish, the one holding `cut` is shortened.
      const segs: Buffer[] = [];
      let start = 0;
      for (const b of segments) {
        if (start >= cut && segs.length > 0) break;
        segs.push(b.subarray(0, Math.max(0, Math.min(b.length, cut - start))));
        start += b.length;
      }
      tampered(verifySegments(segs), kept + 1);
    }),
  );
});

test("a single-byte change in checkpoints.jsonl never passes as a full, valid checkpoint", () => {
  fc.assert(
    fc.property(fc.nat(), fc.integer({ min: 1, max: 255 }), (offPick, delta) => {
      const cps = Buffer.from(checkpoints);
      const off = offPick % cps.length;
      cps[off] = (cps[off]! + delta) % 256;
      const r = verifySegments(segments, cps);
      // Breaking the final "\n" looks like a torn write: the checkpoint is then not counted.
      assert.ok(r.status === "tampered" || r.unverified > 0, JSON.stringify(r));
    }),
    { numRuns: 500 },
  );
});

test("every byte of checkpoints.jsonl, nudged by one either way, is caught (base64 padding bits included)", () => {
  for (let off = 0; off < checkpoints.length; off++)
    for (const delta of [1, 255]) {
      const cps = Buffer.from(checkpoints);
      cps[off] = (cps[off]! + delta) % 256;
      const r = verifySegments(segments, cps);
      assert.ok(r.status === "tampered" || r.unverified > 0, `byte ${off} + ${delta}: ${JSON.stringify(r.problem)}`);
    }
});
