import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import type { UserError } from "../policy/user-error.ts";
import { hashPassword, passwordProblem, verifyPassword } from "./password.ts";
import { PASSWORD_FILE, readPasswordRecord, writePasswordRecord } from "./password-store.ts";

const FAST = { N: 2 ** 10, r: 8, p: 1, keylen: 32 };

test("a hashed password verifies, a wrong one does not", async () => {
  const rec = await hashPassword("correct horse battery", FAST);
  assert.equal(rec.algo, "scrypt");
  assert.deepEqual(rec.params, FAST);
  assert.equal(await verifyPassword("correct horse battery", rec), true);
  assert.equal(await verifyPassword("correct horse batterY", rec), false);
  assert.equal(await verifyPassword("", rec), false);
});

test("each hash has its own salt, and the record never holds the password", async () => {
  const a = await hashPassword("correct horse battery", FAST);
  const b = await hashPassword("correct horse battery", FAST);
  assert.notEqual(a.salt, b.salt);
  assert.notEqual(a.hash, b.hash);
  assert.ok(!JSON.stringify(a).includes("correct horse"));
});

test("the default cost is the stored one, so a record verifies with its own params", async () => {
  const rec = await hashPassword("another long password");
  assert.equal(rec.params.N, 2 ** 15);
  assert.equal(await verifyPassword("another long password", rec), true);
});

test("short and huge passwords are refused", async () => {
  assert.match(passwordProblem("short") ?? "", /at least 12/);
  assert.match(passwordProblem("x".repeat(2000)) ?? "", /at most/);
  await assert.rejects(hashPassword("short", FAST), /at least 12/);
});

test("the store writes 0600 in a 0700 directory and reads back", async () => {
  const dir = mkdtempSync(join(tmpdir(), "corral-ui-"));
  try {
    const state = join(dir, "state");
    assert.equal(readPasswordRecord(state), undefined);
    const rec = await hashPassword("correct horse battery", FAST);
    const file = writePasswordRecord(state, rec);
    assert.equal(statSync(file).mode & 0o777, 0o600);
    assert.equal(statSync(state).mode & 0o777, 0o700);
    assert.deepEqual(readPasswordRecord(state), rec);
    assert.ok(!readFileSync(file, "utf8").includes("correct horse"));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("a damaged record is an error naming the file and the fix", () => {
  const dir = mkdtempSync(join(tmpdir(), "corral-ui-"));
  try {
    writeFileSync(join(dir, PASSWORD_FILE), "{not json");
    assert.throws(
      () => readPasswordRecord(dir),
      (e: UserError) => /admin\.json: not valid JSON/.test(e.message) && /corral ui passwd/.test(e.hint ?? ""),
    );
    writeFileSync(
      join(dir, PASSWORD_FILE),
      JSON.stringify({
        v: 1,
        algo: "scrypt",
        params: { N: 1000, r: 8, p: 1, keylen: 32 },
        salt: "AAAAAAAAAAAAAAAAAAAAAA==",
        hash: "AAAAAAAAAAAAAAAAAAAAAA==",
        updated: "x",
      }),
    );
    assert.throws(
      () => readPasswordRecord(dir),
      (e: UserError) => /params\.N: a power of two/.test(e.message) && /corral ui passwd/.test(e.hint ?? ""),
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
