import assert from "node:assert/strict";
import { chmodSync, statSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { keyId } from "./checkpoint.ts";
import { generateSigningKey, loadPublicKey, loadSigningKey } from "./keys.ts";
import { scratch } from "./testkit.ts";

test("keygen writes a 0600 private key and its .pub; verify accepts either path", () => {
  const s = scratch();
  try {
    assert.equal(statSync(s.keyPath).mode & 0o777, 0o600);
    const key = loadSigningKey(s.keyPath, s.dir);
    assert.equal(keyId(loadPublicKey(s.pubPath)), keyId(key.publicKey));
    assert.equal(keyId(loadPublicKey(s.keyPath)), keyId(key.publicKey));
    assert.throws(() => generateSigningKey(s.keyPath), /already exists/);
    chmodSync(s.keyPath, 0o644);
    assert.throws(() => loadSigningKey(s.keyPath, s.dir), /accessible by group or others/);
    assert.throws(() => loadSigningKey(s.keyPath, s.root), /inside the audit log directory/);
    assert.throws(() => loadPublicKey(join(s.root, "nope.pub")), /not found/);
  } finally {
    s.cleanup();
  }
});
