import assert from "node:assert/strict";
import { generateKeyPairSync } from "node:crypto";
import { readFileSync, unlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { loadPublicKey } from "./keys.ts";
import { openAuditLog } from "./log.ts";
import { buildRecord } from "./record.ts";
import { CHECKPOINTS_FILE, segmentName } from "./segments.ts";
import { type Scratch, scratch, writeSample } from "./testkit.ts";
import type { AuditRecord } from "./types.ts";
import { verifyLogDir } from "./verify.ts";

async function withLog(n: number, fn: (s: Scratch) => void | Promise<void>, perSegment = 1000): Promise<void> {
  const s = scratch();
  try {
    await writeSample(s, n, { maxSegmentRecords: perSegment });
    await fn(s);
  } finally {
    s.cleanup();
  }
}

const seg = (s: Scratch, i = 1) => join(s.dir, segmentName(i));
const readLines = (p: string) => readFileSync(p, "utf8").split("\n").slice(0, -1);
const writeLines = (p: string, lines: string[]) => writeFileSync(p, lines.map((l) => `${l}\n`).join(""));
const verify = (s: Scratch) => verifyLogDir(s.dir, loadPublicKey(s.pubPath));

test("an untouched log verifies", () =>
  withLog(30, (s) => {
    const r = verify(s);
    assert.equal(r.status, "valid");
    assert.equal(r.records, 30);
    assert.equal(r.problem, undefined);
  }));

test("a changed value is reported at its file, line and seq", () =>
  withLog(10, (s) => {
    const lines = readLines(seg(s));
    lines[3] = lines[3]!.replace('"allow"', '"deny!"');
    writeLines(seg(s), lines);
    assert.deepEqual(verify(s).problem, {
      file: "segment-000001.jsonl",
      line: 4,
      seq: 4,
      message: "hash does not match the record's content (record altered)",
    });
  }));

test("whitespace that leaves the JSON value equal is still caught", () =>
  withLog(5, (s) => {
    const lines = readLines(seg(s));
    lines[1] = lines[1]!.replace('"kind":', '"kind": ');
    writeLines(seg(s), lines);
    assert.match(verify(s).problem!.message, /not in canonical form/);
  }));

test("deleted, swapped and duplicated records", () =>
  withLog(10, (s) => {
    const lines = readLines(seg(s));
    writeLines(seg(s), lines.toSpliced(4, 1));
    assert.equal(verify(s).problem?.seq, 5);
    assert.match(verify(s).problem!.message, /expected seq 5, found 6/);
    writeLines(seg(s), [...lines.slice(0, 6), lines[7]!, lines[6]!, ...lines.slice(8)]);
    assert.equal(verify(s).problem?.seq, 7);
    writeLines(seg(s), lines.toSpliced(3, 0, lines[2]!));
    assert.equal(verify(s).problem?.seq, 3);
    assert.match(verify(s).problem!.message, /found 3 again/);
  }));

test("a forged record with a correct hash but a wrong place is caught", () =>
  withLog(6, (s) => {
    const lines = readLines(seg(s));
    const r3 = JSON.parse(lines[2]!) as AuditRecord;
    // Correct seq and prev, recomputed hash: only the next record's prev exposes it.
    const forged = buildRecord(4, r3.time, "approval", "mallory", { approved: true }, r3.hash).line.trimEnd();
    writeLines(seg(s), lines.toSpliced(3, 1, forged));
    const p = verify(s).problem!;
    assert.equal(p.seq, 5);
    assert.match(p.message, /prev does not match the hash of seq 4/);
  }));

test("a chain rewritten consistently is caught by the signed checkpoint", () =>
  withLog(8, (s) => {
    const lines = readLines(seg(s));
    const out: string[] = lines.slice(0, 2);
    let prev = (JSON.parse(lines[1]!) as AuditRecord).hash;
    for (const l of lines.slice(2)) {
      const r = JSON.parse(l) as AuditRecord;
      const data = r.seq === 3 ? { ...r.data, decision: "deny" } : r.data;
      const b = buildRecord(r.seq, r.time, r.kind, r.actor, data, prev);
      prev = b.record.hash;
      out.push(b.line.trimEnd());
    }
    writeLines(seg(s), out);
    const p = verify(s).problem!;
    assert.equal(p.seq, 8);
    assert.match(p.message, /differs from the signed checkpoint at seq 8/);
  }));

test("truncation and deleted segments before the last checkpoint", () =>
  withLog(
    25,
    (s) => {
      const last = readFileSync(seg(s, 3));
      writeFileSync(seg(s, 3), last.subarray(0, last.length - 20));
      let p = verify(s).problem!;
      assert.deepEqual([p.file, p.line, p.seq], ["segment-000003.jsonl", 5, 25]);
      assert.match(p.message, /cut short inside the checkpointed part/);

      writeLines(seg(s, 3), readLines(seg(s, 3)).slice(0, 2));
      p = verify(s).problem!;
      assert.equal(p.seq, 23);
      assert.match(p.message, /log ends at seq 22, but a signed checkpoint covers seq 25/);

      unlinkSync(seg(s, 3));
      assert.equal(verify(s).problem?.seq, 21);

      const second = readFileSync(seg(s, 2));
      unlinkSync(seg(s, 2));
      writeFileSync(seg(s, 3), second);
      p = verify(s).problem!;
      assert.deepEqual([p.file, p.line, p.seq], ["segment-000002.jsonl", 0, 11]);

      unlinkSync(seg(s, 1));
      assert.match(verify(s).problem!.message, /segment-000001.jsonl is missing/);
    },
    10,
  ));

test("checkpoint problems: bad signature, other key, reordering", () =>
  withLog(5, async (s) => {
    const cpPath = join(s.dir, CHECKPOINTS_FILE);
    const original = readFileSync(cpPath, "utf8");
    const cp = JSON.parse(original);
    const sig = Buffer.from(cp.sig, "base64");
    sig[5]! ^= 1;
    writeFileSync(cpPath, `${original.replace(cp.sig, sig.toString("base64"))}`);
    assert.deepEqual(verify(s).problem, {
      file: CHECKPOINTS_FILE,
      line: 1,
      seq: 5,
      message: "checkpoint signature does not verify",
    });
    writeFileSync(cpPath, original);
    const other = generateKeyPairSync("ed25519").publicKey;
    assert.match(
      verifyLogDir(s.dir, other).problem!.message,
      /signed by key [0-9a-f]{16}, but the given public key is/,
    );
    // A checkpoint whose hash does not match the chain (signed, but for another log).
    const log = await openAuditLog({ dir: s.dir, keyPath: s.keyPath });
    await log.record("login", "bob", { ok: false });
    await log.close();
    const [a, b] = readFileSync(cpPath, "utf8").trimEnd().split("\n");
    writeFileSync(cpPath, `${b}\n${a}\n`);
    assert.match(verify(s).problem!.message, /checkpoint seq 5 does not follow 6/);
  }));

test("records after the last checkpoint are reported as unverified, never as valid", async () => {
  const s = scratch();
  try {
    const log = await openAuditLog({ dir: s.dir, keyPath: s.keyPath, checkpointEvery: 4, fsync: "record" });
    for (let i = 0; i < 10; i++) await log.record("gate.alert", "celery", { alert: "burst", i });
    await log.flush();
    const r = verify(s);
    assert.equal(r.status, "valid");
    assert.equal(r.lastCheckpoint?.seq, 8);
    assert.equal(r.unverified, 2);
    await log.close();
  } finally {
    s.cleanup();
  }
});
