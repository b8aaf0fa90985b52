import assert from "node:assert/strict";
import { appendFileSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import fc from "fast-check";
import { waitFor } from "../testing/wait.ts";
import { loadPublicKey } from "./keys.ts";
import { openAuditLog } from "./log.ts";
import { CHECKPOINTS_FILE, LOCK_FILE, listSegments, segmentName } from "./segments.ts";
import { scratch, writeSample } from "./testkit.ts";
import { verifyLogDir } from "./verify.ts";

function lines(path: string): string[] {
  return readFileSync(path, "utf8").split("\n").filter(Boolean);
}

test("records chain from seq 1 and a clean close leaves nothing unverified", async () => {
  const s = scratch();
  try {
    await writeSample(s, 25, { fsync: "batch" });
    const report = verifyLogDir(s.dir, loadPublicKey(s.pubPath));
    assert.equal(report.status, "valid");
    assert.equal(report.lastSeq, 25);
    assert.equal(report.unverified, 0);
    assert.equal(report.lastCheckpoint?.seq, 25);
    const first = JSON.parse(lines(join(s.dir, segmentName(1)))[0]!);
    assert.equal(first.seq, 1);
    assert.equal(first.prev, "0".repeat(64));
    assert.deepEqual(first.actor, { identity: "agent-0", ip: "10.0.0.0" });
  } finally {
    s.cleanup();
  }
});

test("concurrent appends are chained in call order, for every fsync mode", async () => {
  for (const fsync of ["record", "batch", "none"] as const) {
    const s = scratch();
    try {
      const log = await openAuditLog({ dir: s.dir, keyPath: s.keyPath, fsync });
      const receipts = await Promise.all(
        Array.from({ length: 200 }, (_, i) => log.record("sandbox.run", "plugin-runs", { i })),
      );
      assert.deepEqual(
        receipts.map((r) => r.seq),
        Array.from({ length: 200 }, (_, i) => i + 1),
      );
      await log.close();
      const recs = lines(join(s.dir, segmentName(1))).map((l) => JSON.parse(l));
      assert.deepEqual(
        recs.map((r) => r.data.i),
        Array.from({ length: 200 }, (_, i) => i),
        fsync,
      );
      assert.equal(verifyLogDir(s.dir, loadPublicKey(s.pubPath)).status, "valid", fsync);
    } finally {
      s.cleanup();
    }
  }
});

test("segments rotate by record count and by size; seq stays global", async () => {
  const s = scratch();
  try {
    await writeSample(s, 35, { maxSegmentRecords: 10 });
    const segs = readdirSync(s.dir).filter((n) => n.startsWith("segment-"));
    assert.deepEqual(segs.sort(), [1, 2, 3, 4].map(segmentName));
    assert.equal(JSON.parse(lines(join(s.dir, segmentName(2)))[0]!).seq, 11);
    // Reopen continues in the newest segment, then rotates by size.
    await writeSample(s, 20, { maxSegmentBytes: 600 });
    const report = verifyLogDir(s.dir, loadPublicKey(s.pubPath));
    assert.equal(report.status, "valid");
    assert.equal(report.lastSeq, 55);
    assert.ok(report.segments > 6, `segments: ${report.segments}`);
  } finally {
    s.cleanup();
  }
});

test("checkpoints are signed every N records and after the interval", async () => {
  const s = scratch();
  try {
    const log = await openAuditLog({ dir: s.dir, keyPath: s.keyPath, fsync: "record", checkpointEvery: 10 });
    for (let i = 0; i < 25; i++) await log.record("login", "alice", { ok: true });
    await log.flush();
    assert.deepEqual(
      lines(join(s.dir, CHECKPOINTS_FILE)).map((l) => JSON.parse(l).seq),
      [10, 20],
    );
    const report = verifyLogDir(s.dir, loadPublicKey(s.pubPath));
    assert.equal(report.status, "valid");
    assert.equal(report.unverified, 5);
    await log.close();

    const timed = await openAuditLog({ dir: s.dir, keyPath: s.keyPath, checkpointIntervalMs: 40 });
    await timed.record("policy.load", "corral", { file: "corral.yaml" });
    await waitFor("the timed checkpoint", () => JSON.parse(lines(join(s.dir, CHECKPOINTS_FILE)).at(-1)!).seq === 26);
    await timed.close();
  } finally {
    s.cleanup();
  }
});

test("a torn final line is truncated on reopen and recorded as a note", async () => {
  const s = scratch();
  try {
    await writeSample(s, 5);
    const seg = join(s.dir, segmentName(1));
    appendFileSync(seg, '{"actor":{"identity":"x"},"data":{"dec');
    const before = verifyLogDir(s.dir, loadPublicKey(s.pubPath));
    assert.equal(before.status, "valid");
    assert.match(before.notes.join("\n"), /torn final line in segment-000001.jsonl:6/);
    const log = await openAuditLog({ dir: s.dir, keyPath: s.keyPath });
    assert.equal(log.recovery?.offset, readFileSync(seg).length - lines(seg).at(-1)!.length - 1);
    await log.record("approval", "ops", { request: 1, approved: true });
    await log.close();
    const recs = lines(seg).map((l) => JSON.parse(l));
    assert.equal(recs[5].kind, "audit.note");
    assert.equal(recs[5].data.event, "torn-tail-truncated");
    assert.equal(recs[5].data.bytes, 38);
    assert.equal(recs[6].seq, 7);
    const after = verifyLogDir(s.dir, loadPublicKey(s.pubPath));
    assert.equal(after.status, "valid");
    assert.equal(after.lastSeq, 7);
  } finally {
    s.cleanup();
  }
});

test("refuses a key inside the log dir, a second writer, and a log shorter than its checkpoints", async () => {
  const s = scratch();
  try {
    await assert.rejects(openAuditLog({ dir: s.root, keyPath: s.keyPath }), /inside the audit log directory/);
    const log = await openAuditLog({ dir: s.dir, keyPath: s.keyPath });
    await assert.rejects(openAuditLog({ dir: s.dir, keyPath: s.keyPath }), /already open in this process/);
    await log.close();
    // pid 1 is alive: its lock is respected.
    writeFileSync(join(s.dir, LOCK_FILE), "1\n");
    await assert.rejects(openAuditLog({ dir: s.dir }), /being written by pid 1/);
    // A lock left by a dead process is taken over.
    writeFileSync(join(s.dir, LOCK_FILE), "999999999\n");
    await writeSample(s, 3);
    writeFileSync(join(s.dir, segmentName(1)), `${lines(join(s.dir, segmentName(1)))[0]}\n`);
    await assert.rejects(openAuditLog({ dir: s.dir, keyPath: s.keyPath }), /signs seq 3, but the log ends at seq 1/);
    // A cut inside the signed part is left exactly as found: no truncation, no note.
    const seg = join(s.dir, segmentName(1));
    appendFileSync(seg, '{"actor":');
    const evidence = readFileSync(seg);
    await assert.rejects(openAuditLog({ dir: s.dir, keyPath: s.keyPath }), /signs seq 3/);
    assert.deepEqual(readFileSync(seg), evidence);
  } finally {
    s.cleanup();
  }
});

test("refuses data that is not JSON, oversized records, and records after close", async () => {
  const s = scratch();
  try {
    const log = await openAuditLog({ dir: s.dir, maxRecordBytes: 300 });
    await assert.rejects(log.record("login", "a", { n: Number.NaN }), /data.n: NaN is not a JSON number/);
    await assert.rejects(log.record("login", "a", { big: "x".repeat(400) }), /exceeds the 300-byte limit/);
    await assert.rejects(log.record("login", "", {}), /actor.identity/);
    assert.equal((await log.record("login", "a", { ok: true })).seq, 1);
    await log.close();
    await assert.rejects(log.record("login", "a", {}), /closed/);
  } finally {
    s.cleanup();
  }
});

test("any interleaving of appends, flushes, checkpoints and rotations leaves a valid log in call order", async () => {
  const s = scratch();
  let run = 0;
  try {
    const pub = loadPublicKey(s.pubPath);
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom("record", "batch", "none"),
        fc.integer({ min: 1, max: 6 }),
        fc.integer({ min: 1, max: 5 }),
        fc.array(fc.oneof(fc.integer({ min: 1, max: 20 }), fc.constantFrom("flush", "checkpoint", "reopen")), {
          maxLength: 12,
        }),
        async (fsync, perSegment, every, ops) => {
          const dir = join(s.root, `run-${run++}`);
          const opts = {
            dir,
            keyPath: s.keyPath,
            fsync,
            maxSegmentRecords: perSegment,
            checkpointEvery: every,
          } as const;
          let log = await openAuditLog(opts);
          let n = 0;
          for (const op of ops) {
            if (typeof op === "number") {
              // Not awaited: the next op races with these appends.
              for (let i = 0; i < op; i++) void log.record("login", "p", { n: ++n });
            } else if (op === "flush") await log.flush();
            else if (op === "checkpoint") await log.checkpoint();
            else {
              await log.close();
              log = await openAuditLog(opts);
            }
          }
          await log.close();
          const r = verifyLogDir(dir, pub);
          assert.equal(r.status, "valid", JSON.stringify(r.problem));
          assert.equal(r.lastSeq, n);
          assert.equal(r.unverified, 0);
          const seen: number[] = [];
          for (const f of listSegments(dir)) for (const l of lines(f.path)) seen.push(JSON.parse(l).data.n);
          assert.deepEqual(
            seen,
            Array.from({ length: n }, (_, i) => i + 1),
          );
        },
      ),
      { numRuns: 40 },
    );
  } finally {
    s.cleanup();
  }
});
