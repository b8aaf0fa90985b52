import assert from "node:assert/strict";
import { test } from "node:test";
import fc from "fast-check";
import { canonicalize, sha256Hex } from "./canonical.ts";
import { buildRecord, checkRecordLine, recordHash } from "./record.ts";
import { GENESIS_HASH, type JsonObject } from "./types.ts";

test("the spliced line is the canonical encoding, and the hash covers everything but itself", () => {
  fc.assert(
    fc.property(fc.dictionary(fc.string(), fc.jsonValue()), fc.string({ minLength: 1 }), (data, identity) => {
      const { record, line } = buildRecord(
        7,
        "2026-11-25T08:00:00.000Z",
        "gate.decision",
        identity,
        data as JsonObject,
        GENESIS_HASH,
      );
      assert.equal(line, `${canonicalize(record)}\n`);
      const { hash, ...body } = record;
      assert.equal(hash, sha256Hex(canonicalize(body)));
      assert.equal(recordHash(record), hash);
      const check = checkRecordLine(Buffer.from(line.slice(0, -1)));
      assert.ok(check.ok);
    }),
  );
});

test("a known record hashes to a fixed value (the encoding is a format, not an accident)", () => {
  const { record, line } = buildRecord(
    1,
    "2026-01-01T00:00:00.000Z",
    "login",
    { identity: "alice", ip: "127.0.0.1" },
    { ok: true },
    GENESIS_HASH,
  );
  assert.equal(
    line,
    `{"actor":{"identity":"alice","ip":"127.0.0.1"},"data":{"ok":true},"hash":"${record.hash}","kind":"login","prev":"${GENESIS_HASH}","seq":1,"time":"2026-01-01T00:00:00.000Z"}\n`,
  );
  assert.equal(
    record.hash,
    sha256Hex(
      `{"actor":{"identity":"alice","ip":"127.0.0.1"},"data":{"ok":true},"kind":"login","prev":"${GENESIS_HASH}","seq":1,"time":"2026-01-01T00:00:00.000Z"}`,
    ),
  );
});

test("checkRecordLine names what is wrong", () => {
  const { line } = buildRecord(1, "t", "login", "a", {}, GENESIS_HASH);
  const bytes = Buffer.from(line.slice(0, -1));
  assert.deepEqual(checkRecordLine(bytes.subarray(0, 20)), {
    ok: false,
    problem: "not valid JSON (line altered or torn)",
  });
  const extra = JSON.parse(line);
  extra.more = 1;
  assert.match((checkRecordLine(Buffer.from(JSON.stringify(extra))) as { problem: string }).problem, /record members/);
  assert.match(
    (checkRecordLine(Buffer.from(line.replace('"seq":1', '"seq":2').trim())) as { problem: string }).problem,
    /hash does not match/,
  );
});
