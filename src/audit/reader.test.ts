import assert from "node:assert/strict";
import { test } from "node:test";
import { openAuditLog } from "./log.ts";
import { endPosition, followRecords, lastRecords, readRecords } from "./reader.ts";
import { scratch, writeSample } from "./testkit.ts";

test("reads all records across segments, and the newest n", async () => {
  const s = scratch();
  try {
    await writeSample(s, 23, { maxSegmentRecords: 5 });
    const all = [];
    for await (const r of readRecords(s.dir)) all.push(r.seq);
    assert.deepEqual(
      all,
      Array.from({ length: 23 }, (_, i) => i + 1),
    );
    assert.deepEqual(
      (await lastRecords(s.dir, 7)).map((r) => r.seq),
      [17, 18, 19, 20, 21, 22, 23],
    );
    assert.equal((await lastRecords(s.dir, 100)).length, 23);
  } finally {
    s.cleanup();
  }
});

test("follow yields new records as they are written, across rotation", async () => {
  const s = scratch();
  try {
    await writeSample(s, 3, { maxSegmentRecords: 4 });
    const from = await endPosition(s.dir);
    const ac = new AbortController();
    const seen: number[] = [];
    const done = (async () => {
      for await (const r of followRecords(s.dir, from, ac.signal, 10)) {
        seen.push(r.seq);
        if (seen.length === 6) ac.abort();
      }
    })();
    const log = await openAuditLog({ dir: s.dir, maxSegmentRecords: 4, fsync: "none" });
    for (let i = 0; i < 6; i++) await log.record("login", "a", { i });
    await log.close();
    await done;
    assert.deepEqual(seen, [4, 5, 6, 7, 8, 9]);
  } finally {
    s.cleanup();
  }
});
