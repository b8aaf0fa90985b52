// Signed notes against the reference implementation's vector (golang.org/x/mod/sumdb/note): the
// same key, text and signature, so any C2SP witness or verifier reads what Corral writes.
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { test } from "node:test";
import { leafHash, rootHash } from "./merkle.ts";
import {
  checkpointText,
  NoteError,
  openNote,
  parseCheckpoint,
  parseSignerKey,
  parseVerifierKey,
  signerFromSeed,
  signNote,
  verifierKey,
} from "./signed-note.ts";

const VKEY = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW";
const SKEY = "PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz";
const TEXT = "If you think cryptography is the answer to your problem,\nthen you don't know what your problem is.\n";
const SIG =
  "— PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n";

test("the reference vector: same key hash, same verifier key, the very same signature, and it opens", () => {
  const signer = parseSignerKey(SKEY);
  assert.equal(verifierKey(signer), VKEY);
  assert.equal(signNote(TEXT, signer), `${TEXT}\n${SIG}`);
  const opened = openNote(`${TEXT}\n${SIG}`, [parseVerifierKey(VKEY)]);
  assert.equal(opened.text, TEXT);
  assert.deepEqual(opened.verified, ["PeterNeumann"]);
});

test("an altered text or signature is refused; a key with the wrong hash is refused", () => {
  const key = parseVerifierKey(VKEY);
  assert.throws(() => openNote(`${TEXT.replace("answer", "Answer")}\n${SIG}`, [key]), NoteError);
  assert.throws(
    () => openNote(`${TEXT}\n${SIG.replace("KE6Ryy", "KE6Ryz")}`, [key]),
    NoteError,
    "a bad signature by a known key",
  );
  assert.deepEqual(
    openNote(`${TEXT}\n${SIG.replace("x08go", "x08gp")}`, [key]).verified,
    [],
    "another key hash is another signer: not verified, kept as unknown",
  );
  assert.throws(() => parseVerifierKey(VKEY.replace("c74f20a3", "c74f20a4")), /hash does not match/);
  assert.throws(() => signNote("no newline", parseSignerKey(SKEY)), NoteError);
});

test("a checkpoint over the audit records, signed by the log and cosigned by a witness", () => {
  const root = rootHash(["a", "b", "c"].map((r) => leafHash(Buffer.from(r))));
  const text = checkpointText({ origin: "corral.example/audit", size: 3, root, extra: [] });
  assert.deepEqual(parseCheckpoint(text), { origin: "corral.example/audit", size: 3, root, extra: [] });
  const log = signerFromSeed("corral.example/audit", randomBytes(32));
  const witness = signerFromSeed("witness.example", randomBytes(32));
  const signed = signNote(text, log);
  // The witness adds its line to the note it was given: both signatures cover the same text.
  const cosigned = signNote(text, witness, signed.slice(text.length + 1));
  const opened = openNote(cosigned, [parseVerifierKey(verifierKey(log)), parseVerifierKey(verifierKey(witness))]);
  assert.deepEqual(opened.verified.sort(), ["corral.example/audit", "witness.example"]);
  assert.deepEqual(openNote(cosigned, [log]).unknown.length, 1, "a signature by a key not given is kept, not trusted");
  assert.throws(() => parseCheckpoint("origin\n-1\nAAAA\n"), /not a decimal/);
});

test("a signature spelled with other padding bits is refused, not read as the same bytes", async () => {
  const { randomBytes } = await import("node:crypto");
  const { openNote, signNote, signerFromSeed } = await import("./signed-note.ts");
  const signer = signerFromSeed("example.com/log", randomBytes(32));
  const note = signNote("example.com/log\n1\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n", signer);
  const line = note.trimEnd().split("\n").at(-1)!;
  const b64 = line.split(" ").at(-1)!;
  // 68 bytes: the last character before "=" carries 4 padding bits.
  const last = b64.at(-2)!;
  const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  const i = alphabet.indexOf(last);
  const twin = alphabet[i ^ 1]!;
  const altered = note.replace(b64, `${b64.slice(0, -2)}${twin}=`);
  assert.deepEqual(Buffer.from(`${b64.slice(0, -2)}${twin}=`, "base64"), Buffer.from(b64, "base64"), "the same bytes");
  assert.throws(() => openNote(altered, [signer]), /not canonical base64/);
});
